"""The API server's validation: syntax checks with Go's semantics (whole-text matches, byte
lengths) against an independent character-by-character reading of upstream's rules, and
each rule class on objects (tables plus generated cases), in upstream's words and located."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.errors import ManifestError
from podfit.reference.profile import ConfigError, profiles_from_config
from podfit.validation import (
    dns1035_label_problems,
    dns1123_label_problems,
    dns1123_subdomain_problems,
    label_value_problems,
    name_problems,
    qualified_name_problems,
    validating_for,
)
from podfit.versions import KubeVersion

ALNUM = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
LOWER_ALNUM = set("abcdefghijklmnopqrstuvwxyz0123456789")

# Strings near the rules: the allowed characters, their neighbours, a newline at the end.
near = st.text(st.sampled_from([*list("aZ09-_./ \n\t"), "é", "١", "A"]), max_size=70) | st.text(
    st.sampled_from(list("ab-.")), min_size=60, max_size=260
)


def _nbytes(s: str) -> int:
    return len(s.encode("utf-8"))


def _name_like(s: str, allowed: set[str], inner: set[str]) -> bool:
    """Non-empty, first and last in ``allowed``, the rest in ``inner``."""
    return bool(s) and s[0] in allowed and s[-1] in allowed and all(c in inner for c in s)


def label_value_ok(v: str) -> bool:
    return _nbytes(v) <= 63 and (v == "" or _name_like(v, ALNUM, ALNUM | set("-_.")))


def dns_label_ok(v: str) -> bool:
    return _nbytes(v) <= 63 and _name_like(v, LOWER_ALNUM, LOWER_ALNUM | {"-"})


def dns_subdomain_ok(v: str) -> bool:
    return _nbytes(v) <= 253 and all(dns_label_ok(p) for p in v.split(".")) and v != ""


def qualified_ok(k: str) -> bool:
    parts = k.split("/")
    if len(parts) > 2:
        return False
    name = parts[-1]
    if len(parts) == 2 and not dns_subdomain_ok(parts[0]):
        return False
    return _nbytes(name) <= 63 and _name_like(name, ALNUM, ALNUM | set("-_."))


@settings(max_examples=600)
@given(value=near)
def test_syntax_checks_agree_with_upstreams_rules(value: str) -> None:
    assert (not label_value_problems(value)) == label_value_ok(value), value
    assert (not dns1123_label_problems(value)) == dns_label_ok(value), value
    assert (not dns1123_subdomain_problems(value)) == dns_subdomain_ok(value), value
    assert (not qualified_name_problems(value)) == qualified_ok(value), value
    dns1035 = dns_label_ok(value) and value[:1].isalpha()
    assert (not dns1035_label_problems(value)) == dns1035, value


@pytest.mark.parametrize("value", ["a\n", "web\n", "example.com/a\n"])
def test_a_trailing_newline_never_passes(value: str) -> None:
    # Python's "$" matches before a final newline; Go's does not.
    assert label_value_problems(value)
    assert dns1123_subdomain_problems(value)
    assert qualified_name_problems(value)


def test_lengths_are_bytes() -> None:
    assert label_value_problems("é" * 40) == [
        "must be no more than 63 bytes",
        label_value_problems("é")[0],
    ]


@pytest.mark.parametrize(
    "kind,name,release,valid",
    [
        ("Pod", "web.v1", "1.36", True),
        ("Node", "nodeA", "1.36", False),
        ("Namespace", "team.a", "1.36", False),
        ("StatefulSet", "db.0", "1.36", False),
        ("Service", "1-api", "1.35", False),
        ("Service", "1-api", "1.36", True),
        ("Service", "api.v1", "1.36", False),
        ("PriorityClass", "gold.tier", "1.33", True),
    ],
)
def test_names_per_kind_and_release(kind: str, name: str, release: str, valid: bool) -> None:
    major, minor = release.split(".")
    with validating_for(KubeVersion(int(major), int(minor))):
        assert (not name_problems(kind, name)) == valid


# --- rule classes on objects -------------------------------------------------------------------


def pod(spec: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", **({"labels": labels} if labels else {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


def container(resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return pod({"containers": [{"name": "c", "image": "busybox", "resources": resources, **extra}]})


def node(spec: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    if spec:
        out["spec"] = spec
    if status:
        out["status"] = status
    return out


def load(*objects: dict[str, Any], release: str | None = None) -> None:
    podfit.load(
        io.StringIO(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})),
        kube_version=release,
    )


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "taint twice": (
        node({"taints": [{"key": "k", "effect": "NoSchedule"}, {"key": "k", "value": "v", "effect": "NoSchedule"}]}),
        'spec.taints[1]: Duplicate value: "k:NoSchedule"',
    ),
    "taint key": (node({"taints": [{"key": "a b", "effect": "NoSchedule"}]}), 'spec.taints[0].key: Invalid value: "a b"'),
    "taint effect missing": (node({"taints": [{"key": "k"}]}), "spec.taints[0].effect: Required value"),
    "toleration operator": (
        pod({"tolerations": [{"key": "k", "operator": "In"}]}),
        'spec.tolerations[0].operator: Unsupported value: "In": supported values: "Equal", "Exists"',
    ),
    "toleration value": (pod({"tolerations": [{"key": "k", "value": "a/b"}]}), 'spec.tolerations[0].value: Invalid value: "a/b"'),
    "toleration key": (pod({"tolerations": [{"key": "-k", "operator": "Exists"}]}), 'spec.tolerations[0].key: Invalid value: "-k"'),
    "nodeSelector key": (pod({"nodeSelector": {"a/b/c": "x"}}), 'spec.nodeSelector: Invalid value: "a/b/c"'),
    "required affinity value": (
        pod({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "z", "operator": "In", "values": ["a b"]}]}]}}}}),
        'values[0]: Invalid value: "a b"',
    ),
    "pod affinity namespace": (
        pod({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "labelSelector": {}, "namespaces": ["Team"]}]}}}),
        'namespaces[0]: Invalid value: "Team"',
    ),
    "pod affinity topology key": (
        pod({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "", "labelSelector": {}}]}}}),
        "topologyKey: Required value: can not be empty",
    ),
    "match and mismatch label keys": (
        pod({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone", "labelSelector": {}, "matchLabelKeys": ["v"], "mismatchLabelKeys": ["v"]}]}}}),
        'matchLabelKeys[0]: Invalid value: "v": exists in both matchLabelKeys and mismatchLabelKeys',
    ),
    "request above limit": (container({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}), "must be less than or equal to memory limit of 1Gi"),
    "fractional extended": (container({"limits": {"example.com/gpu": "1.5"}}), "must be an integer"),
    "extended request only": (container({"requests": {"example.com/gpu": "1"}}), "Limit must be set for non overcommitable resources"),
    "extended unequal": (container({"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "3"}}), "must be equal to example.com/gpu limit of 3"),
    "hugepages not whole pages": (container({"limits": {"hugepages-2Mi": "3Mi", "memory": "1Gi"}}), "is not positive integer multiple of hugepages-2Mi"),
    "unknown unprefixed resource": (container({"requests": {"gpus": "1"}}), "must be a standard resource type or fully qualified"),
    "container name": (pod({"containers": [{"name": "Web", "image": "x"}]}), 'spec.containers[0].name: Invalid value: "Web"'),
    "container name twice": (pod({"containers": [{"name": "c", "image": "x"}], "initContainers": [{"name": "c", "image": "x"}]}), 'spec.initContainers[0].name: Duplicate value: "c"'),
    "port name": (container({}, ports=[{"containerPort": 80, "name": "HTTP"}]), 'ports[0].name: Invalid value: "HTTP"'),
    "host port twice": (
        pod({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}]}, {"name": "b", "image": "x", "ports": [{"containerPort": 81, "hostPort": 80}]}]}),
        'spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//80"',
    ),
    "host network port": (
        pod({"hostNetwork": True, "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 81}]}]}),
        "must match `containerPort` when `hostNetwork` is true",
    ),
    "min domains with schedule anyway": (
        pod({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2, "labelSelector": {}}]}),
        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
    ),
    "spread twice": (
        pod({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}] * 2}),
        'Duplicate value: "{zone, DoNotSchedule}"',
    ),
    "scheduling gate twice": (pod({"schedulingGates": [{"name": "a"}, {"name": "a"}]}), 'spec.schedulingGates[1]: Duplicate value: "a"'),
    "node name": (pod({"nodeName": "Node_1"}), 'spec.nodeName: Invalid value: "Node_1"'),
    "active deadline": (pod({"activeDeadlineSeconds": 2**31}), "must be between 1 and 2147483647, inclusive"),
    "half a pod slot": (node(allocatable={"pods": "1500m"}), 'status.allocatable.pods: Invalid value: "1500m": must be an integer'),
    "pdb both": (
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "b"}, "spec": {"minAvailable": "50%", "maxUnavailable": 1}},
        "minAvailable and maxUnavailable cannot be both set",
    ),
    "pdb negative": (
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "b"}, "spec": {"minAvailable": -1}},
        "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0",
    ),
    "system class": (
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-node-critical"}, "value": 5},
        "value of system-node-critical PriorityClass must be 2000001000",
    ),
    "limit range pod default": (
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"}, "spec": {"limits": [{"type": "Pod", "default": {"cpu": "1"}}]}},
        "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'",
    ),
    "limit range type": (
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"}, "spec": {"limits": [{"type": "Node"}]}},
        'spec.limits[0].type: Invalid value: "Node": must be a standard limit type or fully qualified',
    ),
    "quota scope": (
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"cpu": "1"}, "scopes": ["BestEffort"]}},
        'spec.scopes: Invalid value: "BestEffort": unsupported scope applied to resource',
    ),
    "quota conflicting scopes": (
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"pods": "1"}, "scopes": ["Terminating", "NotTerminating"]}},
        "conflicting scopes",
    ),
    "daemonset selector": (
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
        "`selector` does not match template `labels`",
    ),
    "annotation key": (
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "annotations": {"a b": "x"}}},
        'metadata.annotations: Invalid value: "a b"',
    ),
}  # fmt: skip


@pytest.mark.parametrize(("obj", "words"), list(REFUSED.values()), ids=list(REFUSED))
def test_refused_in_upstreams_words_and_located(obj: dict[str, Any], words: str) -> None:
    with pytest.raises(ManifestError) as info:
        load(obj)
    message = str(info.value)
    assert words in message, message
    assert "\n" not in message and "items[0]" in message


ACCEPTED: dict[str, dict[str, Any]] = {
    "taint key with two effects": node({"taints": [{"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoExecute"}]}),
    "preferred affinity value": pod({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchExpressions": [{"key": "z", "operator": "In", "values": ["a b"]}]}}]}}}),
    "extended limit only": container({"limits": {"example.com/gpu": "2"}}),
    "hugepages with memory": container({"limits": {"hugepages-2Mi": "4Mi", "memory": "1Gi"}}),
    "gt bound no integer": pod({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "g", "operator": "Gt", "values": ["ten"]}]}]}}}}),
    "host network default port": pod({"hostNetwork": True, "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80}]}]}),
    "prefixed limit range type": {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"}, "spec": {"limits": [{"type": "example.com/thing"}]}},
    "system class exact": {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-cluster-critical"}, "value": 2000000000},
    "volume attributes quota": {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"persistentvolumeclaims": "1"}, "scopes": ["VolumeAttributesClass"]}},
}  # fmt: skip


@pytest.mark.parametrize("obj", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_stored(obj: dict[str, Any]) -> None:
    load(obj)


# --- generated: requests and limits ------------------------------------------------------------

amounts = st.integers(0, 4000)


@settings(max_examples=150, deadline=None)
@given(
    request=st.none() | amounts,
    limit=st.none() | amounts,
    resource=st.sampled_from(["cpu", "memory", "example.com/gpu"]),
)
def test_requests_and_limits_are_refused_exactly_where_upstream_refuses(
    request: int | None, limit: int | None, resource: str
) -> None:
    unit = "m" if resource == "cpu" else ""
    resources: dict[str, Any] = {}
    if request is not None:
        resources["requests"] = {resource: f"{request}{unit}"}
    if limit is not None:
        resources["limits"] = {resource: f"{limit}{unit}"}
    extended = resource == "example.com/gpu"
    refused = (
        (request is not None and limit is not None and request > limit)
        or (extended and request is not None and limit is None)
        or (extended and request is not None and limit is not None and request != limit)
    )
    if refused:
        with pytest.raises(ManifestError, match=r"resources\.(requests|limits)"):
            load(container(resources))
    else:
        load(container(resources))


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(st.sampled_from(["zone", "rack", "host"]), min_size=1, max_size=3),
    actions=st.lists(st.sampled_from(["DoNotSchedule", "ScheduleAnyway"]), min_size=3, max_size=3),
    min_domains=st.none() | st.integers(-1, 3),
)
def test_spread_constraints_as_upstream_counts_them(
    keys: list[str], actions: list[str], min_domains: int | None
) -> None:
    constraints = []
    for key, action in zip(keys, actions, strict=False):
        c: dict[str, Any] = {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": action}
        if min_domains is not None:
            c["minDomains"] = min_domains
        constraints.append(c)
    pairs = [(c["topologyKey"], c["whenUnsatisfiable"]) for c in constraints]
    refused = (
        len(set(pairs)) < len(pairs)
        or (min_domains is not None and min_domains <= 0)
        or (
            min_domains is not None
            and "ScheduleAnyway" in [c["whenUnsatisfiable"] for c in constraints]
        )
    )
    if refused:
        with pytest.raises(ManifestError, match="topologySpreadConstraints"):
            load(pod({"topologySpreadConstraints": constraints}))
    else:
        load(pod({"topologySpreadConstraints": constraints}))


@settings(max_examples=100, deadline=None)
@given(
    taints=st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["NoSchedule", "NoExecute"])),
        max_size=4,
    )
)
def test_duplicate_taints_are_refused_exactly(taints: list[tuple[str, str]]) -> None:
    spec = {"taints": [{"key": k, "effect": e} for k, e in taints]}
    if len(set(taints)) < len(taints):
        with pytest.raises(ManifestError, match="taints must be unique by key and effect pair"):
            load(node(spec))
    else:
        load(node(spec))


# --- the scheduler's configuration, decoded strictly ----------------------------------------------

CONFIG = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration"}

BAD_CONFIGS: dict[str, tuple[dict[str, Any], str]] = {
    "unknown top-level field": ({**CONFIG, "profile": []}, 'unknown field "profile"'),
    "unknown plugins field": ({**CONFIG, "profiles": [{"schedulerName": "s", "plugins": {"filters": {}}}]}, 'unknown field "filters"'),
    "unknown plugin field": ({**CONFIG, "profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "weigth": 2}]}}}]}, 'unknown field "weigth"'),
    "unknown args field": ({**CONFIG, "profiles": [{"pluginConfig": [{"name": "PodTopologySpread", "args": {"defaultingtype": "List"}}]}]}, "unknown field"),
    "parallelism": ({**CONFIG, "parallelism": -1}, "parallelism: Invalid value: -1"),
    "percentage": ({**CONFIG, "profiles": [{"percentageOfNodesToScore": 101}]}, "not in valid range [0-100]"),
    "backoff": ({**CONFIG, "podInitialBackoffSeconds": 0}, "must be greater than 0"),
    "weight beyond int32": ({**CONFIG, "profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "weight": 2**31}]}}}]}, "must be at most 2147483647"),
    "two queue sorts": ({**CONFIG, "profiles": [{"plugins": {"queueSort": {"enabled": [{"name": "a"}, {"name": "b"}]}}}]}, "only one queue sort plugin can be enabled"),
    "pluginConfig twice": ({**CONFIG, "profiles": [{"pluginConfig": [{"name": "NodeAffinity"}, {"name": "NodeAffinity"}]}]}, 'Duplicate value: "NodeAffinity"'),
    "empty profiles": ({**CONFIG, "profiles": []}, "profiles: Required value"),
}  # fmt: skip


@pytest.mark.parametrize(("config", "words"), list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_bad_configurations_are_refused(config: dict[str, Any], words: str) -> None:
    with pytest.raises(
        (ConfigError, ManifestError), match=words.replace("[", r"\[").replace("]", r"\]")
    ):
        profiles_from_config(config)


def test_a_score_weight_of_zero_counts_as_one() -> None:
    config = {
        **CONFIG,
        "profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "weight": 0}]}}}],
    }
    profile = profiles_from_config(config)["default-scheduler"]
    assert dict((p.name, w) for p, w in profile.score_plugins)["NodeAffinity"] == 1


def test_loading_lists_each_list_of_fields_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A check that indexed a freshly listed field per element made a pod of 60,000
    # containers take minutes: count how often lists are made, not how long it takes.
    from podfit.fields import Field

    calls = 0
    real = Field.items

    def counting(self: Field) -> Any:
        nonlocal calls
        calls += 1
        return real(self)

    monkeypatch.setattr(Field, "items", counting)
    wide = 2000
    obj = pod(
        {
            "containers": [{"name": f"c{i}", "image": "x"} for i in range(wide)],
            "tolerations": [{"key": f"k{i}", "operator": "Exists"} for i in range(wide)],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "a",
                                        "operator": "In",
                                        "values": [f"v{i}" for i in range(wide)],
                                    }
                                ]
                            }
                        ]
                    }
                }
            },
        }
    )
    load(obj)
    # Each container lists its own few fields (ports, ...): linear in the containers.
    assert calls < 10 * wide

"""Scheduler profiles: the default one, and those a KubeSchedulerConfiguration describes.

Upstream: ``pkg/scheduler/apis/config/v1/default_plugins.go`` (the default plugins,
their order and score weights) and ``pkg/scheduler/apis/config/v1/defaults.go``
(merging user-enabled and disabled plugins into the defaults).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podfit.errors import PodfitError
from podfit.fields import INT32_MAX, INT32_MIN, Field
from podfit.model import DEFAULT_SCHEDULER
from podfit.printable import one_line
from podfit.spec.versions import change_holds
from podfit.validation import duplicate, invalid
from podfit.validation import required as required_value
from podfit.versions import LATEST, KubeVersion

from .framework import Plugin, Profile

# Plugin name -> module in podfit.reference that defines it (class attribute `name`).
# Only plugins podfit implements are listed here.
PLUGIN_MODULES: dict[str, str] = {
    "NodeUnschedulable": "nodeunschedulable",
    "NodeName": "nodename",
    "TaintToleration": "tainttoleration",
    "NodeAffinity": "nodeaffinity",
    "NodePorts": "nodeports",
    "NodeResourcesFit": "noderesources",
    "PodTopologySpread": "podtopologyspread",
    "InterPodAffinity": "interpodaffinity",
    "NodeResourcesBalancedAllocation": "balancedallocation",
    "ImageLocality": "imagelocality",
    "DynamicResources": "dynamicresources",
    "NodeDeclaredFeatures": "nodedeclaredfeatures",
}

# Upstream's default profile in order (MultiPoint in default_plugins.go), with score weights
# (0: the plugin does not score). The queue, preemption and binding plugins are elsewhere.
UPSTREAM_DEFAULT_PLUGINS: tuple[tuple[str, int], ...] = (
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("VolumeRestrictions", 0),
    ("NodeVolumeLimits", 0),
    ("VolumeBinding", 0),
    ("VolumeZone", 0),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DynamicResources", 2),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    # Appended to MultiPoint when its gate is on (applyFeatureGates).
    ("NodeDeclaredFeatures", 0),
)
#: The spec's version changes that put DynamicResources in the default profile, and make
#: it score (with weight 2).
DRA_IN_DEFAULT_PROFILE = "dynamic-resources-in-default-profile"
DRA_SCORES = "dynamic-resources-scores"
NODE_DECLARED_FEATURES = "node-declared-features-in-default-profile"


def upstream_default_plugins(version: KubeVersion = LATEST) -> tuple[tuple[str, int], ...]:
    """Upstream's default plugins and weights for a release (feature gates applied)."""
    out = []
    for name, weight in UPSTREAM_DEFAULT_PLUGINS:
        if name == "DynamicResources":
            if not change_holds(DRA_IN_DEFAULT_PROFILE, version):
                continue
            weight = weight if change_holds(DRA_SCORES, version) else 0
        if name == "NodeDeclaredFeatures" and not change_holds(NODE_DECLARED_FEATURES, version):
            continue
        out.append((name, weight))
    return tuple(out)


def default_plugins(version: KubeVersion = LATEST) -> tuple[tuple[str, int], ...]:
    """The default plugins podfit models, in upstream's order, with their weights."""
    return tuple(p for p in upstream_default_plugins(version) if p[0] in PLUGIN_MODULES)


def not_modelled(version: KubeVersion = LATEST) -> tuple[str, ...]:
    """Upstream default plugins podfit does not model (volume plugins need PVs and PVCs)."""
    return tuple(n for n, _ in upstream_default_plugins(version) if n not in PLUGIN_MODULES)


DEFAULT_PLUGINS = default_plugins()
NOT_MODELLED = not_modelled()


def check_args(plugin: str, args: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """A plugin's args hold only its own fields (and apiVersion/kind): kube-scheduler
    decodes them strictly."""
    for key in args:
        if key not in (*allowed, *_TYPE_META):
            raise ConfigError(
                f"{plugin} args: {one_line(str(key), 80)}: strict decoding error: unknown field"
            )


class ConfigError(PodfitError):
    pass


def plugin_class(name: str) -> type[Plugin]:
    module = PLUGIN_MODULES.get(name)
    if module is None:
        known = ", ".join(PLUGIN_MODULES)
        raise ConfigError(f"unknown plugin {name!r} (podfit models: {known})")
    mod = importlib.import_module(f"podfit.reference.{module}")
    for value in vars(mod).values():
        if isinstance(value, type) and issubclass(value, Plugin) and value.name == name:
            return value
    raise ConfigError(f"plugin {name!r} is not defined in podfit.reference.{module}")


@dataclass(frozen=True)
class PluginSet:
    filters: tuple[str, ...]
    scores: tuple[tuple[str, int], ...]


def _default_set(version: KubeVersion = LATEST) -> PluginSet:
    plugins = default_plugins(version)
    classes = {name: plugin_class(name) for name, _ in plugins}
    return PluginSet(
        filters=tuple(n for n, _ in plugins if classes[n].filters),
        scores=tuple((n, w) for n, w in plugins if classes[n].scores and w > 0),
    )


def build_profile(
    scheduler_name: str = DEFAULT_SCHEDULER,
    plugins: PluginSet | None = None,
    args: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    version: KubeVersion = LATEST,
) -> Profile:
    chosen = plugins or _default_set(version)
    args = args or {}
    instances: dict[str, Plugin] = {}

    def instance(name: str) -> Plugin:
        if name not in instances:
            instances[name] = plugin_class(name)(args.get(name), version=version)
        return instances[name]

    filters = tuple(instance(n) for n in chosen.filters)
    # DynamicResources' PostFilter runs before DefaultPreemption when the plugin is enabled.
    dra = any(p.name == "DynamicResources" for p in filters)
    return Profile(
        scheduler_name=scheduler_name,
        filter_plugins=filters,
        score_plugins=tuple((instance(n), w) for n, w in chosen.scores),
        version=version,
        post_filters=(("DynamicResources",) if dra else ()) + ("DefaultPreemption",),
    )


_DEFAULT_PROFILES: dict[KubeVersion, Profile] = {}


def default_profile(version: KubeVersion = LATEST) -> Profile:
    """The default profile of ``version`` (built once per release: profiles hold no state
    between cycles)."""
    profile = _DEFAULT_PROFILES.get(version)
    if profile is None:
        profile = _DEFAULT_PROFILES[version] = build_profile(version=version)
    return profile


# --- KubeSchedulerConfiguration ----------------------------------------------------------------


# The fields kube-scheduler's v1 configuration has (k8s.io/kube-scheduler/config/v1,
# component-base's leader election, client connection and debugging): it decodes the file
# strictly, so any other key is an error, not something silently ignored.
_TYPE_META = ("apiVersion", "kind")
_CONFIG_FIELDS = (
    *_TYPE_META,
    "parallelism",
    "leaderElection",
    "clientConnection",
    "enableProfiling",
    "enableContentionProfiling",
    "percentageOfNodesToScore",
    "podInitialBackoffSeconds",
    "podMaxBackoffSeconds",
    "profiles",
    "extenders",
    "delayCacheUntilActive",
)
_LEADER_ELECTION_FIELDS = (
    "leaderElect",
    "leaseDuration",
    "renewDeadline",
    "retryPeriod",
    "resourceLock",
    "resourceName",
    "resourceNamespace",
)
_CLIENT_CONNECTION_FIELDS = ("kubeconfig", "acceptContentTypes", "contentType", "qps", "burst")
_PROFILE_FIELDS = ("schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig")
_EXTENSION_POINTS = (
    "preEnqueue",
    "queueSort",
    "preFilter",
    "filter",
    "postFilter",
    "preScore",
    "score",
    "reserve",
    "permit",
    "preBind",
    "bind",
    "postBind",
    "multiPoint",
)
_EXTENDER_FIELDS = (
    "urlPrefix",
    "filterVerb",
    "preemptVerb",
    "prioritizeVerb",
    "weight",
    "bindVerb",
    "enableHTTPS",
    "tlsConfig",
    "httpTimeout",
    "nodeCacheCapable",
    "managedResources",
    "ignorable",
)


def strict(f: Field, allowed: tuple[str, ...]) -> Field:
    """``f`` must be a mapping holding only ``allowed`` keys (kube-scheduler's strict
    decoding: ``unknown field``)."""
    for key, _ in f.entries():
        if key not in allowed:
            raise f.at(key).error(f'strict decoding error: unknown field "{one_line(key, 80)}"')
    return f


def _names(f: Field) -> list[tuple[str, int | None]]:
    out = []
    for item in f.items():
        strict(item, ("name", "weight"))
        name = item.at("name").text(required=True)
        weight = item.at("weight").optional_integer(minimum=0, maximum=INT32_MAX)
        # The framework reads a weight of 0 as 1 (runtime/framework.go: "a weight of zero
        # is not permitted, plugins can be disabled explicitly").
        out.append((name, 1 if weight == 0 else weight))
    return out


def _percentage(f: Field) -> None:
    value = f.optional_integer(minimum=INT32_MIN, maximum=INT32_MAX)
    if value is not None and not 0 <= value <= 100:
        raise f.error(invalid(value, "not in valid range [0-100]"))


def _check_config(f: Field) -> None:
    """ValidateKubeSchedulerConfiguration's ranges, and strict decoding of every level."""
    strict(f, _CONFIG_FIELDS)
    strict(f.at("leaderElection"), _LEADER_ELECTION_FIELDS)
    strict(f.at("clientConnection"), _CLIENT_CONNECTION_FIELDS)
    parallelism = f.at("parallelism").optional_integer(minimum=INT32_MIN, maximum=INT32_MAX)
    if parallelism is not None and parallelism <= 0:
        raise f.at("parallelism").error(
            invalid(parallelism, "should be an integer value greater than zero")
        )
    _percentage(f.at("percentageOfNodesToScore"))
    initial = f.at("podInitialBackoffSeconds").integer(1)
    if initial <= 0:
        raise f.at("podInitialBackoffSeconds").error(invalid(initial, "must be greater than 0"))
    maximum = f.at("podMaxBackoffSeconds").integer(max(initial, 10))
    if maximum < initial:
        raise f.at("podMaxBackoffSeconds").error(
            invalid(maximum, "must be greater than or equal to PodInitialBackoffSeconds")
        )
    profiles = f.at("profiles")
    if profiles.value is not None and not profiles.items():
        raise profiles.error(required_value())
    queue_sorts = []
    for item in profiles.items():
        strict(item, _PROFILE_FIELDS)
        name = item.at("schedulerName")
        if name.value is not None and not name.text():
            raise name.error(required_value())
        _percentage(item.at("percentageOfNodesToScore"))
        plugins = strict(item.at("plugins"), _EXTENSION_POINTS)
        for point in _EXTENSION_POINTS:
            strict(plugins.at(point), ("enabled", "disabled"))
            _names(plugins.at(point).at("enabled"))
            _names(plugins.at(point).at("disabled"))
        queue = plugins.at("queueSort").at("enabled").items()
        if len(queue) > 1:
            raise (
                plugins.at("queueSort")
                .at("enabled")
                .error(invalid(len(queue), "only one queue sort plugin can be enabled"))
            )
        queue_sorts.append(plugins.at("queueSort").value)
        seen: set[str] = set()
        for pc in item.at("pluginConfig").items():
            strict(pc, ("name", "args"))
            plugin = pc.at("name").text(required=True)
            if plugin in seen:
                raise pc.error(duplicate(plugin))
            seen.add(plugin)
    for index, queue_sort in enumerate(queue_sorts[1:], start=1):
        if queue_sort != queue_sorts[0]:
            raise (
                profiles.items()[index]
                .at("plugins")
                .at("queueSort")
                .error(invalid(str(queue_sort), "must be the same for all profiles"))
            )
    binders = 0
    for item in f.at("extenders").items():
        strict(item, _EXTENDER_FIELDS)
        weight = item.at("weight").integer(0)
        if item.at("prioritizeVerb").text() and weight <= 0:
            raise item.at("weight").error(
                invalid(weight, "must have a positive weight applied to it")
            )
        binders += bool(item.at("bindVerb").text())
    if binders > 1:
        raise f.at("extenders").error(
            invalid(
                f"found {binders} extenders implementing bind",
                "only one extender can implement bind",
            )
        )


def _merge(defaults: list[tuple[str, int]], section: Field, point: str) -> list[tuple[str, int]]:
    """Upstream's merge: drop disabled defaults ('*' drops all), re-enabled defaults keep
    their place with the new weight, other enabled plugins are appended."""
    disabled = {n for n, _ in _names(section.at("disabled"))}
    enabled = _names(section.at("enabled"))
    for name, _ in enabled:
        plugin_class(name)
    for name in disabled - {"*"}:
        plugin_class(name)
    enabled_map = {n: w for n, w in enabled}
    out: list[tuple[str, int]] = []
    if "*" not in disabled:
        for name, weight in defaults:
            if name in disabled:
                continue
            if name in enabled_map:
                new = enabled_map.pop(name)
                if new is not None:
                    weight = new
            out.append((name, weight))
    for name, maybe_weight in enabled:
        if name in enabled_map:
            cls = plugin_class(name)
            if point == "filter" and not cls.filters:
                raise section.error(f"plugin {name!r} has no filter extension point")
            if point == "score" and not cls.scores:
                raise section.error(f"plugin {name!r} has no score extension point")
            default_weight = dict(UPSTREAM_DEFAULT_PLUGINS).get(name) or 1
            out.append((name, maybe_weight if maybe_weight is not None else default_weight))
    return out


def profiles_from_config(
    config: Mapping[str, Any], version: KubeVersion = LATEST
) -> dict[str, Profile]:
    """Profiles by schedulerName from a KubeSchedulerConfiguration manifest, on top of the
    default plugins of ``version``."""
    f = Field(config)
    f.mapping()
    kind = f.at("kind").text(required=True)
    if kind != "KubeSchedulerConfiguration":
        raise f.at("kind").error(f"expected KubeSchedulerConfiguration, got {kind!r}")
    api_version = f.at("apiVersion").text(required=True)
    if api_version != "kubescheduler.config.k8s.io/v1":
        raise f.at("apiVersion").error(
            f"unsupported apiVersion {api_version!r} (expected kubescheduler.config.k8s.io/v1)"
        )
    _check_config(f)
    defaults = _default_set(version)
    out: dict[str, Profile] = {}
    items = f.at("profiles").items() or [Field({}, "profiles[0]")]
    for item in items:
        name = item.at("schedulerName").text(DEFAULT_SCHEDULER)
        if name in out:
            raise item.at("schedulerName").error(f"duplicate profile {name!r}")
        plugins = item.at("plugins")
        multi = plugins.at("multiPoint")
        filters = _merge([(n, 0) for n in defaults.filters], multi, "multiPoint")
        filters = [(n, w) for n, w in filters if plugin_class(n).filters]
        filters = _merge(filters, plugins.at("filter"), "filter")
        scores = _merge(list(defaults.scores), multi, "multiPoint")
        scores = [(n, w) for n, w in scores if plugin_class(n).scores]
        scores = _merge(scores, plugins.at("score"), "score")
        args: dict[str, Mapping[str, Any]] = {}
        for pc in item.at("pluginConfig").items():
            plugin = pc.at("name").text(required=True)
            plugin_class(plugin)
            args[plugin] = pc.at("args").mapping()
        try:
            out[name] = build_profile(
                name,
                PluginSet(
                    filters=tuple(n for n, _ in filters),
                    scores=tuple((n, w) for n, w in scores if w > 0),
                ),
                args,
                version=version,
            )
        except PodfitError as exc:
            raise ConfigError(f"profiles: {name}: {exc}") from None
    return out

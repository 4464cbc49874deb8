"""What a conforming scheduler must do, checked against the reference.

The reference is run with only the plugins of the rule areas the scheduler claims, so a
scheduler that implements taints and resources is judged on exactly those rules. For
every generated (cluster, pod) the scheduler's :class:`~.decisions.Decision` is compared
with that verdict:

* **soundness** — a node the scheduler picks passes every filter of its areas;
* **completeness** — the scheduler says "unschedulable" only when no node passes;
* **optimality** (strict) — the pick is one of the reference's best-scoring nodes;
* **reasons** (strict) — the reasons it gives for a node are the reference's.

A scheduler that fails to answer (``Decision.error``) fails whichever property is being
checked. Each failure is a :class:`Finding` that names the spec rules involved.
:class:`SchedulerStateMachine` runs the same checks over a cluster that changes: nodes
join, are cordoned and tainted, pods are bound where the scheduler puts them and deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from podfit.apiserver import cluster_as_stored, pod_as_stored
from podfit.cluster import Cluster
from podfit.manifest import to_manifest
from podfit.model import DEFAULT_SCHEDULER, Node, Pod, Taint
from podfit.versions import LATEST, KubeVersion

from .decisions import ADMISSION_AREAS, ALL_AREAS, CLUSTER_AREAS, Decision, Scheduler

__all__ = [
    "AREA_PLUGINS",
    "DEFAULT_PROPERTIES",
    "PROPERTIES",
    "STRICT_PROPERTIES",
    "Finding",
    "NodeVerdict",
    "Property",
    "PropertyFailed",
    "SchedulerStateMachine",
    "Verdict",
    "areas_for_rules",
    "ask",
    "check",
    "check_example",
    "evaluate",
    "involved_areas",
    "reference_verdict",
    "refine_finding",
    "rule_ids",
    "single_node_cluster",
]

#: The reference plugins that implement each rule area (filters and scores).
AREA_PLUGINS: Mapping[str, tuple[str, ...]] = {
    "node-unschedulable": ("NodeUnschedulable",),
    "node-affinity": ("NodeName", "NodeAffinity"),
    "taints": ("TaintToleration",),
    "resources": ("NodeResourcesFit", "NodeResourcesBalancedAllocation"),
    "node-ports": ("NodePorts",),
    "inter-pod-affinity": ("InterPodAffinity",),
    "topology-spread": ("PodTopologySpread",),
}

# Spec rules an area's checks exercise: its own, plus the selector rules it relies on.
_AREA_RULE_PREFIXES: Mapping[str, tuple[str, ...]] = {
    "node-affinity": ("node-affinity.", "selectors.node-term.", "selectors.requirement."),
    "inter-pod-affinity": (
        "inter-pod-affinity.",
        "selectors.label-selector.",
        "selectors.requirement.",
    ),
    "topology-spread": ("topology-spread.", "selectors.label-selector."),
}

FILTER_POINTS = ("filter", "prefilter")
SCORE_POINTS = ("score",)


@lru_cache(maxsize=1)
def _rule_index() -> tuple[tuple[str, str], ...]:
    """(id, point) of every spec rule, in spec order.

    Read with libyaml when it is there: the full :func:`podfit.spec.rules` (pure-Python
    YAML and schema validation) takes seconds, which would stall the first finding."""
    from importlib import resources

    import yaml

    from podfit.spec import rule_files

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: list[tuple[str, str]] = []
    for name in rule_files():
        text = resources.files("podfit.spec").joinpath(name).read_text(encoding="utf-8")
        data = yaml.load(text, Loader=loader)
        for entry in (data or {}).get("rules", []) if isinstance(data, dict) else []:
            if isinstance(entry, dict) and "id" in entry:
                out.append((str(entry["id"]), str(entry.get("point", ""))))
    return tuple(out)


def rule_ids(areas: Iterable[str], points: Iterable[str] = FILTER_POINTS) -> tuple[str, ...]:
    """The ids of the spec rules of ``areas`` at the extension ``points`` (in spec order)."""
    wanted = set(points)
    prefixes = tuple(p for a in set(areas) for p in _AREA_RULE_PREFIXES.get(a, (f"{a}.",)))
    return tuple(i for i, point in _rule_index() if i.startswith(prefixes) and point in wanted)


def areas_for_rules(patterns: Iterable[str]) -> frozenset[str]:
    """The rule areas that cover ``patterns``: area names, rule ids or id prefixes
    (``taints``, ``taints.filter.no-execute``, ``selectors.node-term``).

    Raises ValueError naming what is known when a pattern matches nothing conformance checks.
    """
    out: set[str] = set()
    for pattern in patterns:
        if pattern in ALL_AREAS or pattern in ADMISSION_AREAS:
            out.add(pattern)
            continue
        stem = pattern.rstrip(".")
        ids = [i for i, _ in _rule_index() if i == stem or i.startswith(stem + ".")]
        if not ids:
            raise ValueError(
                f"no rule area or rule id {pattern!r}; areas: {', '.join(sorted(ALL_AREAS))}"
            )
        found = {
            area
            for i in ids
            for area in ALL_AREAS
            if i.startswith(_AREA_RULE_PREFIXES.get(area, (f"{area}.",)))
        }
        if not found:
            raise ValueError(
                f"the rules matching {pattern!r} are not checked by conformance (it covers "
                f"the areas {', '.join(sorted(ALL_AREAS))})"
            )
        out |= found
    return frozenset(out)


# --- the reference's verdict -------------------------------------------------------------------


@dataclass(frozen=True)
class NodeVerdict:
    """Why the reference rejects a node: the first filter plugin that did, and its reasons."""

    plugin: str
    code: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "code": self.code, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Verdict:
    """The reference's answer, judged with the plugins of ``areas`` only."""

    areas: frozenset[str]
    feasible: tuple[str, ...]
    top: tuple[str, ...]
    rejected: Mapping[str, NodeVerdict]
    totals: Mapping[str, int]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "areas": sorted(self.areas),
            "feasible": list(self.feasible),
            "top": list(self.top),
            "rejected": {n: v.to_dict() for n, v in self.rejected.items()},
            "totals": dict(self.totals),
            "message": self.message,
        }


@lru_cache(maxsize=64)
def judge_profiles(areas: frozenset[str], version: KubeVersion = LATEST) -> Mapping[str, Any]:
    """The default profile of ``version`` cut down to the plugins of ``areas`` (order and
    weights kept)."""
    from podfit.reference.profile import PluginSet, build_profile, default_plugins, plugin_class

    wanted = {p for a in areas for p in AREA_PLUGINS.get(a, ())}
    names = [(n, w) for n, w in default_plugins(version) if n in wanted]
    plugins = PluginSet(
        filters=tuple(n for n, _ in names if plugin_class(n).filters),
        scores=tuple((n, w) for n, w in names if plugin_class(n).scores and w > 0),
    )
    return {DEFAULT_SCHEDULER: build_profile(DEFAULT_SCHEDULER, plugins, version=version)}


def reference_verdict(
    cluster: Cluster,
    pod: Pod,
    areas: Iterable[str] = ALL_AREAS,
    *,
    version: KubeVersion = LATEST,
) -> Verdict:
    """Run the reference of ``version`` on ``(cluster, pod)`` with only the plugins of
    ``areas``."""
    from podfit.reference.scheduler import schedule_one

    chosen = frozenset(areas)
    result = schedule_one(cluster, pod, judge_profiles(chosen, version), preemption=False)
    return Verdict(
        areas=chosen,
        feasible=tuple(result.feasible),
        top=tuple(result.top),
        rejected={
            name: NodeVerdict(s.plugin, s.code.value, s.reasons)
            for name, s in result.failed_statuses().items()
        },
        totals=dict(result.totals),
        message=result.message,
    )


def involved_areas(cluster: Cluster, pod: Pod) -> frozenset[str]:
    """The areas whose features the example uses (so a failure can only come from them)."""
    from podfit.reference.resources import pod_requests

    found: set[str] = set()
    nodes = list(cluster.nodes.values())
    active = [p for p in cluster.bound_pods() if not p.is_terminal]
    if pod.tolerations or any(n.taints for n in nodes):
        found.add("taints")
    if any(n.unschedulable for n in nodes):
        found.add("node-unschedulable")
    affinity = pod.affinity
    if pod.node_selector or pod.node_name or (affinity and affinity.node_affinity):
        found.add("node-affinity")
    if pod.host_network or any(p.host_port for c in pod.all_containers() for p in c.ports):
        found.add("node-ports")
    if any(v > 0 for v in pod_requests(pod).values()) or any(
        len(cluster.pods_on(n.name)) + 1 > _max_pods(n) for n in nodes
    ):
        found.add("resources")
    if (affinity and (affinity.pod_affinity or affinity.pod_anti_affinity)) or any(
        p.affinity and p.affinity.pod_anti_affinity for p in active
    ):
        found.add("inter-pod-affinity")
    if pod.topology_spread_constraints:
        found.add("topology-spread")
    return frozenset(found)


def _max_pods(node: Node) -> int:
    q = node.allocatable.get("pods")
    return int(q.value) if q is not None else 0


# --- asking the scheduler ----------------------------------------------------------------------


def ask(scheduler: Scheduler, cluster: Cluster, pod: Pod) -> Decision:
    """The scheduler's decision on a copy of the cluster (it cannot change ours); a crash or
    an answer that is not a Decision becomes ``Decision(error=...)``."""
    try:
        decision: object = scheduler.schedule(cluster.copy(), pod)
    except Exception as exc:
        return Decision(node=None, error=f"the scheduler raised {type(exc).__name__}: {exc}")
    if not isinstance(decision, Decision):
        return Decision(
            node=None,
            error=f"the scheduler returned {type(decision).__name__}, not a Decision",
        )
    return decision


# --- findings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One failed check: the (shrunk) example, both answers, and the rules involved."""

    property: str
    rule_ids: tuple[str, ...]
    cluster: Cluster
    pod: Pod
    decision: Decision | None
    reference: Verdict
    message: str
    areas: tuple[str, ...] = ()
    scheduler: str = ""
    #: where the counterexample was written (set by the runner)
    path: str | None = None
    #: the podfit command that replays it (explain, or admit for admission findings)
    replay: str = "explain"
    #: the property to check again when replaying (a stateful finding's own property)
    checked: str = ""

    def manifests(self) -> list[dict[str, Any]]:
        """The cluster as manifests ``kubectl apply`` takes (the pending pod excluded)."""
        return [to_manifest(obj) for obj in self.cluster.objects()]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "property": self.property,
            "scheduler": self.scheduler,
            "areas": list(self.areas),
            "rules": list(self.rule_ids),
            "message": self.message,
            "pod": self.pod.key,
            "nodes": list(self.cluster.nodes),
            "decision": self.decision.to_dict() if self.decision is not None else None,
            "reference": self.reference.to_dict(),
        }
        if self.checked:
            out["checked"] = self.checked
        if self.path is not None:
            out["path"] = self.path
        return out


class PropertyFailed(AssertionError):
    """Raised inside a Hypothesis test so that the failing example gets shrunk."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.property}: {finding.message}")
        self.finding = finding


# --- the properties ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """One example as a property sees it."""

    cluster: Cluster
    pod: Pod
    decision: Decision
    verdict: Verdict


CheckFunction = Callable[[Judgement], "tuple[str, frozenset[str]] | None"]


@dataclass(frozen=True)
class Property:
    """A property: its name, what it says, and the check (message and blamed areas, or
    None when the example passes)."""

    name: str
    title: str
    points: tuple[str, ...]
    check: CheckFunction
    strict: bool = False


def _failed_to_answer(j: Judgement) -> tuple[str, frozenset[str]] | None:
    if j.decision.error is not None:
        return f"the scheduler did not answer: {j.decision.error}", frozenset()
    return None


def _soundness(j: Judgement) -> tuple[str, frozenset[str]] | None:
    failed = _failed_to_answer(j)
    if failed or j.decision.node is None:
        return failed
    node = j.decision.node
    if node not in j.cluster.nodes:
        return f"picked node {node!r}, which is not in the cluster", frozenset()
    if node in j.verdict.feasible:
        return None
    why = j.verdict.rejected.get(node)
    detail = f"{why.plugin}: {'; '.join(why.reasons)}" if why else "rejected"
    blamed = frozenset(
        a for a in j.verdict.areas if node not in reference_verdict(j.cluster, j.pod, {a}).feasible
    )
    return f"picked {node}, which the reference rejects ({detail})", blamed


def _completeness(j: Judgement) -> tuple[str, frozenset[str]] | None:
    failed = _failed_to_answer(j)
    if failed or j.decision.node is not None or not j.verdict.feasible:
        return failed
    fits = ", ".join(j.verdict.feasible)
    said = _reasons_text(j.decision, j.verdict.feasible)
    return (
        f"answered unschedulable, but {len(j.verdict.feasible)} node(s) pass every filter "
        f"of its areas: {fits}{said}",
        involved_areas(j.cluster, j.pod) & j.verdict.areas,
    )


def _reasons_text(decision: Decision, nodes: Iterable[str]) -> str:
    given = [f"{n}: {'; '.join(decision.reasons[n])}" for n in nodes if decision.reasons.get(n)]
    return f" (the scheduler's reasons: {', '.join(given)})" if given else ""


def _optimality(j: Judgement) -> tuple[str, frozenset[str]] | None:
    failed = _failed_to_answer(j)
    node = j.decision.node
    if failed or node is None or node not in j.verdict.feasible or node in j.verdict.top:
        return failed
    best = j.verdict.totals.get(j.verdict.top[0], 0) if j.verdict.top else 0
    return (
        f"picked {node} (reference total score {j.verdict.totals.get(node, 0)}), not one of "
        f"the best-scoring nodes {', '.join(j.verdict.top)} (total {best})",
        j.verdict.areas,
    )


def _reasons(j: Judgement) -> tuple[str, frozenset[str]] | None:
    failed = _failed_to_answer(j)
    if failed:
        return failed
    problems: list[str] = []
    blamed: set[str] = set()
    for node, reasons in sorted(j.decision.reasons.items()):
        expected = j.verdict.rejected.get(node)
        if expected is None:
            if reasons and node in j.cluster.nodes:
                problems.append(f"{node}: gave {list(reasons)} for a node that fits")
                blamed |= j.verdict.areas
            continue
        if sorted(reasons) != sorted(expected.reasons):
            problems.append(f"{node}: gave {list(reasons)}, expected {list(expected.reasons)}")
            blamed |= {a for a, ps in AREA_PLUGINS.items() if expected.plugin in ps}
    if not problems:
        return None
    return "reasons differ from the reference's: " + "; ".join(problems), frozenset(blamed)


PROPERTIES: Mapping[str, Property] = {
    p.name: p
    for p in (
        Property(
            "soundness",
            "a node the scheduler picks passes every filter of the areas it claims",
            FILTER_POINTS,
            _soundness,
        ),
        Property(
            "completeness",
            "the scheduler answers unschedulable only when no node passes the filters",
            FILTER_POINTS,
            _completeness,
        ),
        Property(
            "optimality",
            "the node picked is one of the reference's best-scoring nodes",
            SCORE_POINTS,
            _optimality,
            strict=True,
        ),
        Property(
            "reasons",
            "the reasons given for a rejected node are the reference's",
            FILTER_POINTS,
            _reasons,
            strict=True,
        ),
    )
}
DEFAULT_PROPERTIES: tuple[str, ...] = ("soundness", "completeness")
STRICT_PROPERTIES: tuple[str, ...] = ("optimality", "reasons")


def judged_areas(scheduler: Scheduler) -> frozenset[str]:
    return frozenset(scheduler.areas) & ALL_AREAS


def evaluate(
    scheduler: Scheduler,
    cluster: Cluster,
    pod: Pod,
    properties: Iterable[str] = DEFAULT_PROPERTIES,
    *,
    areas: Iterable[str] | None = None,
    version: KubeVersion = LATEST,
) -> tuple[Decision, Verdict, list[Finding]]:
    """Ask the scheduler once and check every property; ``areas`` (default: the ones the
    scheduler claims) are the areas it is judged on, by the reference of ``version``. Both
    see the cluster and the pod as that release's API server stores them."""
    judged = frozenset(areas) if areas is not None else judged_areas(scheduler)
    cluster, pod = cluster_as_stored(cluster, version), pod_as_stored(pod, version)
    decision = ask(scheduler, cluster, pod)
    verdict = reference_verdict(cluster, pod, judged, version=version)
    j = Judgement(cluster, pod, decision, verdict)
    findings = []
    for name in properties:
        prop = PROPERTIES[name]
        outcome = prop.check(j)
        if outcome is None:
            continue
        message, blamed = outcome
        blamed = blamed or (involved_areas(cluster, pod) & judged) or judged
        findings.append(
            Finding(
                property=name,
                rule_ids=_named_rules(name, blamed, prop.points, cluster, pod, decision, verdict),
                cluster=cluster,
                pod=pod,
                decision=decision,
                reference=verdict,
                message=message,
                areas=tuple(sorted(blamed)),
                scheduler=scheduler.name,
            )
        )
    return decision, verdict, findings


def _named_rules(
    prop: str,
    blamed: frozenset[str],
    points: tuple[str, ...],
    cluster: Cluster,
    pod: Pod,
    decision: Decision,
    verdict: Verdict,
) -> tuple[str, ...]:
    """The rules a finding names: none when the scheduler did not answer (no rule is at
    fault), the ones the example turns on for the filter properties, every rule of the
    blamed areas otherwise (scores)."""
    from .blame import Dispute, blamed_rules

    if decision.error is not None:
        return ()
    candidates = rule_ids(blamed, points)
    nodes = disputed_nodes(prop, decision, verdict)
    if nodes is None:
        return candidates
    return blamed_rules(blamed, Dispute(cluster, pod, nodes), candidates)


def disputed_nodes(prop: str, decision: Decision, verdict: Verdict) -> tuple[str, ...] | None:
    """The nodes the scheduler and the reference disagree on, for the properties whose
    rules are about features of the example (None for the others)."""
    if prop == "soundness":
        return (decision.node,) if decision.node is not None else ()
    if prop == "completeness":
        return verdict.feasible
    if prop == "reasons":
        return tuple(decision.reasons)
    return None


def refine_finding(
    scheduler: Scheduler, finding: Finding, *, version: KubeVersion = LATEST
) -> Finding:
    """The finding with the rules it names checked against the scheduler: a rule whose
    feature can be taken out of the example while the property still fails is dropped
    (see :func:`podfit.conformance.blame.refine`). Done once, on the shrunk example."""
    from .blame import Dispute, refine

    prop = PROPERTIES.get(finding.property)
    if prop is None or finding.decision is None or not finding.rule_ids:
        return finding
    nodes = disputed_nodes(prop.name, finding.decision, finding.reference)
    if nodes is None:
        return finding

    def still_fails(cluster: Cluster, pod: Pod) -> bool:
        _, _, found = evaluate(
            scheduler, cluster, pod, (prop.name,), areas=finding.reference.areas, version=version
        )
        return bool(found)

    rules = refine(
        finding.areas,
        Dispute(finding.cluster, finding.pod, nodes),
        rule_ids(finding.areas, prop.points),
        still_fails,
    )
    return replace(finding, rule_ids=rules)


def single_node_cluster(cluster: Cluster, node: str) -> Cluster:
    """The part of ``cluster`` that is one node: that node and the pods bound to it, with
    every namespace-level object kept. It is a cluster of its own, as valid as the whole."""
    objects = [
        obj
        for obj in cluster.objects()
        if not isinstance(obj, Node | Pod)
        or (isinstance(obj, Node) and obj.name == node)
        or (isinstance(obj, Pod) and obj.node_name == node)
    ]
    return Cluster(objects)


def cordoned_elsewhere(cluster: Cluster, node: str) -> Cluster:
    """``cluster`` with every node but ``node`` cordoned: the others still hold their pods
    and still count as topology domains, but only ``node`` can take the pod."""
    out = cluster.copy()
    for other in cluster.nodes.values():
        if other.name != node and not other.unschedulable:
            out.replace_node(replace(other, unschedulable=True))
    return out


def check_example(
    scheduler: Scheduler,
    cluster: Cluster,
    pod: Pod,
    prop: str,
    *,
    areas: Iterable[str] | None = None,
    version: KubeVersion = LATEST,
) -> list[Finding]:
    """Check one property on the whole cluster and, when that holds, on each one-node part
    of it where the property could still fail: for soundness the nodes the reference
    rejects, for completeness the nodes it accepts. With one node there is no other node
    to pick instead (or to hide behind), so a bug in a rule shows as soon as it decides.
    Rules that count pods across nodes (spread, inter-pod affinity) need the other nodes
    to stay: for those the other nodes are cordoned instead of removed (when the scheduler
    claims to honour cordons)."""
    judged = frozenset(areas) if areas is not None else judged_areas(scheduler)
    _, verdict, findings = evaluate(scheduler, cluster, pod, (prop,), areas=judged, version=version)
    if findings or len(cluster.nodes) < 2 or prop not in ("soundness", "completeness"):
        return findings
    if prop == "soundness":
        candidates = [n for n in cluster.nodes if n not in verdict.feasible]
    else:
        candidates = list(verdict.feasible)
    parts = [single_node_cluster]
    if "node-unschedulable" in judged and involved_areas(cluster, pod) & CLUSTER_AREAS:
        parts.append(cordoned_elsewhere)
    for make in parts:
        for name in candidates:
            _, _, findings = evaluate(
                scheduler, make(cluster, name), pod, (prop,), areas=judged, version=version
            )
            if findings:
                return findings
    return []


def check(
    prop: str,
    scheduler: Scheduler,
    cluster: Cluster,
    pod: Pod,
    *,
    areas: Iterable[str] | None = None,
    version: KubeVersion = LATEST,
) -> Finding | None:
    """Check one property on one example: the finding, or None when it holds."""
    if prop not in PROPERTIES:
        raise ValueError(f"unknown property {prop!r} (known: {', '.join(PROPERTIES)})")
    _, _, findings = evaluate(scheduler, cluster, pod, (prop,), areas=areas, version=version)
    return findings[0] if findings else None


# --- the stateful machine ----------------------------------------------------------------------


class SchedulerStateMachine(RuleBasedStateMachine):
    """A cluster that changes while a scheduler places pods into it.

    Nodes join, get cordoned or tainted; pending pods are scheduled, each decision checked
    against the reference (and, when sound, bound where the scheduler put it, so later
    decisions see it); bound pods are deleted. Use :meth:`for_scheduler` to get a machine
    class for a particular scheduler (this base class checks the reference itself).
    """

    scheduler: ClassVar[Scheduler | None] = None
    #: the areas whose features are generated, and the areas the scheduler is judged on
    areas: ClassVar[frozenset[str]] = ALL_AREAS
    judged: ClassVar[frozenset[str] | None] = None
    properties: ClassVar[tuple[str, ...]] = DEFAULT_PROPERTIES
    max_nodes: ClassVar[int] = 4
    #: the Kubernetes release the reference follows
    version: ClassVar[KubeVersion] = LATEST
    #: called with every decision checked (the runner counts examples with it)
    on_decision: ClassVar[tuple[Callable[[list[Finding]], None], ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.cluster = Cluster()
        self.nodes_added = 0
        self.pods_added = 0
        if type(self).scheduler is None:
            from podfit.adapters.reference_adapter import ReferenceScheduler

            self._scheduler: Scheduler = ReferenceScheduler()
        else:
            self._scheduler = type(self).scheduler  # type: ignore[assignment]

    @classmethod
    def for_scheduler(
        cls,
        scheduler: Scheduler,
        *,
        areas: Iterable[str] | None = None,
        properties: Iterable[str] = DEFAULT_PROPERTIES,
        max_nodes: int = 4,
        on_decision: Callable[[list[Finding]], None] | None = None,
        version: KubeVersion = LATEST,
    ) -> type[SchedulerStateMachine]:
        """A machine class that checks ``scheduler``, generating the features of ``areas``
        (default: the areas it claims)."""
        claimed = judged_areas(scheduler)
        chosen = frozenset(areas) & claimed if areas is not None else claimed
        attributes = {
            "scheduler": scheduler,
            "areas": chosen,
            "judged": claimed,
            "properties": tuple(properties),
            "max_nodes": max_nodes,
            "on_decision": (on_decision,) if on_decision else (),
            "version": version,
        }
        return type(f"StateMachineFor{cls.__name__}", (cls,), attributes)

    # -- helpers --

    def _draw_node(self, data: st.DataObject) -> Node:
        from .strategies import draw_node

        node = draw_node(data.draw, self.nodes_added, self.areas)
        self.nodes_added += 1
        return node

    def _pick_node(self, data: st.DataObject) -> Node:
        names = sorted(self.cluster.nodes)
        return self.cluster.nodes[data.draw(st.sampled_from(names), label="node")]

    # -- rules --

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        for _ in range(data.draw(st.integers(1, 2), label="initial nodes")):
            self.cluster.add(self._draw_node(data))

    @precondition(lambda self: len(self.cluster.nodes) < self.max_nodes)
    @rule(data=st.data())
    def add_node(self, data: st.DataObject) -> None:
        self.cluster.add(self._draw_node(data))

    @precondition(lambda self: "node-unschedulable" in self.areas and bool(self.cluster.nodes))
    @rule(data=st.data())
    def toggle_cordon(self, data: st.DataObject) -> None:
        node = self._pick_node(data)
        self.cluster.replace_node(replace(node, unschedulable=not node.unschedulable))

    @precondition(lambda self: "taints" in self.areas and bool(self.cluster.nodes))
    @rule(data=st.data())
    def taint_node(self, data: st.DataObject) -> None:
        from .strategies import TAINT_EFFECTS, TAINT_KEYS, TAINT_VALUES

        node = self._pick_node(data)
        taint = Taint(
            key=data.draw(st.sampled_from(TAINT_KEYS)),
            value=data.draw(st.sampled_from(TAINT_VALUES)),
            effect=data.draw(st.sampled_from(TAINT_EFFECTS)),
        )
        kept = tuple(t for t in node.taints if (t.key, t.effect) != (taint.key, taint.effect))
        self.cluster.replace_node(replace(node, taints=(*kept, taint)))

    @precondition(lambda self: "taints" in self.areas and bool(self.cluster.nodes))
    @rule(data=st.data())
    def untaint_node(self, data: st.DataObject) -> None:
        node = self._pick_node(data)
        if node.taints:
            self.cluster.replace_node(replace(node, taints=node.taints[1:]))

    @rule(data=st.data())
    def schedule_pod(self, data: st.DataObject) -> None:
        from .strategies import draw_pending_pod

        name = f"pod-{self.pods_added}"
        self.pods_added += 1
        pod = draw_pending_pod(data.draw, self.cluster, name, self.areas)
        judged = self.judged if self.judged is not None else judged_areas(self._scheduler)
        snapshot = _frozen_copy(self.cluster)
        decision, _, findings = evaluate(
            self._scheduler, snapshot, pod, self.properties, areas=judged, version=self.version
        )
        for hook in self.on_decision:
            hook(findings)
        if findings:
            raise PropertyFailed(findings[0])
        if decision.node is not None:
            self.cluster.bind(pod, decision.node)

    @precondition(lambda self: any(True for _ in self.cluster.bound_pods()))
    @rule(data=st.data())
    def delete_pod(self, data: st.DataObject) -> None:
        keys = sorted(p.key for p in self.cluster.bound_pods())
        self.cluster.remove_pod(data.draw(st.sampled_from(keys), label="pod"))


def _frozen_copy(cluster: Cluster) -> Cluster:
    """A cluster of its own for a finding: later steps must not change a reported example."""
    return Cluster(list(cluster.objects()))

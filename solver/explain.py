"""Why a batch of pods does not fit: a minimal core of rules, then sentences.

Z3's unsat core (over the fact indicators) is shrunk by deletion, as MARCO's ``shrink``
does: drop one fact, and if the rest is still unsatisfiable keep it dropped (and keep
only the facts Z3's new core used); if dropping it makes the rest satisfiable it is
needed. The result is minimal: without any one of its facts the pods would fit. A query
that comes back unknown (time limit) keeps its fact and marks the core as not proven
minimal.

Facts are tried for removal in a fixed order: pods to place first (so the core keeps
as few pods as possible), then rules late in kube-scheduler's filter order before early
ones (so where two rules both rule a node out, the one kube-scheduler would report stays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from time import monotonic

import z3

from .encoding import Encoding, Fact, label_of
from .result import join
from .rules import Rules, filter_rank
from .session import Outcome, Session


@dataclass(frozen=True, slots=True)
class Core:
    facts: tuple[Fact, ...]
    # False when a shrinking query ran out of time, so some fact may be superfluous.
    minimal: bool

    def rules(self) -> list[str]:
        """The scheduling rules in the core, in filter order (the placement request aside)."""
        found = {r for f in self.facts if f.kind != "placement" for r in (f.rule, *f.related)}
        return sorted(found, key=lambda r: (filter_rank(r), r))

    def pods(self) -> list[str]:
        return [f.pods[0] for f in self.facts if f.kind == "placement"]


def _removal_key(fact: Fact) -> tuple[int, int]:
    if fact.kind == "placement":
        return (0, 0)
    return (1, -filter_rank(fact.rule))


def minimal_core(enc: Encoding, *, budget_ms: int, seed: Sequence[str] | None = None) -> Core:
    """Shrink the facts of an unsatisfiable encoding to a minimal unsatisfiable subset.

    ``seed``: fact labels known to be unsatisfiable together; by default all facts are
    checked first. Raises ValueError when the facts are not (known to be) unsatisfiable.
    """
    session = enc.session
    deadline = monotonic() + budget_ms / 1000
    if seed is None:
        outcome = session.check(enc.assumptions())
        if outcome is not Outcome.UNSAT:
            raise ValueError(f"the encoding is not unsatisfiable ({outcome.value})")
        current = [label_of(i) for i in session.unsat_core()]
    else:
        current = list(seed)
    order = sorted(current, key=lambda label: _removal_key(enc.facts[label]))
    ask = asking(session, enc.assumptions)
    labels, minimal = shrink(order, ask, budget_ms=max(0, int((deadline - monotonic()) * 1000)))
    return Core(tuple(enc.facts[label] for label in labels), minimal)


Ask = Callable[[list[str], int], tuple[Outcome, set[str]]]


def asking(session: Session, assumptions: Callable[[list[str]], list[z3.BoolRef]]) -> Ask:
    """:func:`shrink`'s question for a session whose facts are assumption literals."""

    def ask(trial: list[str], timeout_ms: int) -> tuple[Outcome, set[str]]:
        outcome = session.check(assumptions(trial), timeout_ms=timeout_ms)
        if outcome is not Outcome.UNSAT:
            return outcome, set()
        return outcome, {label_of(i) for i in session.unsat_core()}

    return ask


def shrink(
    ordered: Sequence[str], ask: Ask, *, budget_ms: int, kept: Iterable[str] = ()
) -> tuple[list[str], bool]:
    """A minimal unsatisfiable subset of the facts ``ordered`` (unsatisfiable together), by
    deletion in chunks: try dropping the next ``size`` undecided facts (first in the order
    first); unsatisfiable without them, they go (with whatever else the new core leaves
    out) and the chunk doubles; satisfiable, the chunk halves, and a single fact the answer
    depends on is kept for good. Large cores of which little is needed take a logarithmic
    number of checks; where everything is needed, about one check per fact, as plain
    deletion does. ``ask(trial, timeout_ms)`` answers for a subset, with its core when
    unsatisfiable; ``kept``: facts known to be needed, never dropped. Returns the facts kept
    and whether they are proven minimal (False when the budget ran out or a check was
    unknown)."""
    deadline = monotonic() + budget_ms / 1000
    current = list(ordered)
    needed = set(kept)
    minimal = True
    size = max(1, len(current) // 2)
    while True:
        undecided = [label for label in current if label not in needed]
        if not undecided:
            break
        remaining_ms = int((deadline - monotonic()) * 1000)
        if remaining_ms <= 0:
            minimal = False
            break
        size = min(size, len(undecided))
        dropped = set(undecided[:size])
        trial = [label for label in current if label not in dropped]
        outcome, core = ask(trial, remaining_ms)
        if outcome is Outcome.UNSAT:
            current = [label for label in trial if label in core]
            size *= 2
        elif size > 1:
            size //= 2
        else:
            needed.add(undecided[0])
            minimal = minimal and outcome is Outcome.SAT
    return current, minimal


# --- words ----------------------------------------------------------------------------------

_BINARY = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))


def quantity_text(resource: str, amount: int) -> str:
    """Scheduler units as a person would write them: 1500m cpu, 4Gi memory, 2 nvidia.com/gpu."""
    if resource == "cpu":
        number = str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"
    elif resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        number = str(amount)
        for suffix, size in _BINARY:
            if amount and amount % size == 0:
                number = f"{amount // size}{suffix}"
                break
    else:
        number = str(amount)
    return f"{number} {resource}"


def _verb(subjects: Sequence[str], one: str, many: str) -> str:
    return one if len(subjects) == 1 else many


def _rules_text(fact: Fact) -> str:
    return ", ".join((fact.rule, *fact.related))


def _exclusion_sentences(enc: Encoding, facts: Sequence[Fact]) -> list[str]:
    # (rule, detail) -> pod -> nodes; then pods with the same nodes share a sentence.
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    cited: dict[tuple[str, str], str] = {}
    for f in facts:
        groups.setdefault((f.rule, f.detail), {}).setdefault(f.pods[0], []).append(f.node)
        cited.setdefault((f.rule, f.detail), _rules_text(f))
    node_order = {n.name: i for i, n in enumerate(enc.nodes)}
    sentences = []
    for (rule, detail), per_pod in sorted(groups.items(), key=lambda g: filter_rank(g[0][0])):
        by_nodes: dict[tuple[str, ...], list[str]] = {}
        for pod, nodes in per_pod.items():
            key = tuple(sorted(set(nodes), key=lambda n: node_order.get(n, 0)))
            by_nodes.setdefault(key, []).append(pod)
        for excluded, pods in by_nodes.items():
            sentences.append(
                f"{join(pods)} cannot run on {join(excluded)}: {detail} ({cited[(rule, detail)]})."
            )
    return sentences


def _open_domains(enc: Encoding, core: Core, pods: Sequence[str], key: str) -> list[str]:
    """The values of ``key`` on the nodes that the core's exclusions leave to ``pods``."""
    excluded = {(f.pods[0], f.node) for f in core.facts if f.kind == "exclusion"}
    values = {
        n.node.labels[key]
        for p in pods
        for n in enc.nodes
        if key in n.node.labels and (p, n.name) not in excluded
    }
    return sorted(values)


def _domains_clause(key: str, values: Sequence[str], only: str = "only ") -> str:
    if not values:
        return f"no node left to them has the label {key}"
    if len(values) == 1:
        return f"the nodes left to them are all in {key} {values[0]}"
    return f"the nodes left to them span {only}{len(values)} {key} domains ({join(values)})"


def _shown(fact_pods: Sequence[str], core_pods: set[str]) -> list[str]:
    """The fact's pods that the core places (all of them if it places none)."""
    return [p for p in fact_pods if p in core_pods] or list(fact_pods)


def _anti_affinity_sentences(enc: Encoding, core: Core, facts: Sequence[Fact]) -> list[str]:
    core_pods = set(core.pods())
    out = []
    for f in facts:
        if f.others:
            owners = _shown([p for p in f.pods if p not in f.others], core_pods)
            targets = _shown(f.others, core_pods)
            shown = [*owners, *targets]
            verb = _verb(owners, "selects", "select")
            head = (
                f"the required anti-affinity of {join(owners)} on {f.key} ({f.detail}) {verb} "
                f"{join(targets)}, so they cannot share a {f.key} domain"
            )
            head = head[0].upper() + head[1:]
        else:
            shown = _shown(f.pods, core_pods)
            each = "both" if len(shown) == 2 else "all"
            head = (
                f"{join(shown)} {each} require anti-affinity on {f.key} against each other "
                f"({f.detail})"
            )
        values = _open_domains(enc, core, shown, f.key)
        tail = ""
        if values and (len(values) < len(shown) if not f.others else len(values) == 1):
            tail = f", and {_domains_clause(f.key, values)}"
        out.append(f"{head}{tail} ({_rules_text(f)}).")
    return out


def _affinity_sentences(facts: Sequence[Fact]) -> list[str]:
    groups: dict[tuple[str, str, tuple[str, ...]], list[Fact]] = {}
    for f in facts:
        groups.setdefault((f.detail, f.key, f.related), []).append(f)
    out = []
    for (detail, key, related), group in groups.items():
        pods = [f.pods[0] for f in group]
        keys = key.replace(",", " and ")
        each, its = ("may", "its") if len(pods) == 1 else ("may each", "their")
        text = (
            f"{join(pods)} {each} run only where a pod matching {its} required pod affinity "
            f"({detail}) runs or is placed in the same {keys} domain"
        )
        if Rules.AFFINITY_FIRST_POD in related:
            itself = "it matches its own terms" if len(pods) == 1 else "each matches them itself"
            text += (
                f"; {itself}, but the first-pod exception holds only while no other matching "
                "pod runs anywhere"
            )
        out.append(f"{text} ({_rules_text(group[0])}).")
    return out


def _spread_sentences(enc: Encoding, core: Core, facts: Sequence[Fact]) -> list[str]:
    core_pods = set(core.pods())
    out = []
    for f in facts:
        pods = _shown(f.pods, core_pods)
        if len(pods) == 1:
            text = f"{pods[0]} must keep its {f.key} spread ({f.detail})"
        else:
            text = f"{join(pods)} must each keep their {f.key} spread ({f.detail})"
        values = _open_domains(enc, core, pods, f.key)
        if values:
            text += f", and {_domains_clause(f.key, values, only='')}"
        out.append(f"{text} ({_rules_text(f)}).")
    return out


def _capacity_sentences(enc: Encoding, facts: Sequence[Fact], pods: Sequence[str]) -> list[str]:
    by_resource: dict[tuple[str, str], list[Fact]] = {}
    for f in facts:
        by_resource.setdefault((f.rule, f.resource), []).append(f)
    sentences = []
    for (rule, resource), group in by_resource.items():
        nodes = [f.node for f in group]
        free = [max(f.amount, 0) for f in group]
        total_free = sum(free)
        if len(group) == 1:
            where = f"{nodes[0]} has {quantity_text(resource, total_free)} free"
        else:
            pieces = ", ".join(quantity_text(resource, a).split(" ")[0] for a in free)
            where = (
                f"{join(nodes)} have {quantity_text(resource, total_free)} free between them "
                f"({pieces})"
            )
        askers = [p for p in pods if enc.pod(p).requests.get(resource, 0) > 0]
        asked = [enc.pod(p).requests[resource] for p in askers]
        if not askers:
            sentences.append(f"{where} ({rule}).")
            continue
        if len(askers) == 1:
            need = f"{askers[0]} requests {quantity_text(resource, asked[0])}"
        elif len(set(asked)) == 1:
            need = (
                f"{join(askers)} request {quantity_text(resource, asked[0])} each, "
                f"{quantity_text(resource, sum(asked))} together"
            )
        else:
            need = f"{join(askers)} request {quantity_text(resource, sum(asked))} together"
        if sum(asked) > total_free:
            tail = ""
        elif len(askers) == 1:
            tail = ", more than any one of them has free"
        else:
            tail = "; the requests do not pack into those pieces"
        sentences.append(f"{where}, and {need}{tail} ({rule}).")
    return sentences


def _slot_sentences(facts: Sequence[Fact], pods: Sequence[str]) -> list[str]:
    if not facts:
        return []
    rule = facts[0].rule
    nodes = [f.node for f in facts]
    free = sum(max(f.amount, 0) for f in facts)
    room = f"room for {free} more pod{'s' if free != 1 else ''}"
    verb = _verb(nodes, "has", "have")
    between = "" if len(nodes) == 1 else " between them"
    if not pods:
        return [f"{join(nodes)} {verb} {room}{between} ({rule})."]
    need = f"{pods[0]} needs one" if len(pods) == 1 else f"{len(pods)} pods need one each"
    return [f"{join(nodes)} {verb} {room}{between}, and {need} ({rule})."]


def _port_sentences(facts: Sequence[Fact]) -> list[str]:
    return [
        f"{join(f.pods)} both want host port {f.detail}, so they cannot share a node ({f.rule})."
        for f in facts
    ]


def sentences(enc: Encoding, core: Core) -> list[str]:
    """The core in words: one sentence per reason, then the conclusion."""
    pods = [p.key for p in enc.pods if p.key in set(core.pods())]
    by_kind: dict[str, list[Fact]] = {}
    for f in core.facts:
        by_kind.setdefault(f.kind, []).append(f)
    out: list[str] = []
    if not enc.nodes:
        out.append("The cluster has no nodes.")
    out += _exclusion_sentences(enc, by_kind.get("exclusion", []))
    out += _port_sentences(by_kind.get("port-pair", []))
    out += _slot_sentences(by_kind.get("pod-count", []), pods)
    out += _capacity_sentences(enc, by_kind.get("capacity", []), pods)
    out += _spread_sentences(enc, core, by_kind.get("spread", []))
    out += _affinity_sentences(by_kind.get("affinity", []))
    out += _anti_affinity_sentences(enc, core, by_kind.get("anti-affinity", []))
    if len(pods) == 1:
        out.append(f"So {pods[0]} fits on no node.")
    elif len(pods) == 2:
        out.append(f"So {join(pods)} cannot both be placed.")
    elif pods:
        out.append(f"So {join(pods)} cannot all be placed together.")
    if not core.minimal:
        out.append("(The solver ran out of time while shrinking; some reasons may be redundant.)")
    return out


def explain(enc: Encoding, *, budget_ms: int) -> tuple[Core, list[str]]:
    core = minimal_core(enc, budget_ms=budget_ms)
    return core, sentences(enc, core)


__all__ = ["Core", "Rules", "explain", "minimal_core", "quantity_text", "sentences"]

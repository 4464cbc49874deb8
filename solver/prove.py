"""Proofs over every pod: a claim (:mod:`podfit.solver.claims`) checked against a cluster.

The question "does every pod that satisfies the premise satisfy the conclusion?" is
turned around: Z3 looks for one *symbolic pod* that satisfies the premise and breaks the
conclusion. None exists → the claim holds; one exists → it is turned into a concrete Pod,
the counterexample. Z3 running out of time is "unknown", never a verdict.

The symbolic pod has exactly the parts the default profile's filters read, each ranging
over a finite vocabulary taken from the cluster and the claim plus one *fresh* value
that nothing in them names (docs/claims.md argues why this loses nothing):

* ``namespace``: an index into the namespaces the cluster and the claim name, plus fresh;
* ``labels``: per label key some selector mentions, present or not, and a value index;
* tolerations: one Bool per distinct taint (key, value, effect) that a filter can look at
  (NoSchedule and NoExecute taints of nodes, the cordon taint, the claim's taints): "the
  pod tolerates it". Any subset is reachable with one ``Equal`` toleration per taint;
* ``nodeSelector``: per node label key (and a fresh key), present or not, and a value index;
* required node affinity: on or off, and per node whether it admits the node (any subset
  of nodes is reachable with ``matchFields metadata.name In`` terms);
* requests: a non-negative integer per resource in the scheduler's units, for the
  resources nodes report or pods request, the claim's, and a fresh extended resource.

It has no spec.nodeName, host ports, pod (anti-)affinity or topology spread constraints of
its own and uses the default scheduler: that is the shape of pod a claim speaks about.
The cluster side is concrete: node labels, taints, free resources, pod slots, and the
running pods' required anti-affinity terms that may select the pod.

Written from ``podfit.spec`` (rules cited inline), independently of ``podfit.reference``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import z3

from podfit.cluster import Cluster
from podfit.defaults import default_pod
from podfit.errors import PodfitError
from podfit.manifest import to_manifest
from podfit.model import (
    NAMESPACE_NAME_LABEL,
    Affinity,
    Container,
    LabelSelector,
    NodeAffinity,
    NodeSelector,
    NodeSelectorTerm,
    Pod,
    Requirement,
    ResourceRequirements,
    Taint,
    Toleration,
    frozen_map,
    frozen_resources,
)
from podfit.quantity import Format, Quantity
from podfit.validation import overcommit_allowed

from .claims import Claim, Premise, selector_matches, valid_namespace
from .labels import term_verdict
from .session import Outcome, Session
from .state import (
    CORDON_TAINT,
    NodeState,
    is_scheduler_resource,
    node_states,
    pod_requests,
    tolerated,
)

ProveStatus = Literal["holds", "refuted", "unknown"]

FILTER_EFFECTS = ("NoSchedule", "NoExecute")  # taints.filter.untolerated-noschedule, no-execute
IMAGE = "registry.k8s.io/pause:3.10"
COUNTEREXAMPLE_NAME = "counterexample"
# Above this many nodes, shrinking does not try to drop admitted nodes one by one.
SHRINK_NODES_LIMIT = 200


class ProofDisagreement(PodfitError):
    """The solver's counterexample is not confirmed by the reference: a podfit bug."""


@dataclass(frozen=True)
class ProveResult:
    """The answer to one claim.

    ``counterexample`` is the pod that breaks the claim (refuted only); ``node`` the node
    it can land on against the claim (cannotLandOn, landsOnlyOn); ``feasible`` the nodes
    it can land on, as the reference filters them (the solver's own are ``solver_feasible``);
    ``explanation`` says what was found, ``notes`` what the reader should know (a premise
    no pod satisfies, a predicate no node matches)."""

    claim: Claim
    status: ProveStatus
    explanation: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counterexample: Pod | None = None
    node: str | None = None
    feasible: list[str] = field(default_factory=list)
    solver_feasible: list[str] = field(default_factory=list)
    confirmed: bool = False

    @property
    def holds(self) -> bool:
        return self.status == "holds"

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim.name,
            "statement": self.claim.text(),
            "description": self.claim.description,
            "status": self.status,
            "explanation": list(self.explanation),
            "notes": list(self.notes),
            "node": self.node,
            "feasible": list(self.feasible),
            "confirmedByReference": self.confirmed,
            "counterexample": to_manifest(self.counterexample)
            if self.counterexample is not None
            else None,
        }


# --- vocabularies -----------------------------------------------------------------------------


def _fresh(base: str, taken: Iterable[str]) -> str:
    """A name like ``base`` that is not in ``taken`` (a value nothing else names)."""
    used = set(taken)
    if base not in used:
        return base
    i = 2
    while f"{base}-{i}" in used:
        i += 1
    return f"{base}-{i}"


def _plain(taint: Taint) -> Taint:
    """A taint as filters compare it: key, value and effect (timeAdded dropped)."""
    return Taint(key=taint.key, value=taint.value, effect=taint.effect)


@dataclass(frozen=True, slots=True)
class AntiTerm:
    """A running pod's required anti-affinity term that may select the incoming pod
    (inter-pod-affinity.filter.existing-anti-affinity): nodes whose label ``key`` has
    ``value`` (the running pod's node's) fail when the term selects the pod."""

    owner: str
    key: str
    value: str
    selector: LabelSelector
    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None


def _merged_selector(
    selector: LabelSelector, owner: Pod, match: Sequence[str], mismatch: Sequence[str]
) -> LabelSelector:
    """matchLabelKeys / mismatchLabelKeys merged as the API server does at creation, with the
    owner's values, for keys the owner has (inter-pod-affinity.filter.required-anti-affinity)."""
    extra = [Requirement(k, "In", (owner.labels[k],)) for k in match if k in owner.labels]
    extra += [Requirement(k, "NotIn", (owner.labels[k],)) for k in mismatch if k in owner.labels]
    if not extra:
        return selector
    return LabelSelector(selector.match_labels, (*selector.match_expressions, *extra))


def anti_terms(cluster: Cluster) -> list[AntiTerm]:
    """Required anti-affinity terms of running pods, each on its node's topology pair.

    Terminal pods hold nothing; terminating ones still do
    (inter-pod-affinity.filter.terminating-and-finished-pods). A term without labelSelector
    selects no pod (inter-pod-affinity.filter.label-selector-nil-and-empty); one whose key
    the owner's node lacks counts nothing.
    """
    out = []
    for pod in cluster.bound_pods():
        anti = pod.affinity.pod_anti_affinity if pod.affinity is not None else None
        if pod.is_terminal or anti is None or not anti.required:
            continue
        node = cluster.nodes.get(pod.node_name)
        if node is None:
            continue
        for term in anti.required:
            if term.label_selector is None or term.topology_key not in node.labels:
                continue
            namespaces = frozenset(term.namespaces)
            if not namespaces and term.namespace_selector is None:
                # inter-pod-affinity.filter.namespaces: the owner's own namespace.
                namespaces = frozenset({pod.namespace})
            out.append(
                AntiTerm(
                    owner=pod.key,
                    key=term.topology_key,
                    value=node.labels[term.topology_key],
                    selector=_merged_selector(
                        term.label_selector, pod, term.match_label_keys, term.mismatch_label_keys
                    ),
                    namespaces=namespaces,
                    namespace_selector=term.namespace_selector,
                )
            )
    return out


def _selector_words(selector: LabelSelector) -> Iterable[tuple[str, tuple[str, ...]]]:
    for key, value in selector.match_labels.items():
        yield key, (value,)
    for req in selector.match_expressions:
        yield req.key, req.values


class Vocabulary:
    """The finite values each part of the symbolic pod ranges over; the last value of
    every list is the fresh one."""

    def __init__(self, cluster: Cluster, claim: Claim, states: Sequence[NodeState]) -> None:
        premise = claim.premise
        self.terms = anti_terms(cluster)

        # Namespaces: every name the cluster or the claim mentions, then a fresh one.
        # A name that cannot be a namespace's (say a label value "Prod_1" in a selector)
        # is no pod's namespace either, so it is left out.
        names = {"default", *cluster.namespaces, *(p.namespace for p in cluster.pods.values())}
        for t in self.terms:
            names |= t.namespaces
            if t.namespace_selector is not None:
                for key, values in _selector_words(t.namespace_selector):
                    if key == NAMESPACE_NAME_LABEL:
                        names.update(values)
        names.update(premise.namespaces_in or ())
        names.update(premise.namespaces_not_in)
        ordered = sorted(n for n in names if valid_namespace(n))
        self.namespaces = [*ordered, _fresh("podfit-other", ordered)]
        self.namespace_labels = [cluster.namespace_labels(n) for n in self.namespaces]

        # Pod labels: keys and values the anti-affinity selectors and the premise mention.
        pod_words: dict[str, set[str]] = {}
        selectors = [t.selector for t in self.terms]
        if premise.label_selector is not None:
            selectors.append(premise.label_selector)
        for selector in selectors:
            for key, values in _selector_words(selector):
                pod_words.setdefault(key, set()).update(values)
        self.pod_labels = {
            k: [*sorted(v), _fresh("podfit-other", v)] for k, v in sorted(pod_words.items())
        }

        # Taints a filter looks at, and the claim's.
        taints: dict[Taint, None] = {}
        for s in states:
            if s.node.unschedulable:
                taints[CORDON_TAINT] = None  # node-unschedulable.filter.cordoned
            for taint in s.node.taints:
                if taint.effect in FILTER_EFFECTS:
                    taints[_plain(taint)] = None
        for taint in premise.taints():
            taints[_plain(taint)] = None
        self.taints = list(taints)

        # nodeSelector: node label keys and values, the claim's, then a fresh key.
        node_words: dict[str, set[str]] = {}
        for s in states:
            for k, v in s.node.labels.items():
                node_words.setdefault(k, set()).add(v)
        for k, v in premise.node_selector_has.items():
            node_words.setdefault(k, set()).add(v)
        for k in premise.node_selector_lacks:
            node_words.setdefault(k, set())
        fresh_key = _fresh("podfit.dev/other", node_words)
        node_words[fresh_key] = set()
        self.fresh_node_key = fresh_key
        self.node_labels = {
            k: [*sorted(v), _fresh("podfit-other", v)] for k, v in sorted(node_words.items())
        }
        self.node_label_index = {
            k: {value: i for i, value in enumerate(values)}
            for k, values in self.node_labels.items()
        }

        # Resources: what nodes report or pods request, the claim's, a fresh extended one.
        resources: set[str] = {b.resource for b in premise.requests}
        for s in states:
            resources.update(s.allocatable)
            resources.update(s.requested)
        resources = {r for r in resources if is_scheduler_resource(r)}
        self.fresh_resource = _fresh("podfit.dev/other-resource", resources)
        self.resources = [*sorted(resources), self.fresh_resource]


# --- the symbolic pod -------------------------------------------------------------------------


class SymbolicPod:
    """Z3 variables for one pod of the symbolic shape, and the filters as formulas."""

    def __init__(self, session: Session, vocab: Vocabulary, states: Sequence[NodeState]) -> None:
        ctx = session.ctx
        self.session = session
        self.vocab = vocab
        self.states = list(states)
        self.ns = z3.Int("namespace", ctx)
        self.label_has = {k: z3.Bool(f"label[{k}]", ctx) for k in vocab.pod_labels}
        self.label_val = {k: z3.Int(f"label[{k}].value", ctx) for k in vocab.pod_labels}
        self.tol = [z3.Bool(f"tolerates[{t}]", ctx) for t in vocab.taints]
        self.sel_has = {k: z3.Bool(f"nodeSelector[{k}]", ctx) for k in vocab.node_labels}
        self.sel_val = {k: z3.Int(f"nodeSelector[{k}].value", ctx) for k in vocab.node_labels}
        self.affinity = z3.Bool("requiredNodeAffinity", ctx)
        self.admits = {s.name: z3.Bool(f"affinity-admits[{s.name}]", ctx) for s in states}
        self.req = {r: z3.Int(f"requests[{r}]", ctx) for r in vocab.resources}
        self.fits = {s.name: z3.Bool(f"fits[{s.name}]", ctx) for s in states}
        self._taint_index = {t: i for i, t in enumerate(vocab.taints)}
        self._cache: dict[tuple[str, str | int | None], z3.BoolRef] = {}

    # --- helpers --------------------------------------------------------------------------

    def _true(self) -> z3.BoolRef:
        return self.session.true()

    def _false(self) -> z3.BoolRef:
        return self.session.false()

    def _iv(self, value: int) -> z3.ArithRef:
        return self.session.int_val(value)

    def tolerates(self, taint: Taint) -> z3.BoolRef:
        return self.tol[self._taint_index[_plain(taint)]]

    def _label_is(self, key: str, value: str) -> z3.BoolRef:
        values = self.vocab.pod_labels[key]
        return z3.And(self.label_has[key], self.label_val[key] == self._iv(values.index(value)))

    def selects(self, selector: LabelSelector) -> z3.BoolRef:
        """A label selector over the pod's labels (selectors.requirement.operators)."""
        parts = [self._label_is(k, v) for k, v in selector.match_labels.items()]
        for req in selector.match_expressions:
            has = self.label_has[req.key]
            if req.operator == "Exists":
                parts.append(has)
            elif req.operator == "DoesNotExist":
                parts.append(z3.Not(has))
            else:
                any_of = z3.Or([self._label_is(req.key, v) for v in req.values])
                parts.append(any_of if req.operator == "In" else z3.Not(any_of))
        return z3.And(parts) if parts else self._true()

    def in_namespaces(self, names: Iterable[str]) -> z3.BoolRef:
        chosen = set(names)
        options = [
            self.ns == self._iv(i) for i, n in enumerate(self.vocab.namespaces) if n in chosen
        ]
        return z3.Or(options) if options else self._false()

    # --- the pod's shape ------------------------------------------------------------------

    def domains(self) -> list[z3.BoolRef]:
        """Every variable within its vocabulary."""
        v = self.vocab
        out = [self.ns >= self._iv(0), self.ns < self._iv(len(v.namespaces))]
        for k, values in v.pod_labels.items():
            out += [self.label_val[k] >= self._iv(0), self.label_val[k] < self._iv(len(values))]
        for k, values in v.node_labels.items():
            out += [self.sel_val[k] >= self._iv(0), self.sel_val[k] < self._iv(len(values))]
        out += [r >= self._iv(0) for r in self.req.values()]
        return out

    # --- the filters ----------------------------------------------------------------------

    def _anti_blocks(self) -> dict[str, list[z3.BoolRef]]:
        """Per node, the conditions under which a running pod's anti-affinity rejects the pod."""
        per_node: dict[str, list[z3.BoolRef]] = {}
        v = self.vocab
        for term in v.terms:
            covered = set(term.namespaces)
            if term.namespace_selector is not None:
                # inter-pod-affinity.filter.namespaces: namespaceSelector over namespace labels.
                covered |= {
                    n
                    for n, labels in zip(v.namespaces, v.namespace_labels, strict=True)
                    if selector_matches(term.namespace_selector, labels)
                }
            match = z3.And(self.in_namespaces(covered), self.selects(term.selector))
            for s in self.states:
                if s.node.labels.get(term.key) == term.value:
                    per_node.setdefault(s.name, []).append(match)
        return per_node

    def _selector_passes(self, key: str, value: str | None) -> z3.BoolRef:
        """The nodeSelector entry for ``key`` (if any) accepts a node whose label is ``value``
        (None: no such label). Shared by every node with that label value."""
        cached = self._cache.get((key, value))
        if cached is None:
            has = self.sel_has[key]
            if value is None:
                cached = z3.Not(has)
            else:
                index = self.vocab.node_label_index[key][value]
                cached = z3.Implies(has, self.sel_val[key] == self._iv(index))
            self._cache[(key, value)] = cached
        return cached

    def _request_fits(self, resource: str, free: int) -> z3.BoolRef:
        """Nothing requested, or no more than ``free``; shared by nodes with as much free."""
        cached = self._cache.get((resource, free))
        if cached is None:
            amount = self.req[resource]
            cached = z3.Or(amount == self._iv(0), amount <= self._iv(free))
            self._cache[(resource, free)] = cached
        return cached

    def fits_formula(self, s: NodeState, blocks: Sequence[z3.BoolRef]) -> z3.BoolRef:
        """The pod passes every filter of the default profile on node ``s``."""
        node = s.node
        parts: list[z3.BoolRef] = []
        # NodeUnschedulable (node-unschedulable.filter.cordoned).
        if node.unschedulable:
            parts.append(self.tolerates(CORDON_TAINT))
        # NodeName: the symbolic pod has no spec.nodeName (node-affinity.filter.node-name).
        # TaintToleration (taints.filter.untolerated-noschedule, no-execute, prefer-no-schedule).
        parts += [self.tolerates(t) for t in node.taints if t.effect in FILTER_EFFECTS]
        # NodeAffinity: nodeSelector (node-affinity.filter.node-selector) and required terms.
        parts += [self._selector_passes(key, node.labels.get(key)) for key in self.sel_has]
        parts.append(z3.Implies(self.affinity, self.admits[s.name]))
        # NodePorts: the symbolic pod has no host ports.
        # NodeResourcesFit (resources.filter.too-many-pods, insufficient, no-requests,
        # extended-resources, hugepages).
        if s.pod_count + 1 > s.allowed_pods:
            parts.append(self._false())
        parts += [self._request_fits(r, s.free(r)) for r in self.req]
        # PodTopologySpread: no constraints of its own; the system defaults are ScheduleAnyway.
        # InterPodAffinity: running pods' anti-affinity (existing-anti-affinity).
        parts += [z3.Not(b) for b in blocks]
        return z3.And(parts)

    def define_fits(self) -> list[z3.BoolRef]:
        blocks = self._anti_blocks()
        return [
            self.fits[s.name] == self.fits_formula(s, blocks.get(s.name, [])) for s in self.states
        ]

    # --- the premise ----------------------------------------------------------------------

    def premise(self, p: Premise) -> list[z3.BoolRef]:
        out: list[z3.BoolRef] = []
        if p.namespaces_in is not None:
            out.append(self.in_namespaces(p.namespaces_in))
        if p.namespaces_not_in:
            out.append(z3.Not(self.in_namespaces(p.namespaces_not_in)))
        if p.label_selector is not None:
            out.append(self.selects(p.label_selector))
        out += [self.tolerates(t) for t in p.tolerates]
        out += [z3.Not(self.tolerates(t)) for t in p.does_not_tolerate]
        if p.no_tolerations:
            out += [z3.Not(t) for t in self.tol]
        if p.no_node_selector:
            out += [z3.Not(h) for h in self.sel_has.values()]
        for key, value in p.node_selector_has.items():
            index = self.vocab.node_label_index[key][value]
            out.append(z3.And(self.sel_has[key], self.sel_val[key] == self._iv(index)))
        out += [z3.Not(self.sel_has[k]) for k in p.node_selector_lacks]
        if p.no_required_node_affinity:
            out.append(z3.Not(self.affinity))
        for bound in p.requests:
            amount = self.req[bound.resource]
            if bound.at_least is not None:
                out.append(amount >= self._iv(bound.at_least))
            if bound.at_most is not None:
                out.append(amount <= self._iv(bound.at_most))
        if p.no_other_requests:
            listed = {b.resource for b in p.requests}
            out += [a == self._iv(0) for r, a in self.req.items() if r not in listed]
        return out

    # --- reading a model ------------------------------------------------------------------

    def concrete(self, model: z3.ModelRef, name: str) -> Pod:
        """The pod a model describes, as a manifest author would write it."""
        v = self.vocab

        def value(x: z3.ArithRef) -> int:
            return Session.int_value(model, x)

        def true(x: z3.BoolRef) -> bool:
            return Session.is_true(model, x)

        labels = {
            k: v.pod_labels[k][value(self.label_val[k])]
            for k, h in self.label_has.items()
            if true(h)
        }
        selector = {
            k: v.node_labels[k][value(self.sel_val[k])] for k, h in self.sel_has.items() if true(h)
        }
        tolerations = tuple(
            Toleration(key=t.key, operator="Equal", value=t.value, effect=t.effect)
            for t, x in zip(v.taints, self.tol, strict=True)
            if true(x)
        )
        affinity = None
        if true(self.affinity):
            admitted = [s.name for s in self.states if true(self.admits[s.name])]
            terms = tuple(
                NodeSelectorTerm(match_fields=(Requirement("metadata.name", "In", (n,)),))
                for n in admitted
            ) or (
                # Admits no node: a label no node carries (node-affinity.filter.required-terms).
                NodeSelectorTerm(match_expressions=(Requirement(v.fresh_node_key, "Exists"),)),
            )
            affinity = Affinity(node_affinity=NodeAffinity(required=NodeSelector(terms)))
        requests = {}
        for r, x in self.req.items():
            amount = value(x)
            if amount > 0:
                requests[r] = _quantity(r, amount)
        # Resources that cannot be overcommitted (extended ones) need a limit equal to the
        # request, or the API server refuses the pod.
        limits = {r: q for r, q in requests.items() if not overcommit_allowed(r)}
        container = Container(
            name="app",
            image=IMAGE,
            resources=ResourceRequirements(
                requests=frozen_resources(requests), limits=frozen_resources(limits)
            ),
        )
        return default_pod(
            Pod(
                name=name,
                namespace=v.namespaces[value(self.ns)],
                labels=frozen_map(labels),
                containers=(container,),
                node_selector=frozen_map(selector),
                affinity=affinity,
                tolerations=tolerations,
                # Left to priority admission, so the pod is valid whatever the default class.
                preemption_policy="",
            )
        )

    def feasible(self, model: z3.ModelRef) -> list[str]:
        return [s.name for s in self.states if Session.is_true(model, self.fits[s.name])]

    # --- the abstraction ------------------------------------------------------------------

    def pin(self, pod: Pod) -> list[z3.BoolRef]:
        """Constraints that make the symbolic pod the abstraction of ``pod`` (a pod of the
        symbolic shape): each value outside a vocabulary becomes the fresh one. The filters
        decide the same on every node for both; docs/claims.md argues it, the tests check it.
        """
        v, iv = self.vocab, self.session.int_val

        def index(values: Sequence[str], value: str) -> int:
            return values.index(value) if value in values[:-1] else len(values) - 1

        out = [self.ns == iv(index(v.namespaces, pod.namespace))]
        for key, values in v.pod_labels.items():
            has = key in pod.labels
            out.append(self.label_has[key] == z3.BoolVal(has, self.session.ctx))
            if has:
                out.append(self.label_val[key] == iv(index(values, pod.labels[key])))
        for taint, x in zip(v.taints, self.tol, strict=True):
            out.append(x == z3.BoolVal(tolerated(pod.tolerations, taint), self.session.ctx))
        unknown_key = False
        for key, value in pod.node_selector.items():
            if key in v.node_labels and key != v.fresh_node_key:
                out.append(self.sel_val[key] == iv(index(v.node_labels[key], value)))
            else:
                unknown_key = True
        for key, has in self.sel_has.items():
            present = key in pod.node_selector or (key == v.fresh_node_key and unknown_key)
            out.append(has == z3.BoolVal(present, self.session.ctx))
        node_affinity = pod.affinity.node_affinity if pod.affinity is not None else None
        required = node_affinity.required if node_affinity is not None else None
        out.append(self.affinity == z3.BoolVal(required is not None, self.session.ctx))
        for s in self.states:
            admits = required is not None and any(
                term_verdict(t, s.node) == "match" for t in required.terms
            )
            out.append(self.admits[s.name] == z3.BoolVal(admits, self.session.ctx))
        amounts = pod_requests(pod)
        outside = sum(n for r, n in amounts.items() if r not in self.req)
        for r, x in self.req.items():
            amount = outside if r == v.fresh_resource else amounts.get(r, 0)
            out.append(x == iv(amount))
        return out


def _quantity(resource: str, amount: int) -> Quantity:
    if resource == "cpu":
        return Quantity(Fraction(amount, 1000))
    if amount % 1024 == 0 and (
        resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-")
    ):
        return Quantity(Fraction(amount), Format.BINARY_SI)
    return Quantity(Fraction(amount))


# --- the question -----------------------------------------------------------------------------


def violated(claim: Claim, sym: SymbolicPod) -> z3.BoolRef:
    """The pod breaks the claim's conclusion."""
    c = claim.conclusion
    inside = [s.name for s in sym.states if c.nodes is None or c.nodes.matches(s.node)]
    outside = [s.name for s in sym.states if s.name not in inside]
    if c.kind == "cannotLandOn":
        return z3.Or([sym.fits[n] for n in inside]) if inside else sym.session.false()
    if c.kind == "landsOnlyOn":
        return z3.Or([sym.fits[n] for n in outside]) if outside else sym.session.false()
    return z3.And([z3.Not(sym.fits[n]) for n in inside]) if inside else sym.session.true()


class _Prover:
    def __init__(self, cluster: Cluster, claim: Claim, timeout_ms: int) -> None:
        self.cluster = cluster
        self.claim = claim
        self.session = Session(timeout_ms=timeout_ms)
        self.states = node_states(cluster)
        self.vocab = Vocabulary(cluster, claim, self.states)
        self.sym = SymbolicPod(self.session, self.vocab, self.states)
        self.session.add(*self.sym.domains(), *self.sym.define_fits())
        self.premise = self.session.var("premise")
        premise = self.sym.premise(claim.premise)
        # z3.And([]) would be built in Z3's main context, not this session's.
        self.session.add(
            z3.Implies(self.premise, z3.And(premise) if premise else self.session.true())
        )
        self.broken = self.session.var("conclusion-broken")
        self.session.add(z3.Implies(self.broken, violated(claim, self.sym)))
        self.fixed: list[z3.BoolRef] = []
        self.steps = 0

    def notes(self) -> list[str]:
        c = self.claim.conclusion
        out = []
        if c.nodes is not None:
            count = sum(1 for s in self.states if c.nodes.matches(s.node))
            if count == 0:
                out.append(f"No node of the cluster matches {c.kind} ({c.nodes.text()}).")
            unknown = [n for n in c.nodes.names if n not in self.cluster.nodes]
            if unknown:
                out.append(f"Names that are not nodes of the cluster: {', '.join(unknown)}.")
        return out

    def try_fix(self, constraint: z3.BoolRef) -> bool:
        """Keep ``constraint`` if a counterexample still exists with it (shrinking)."""
        self.steps += 1
        guard = self.session.var(f"shrink-{self.steps}")
        self.session.add(z3.Implies(guard, constraint))
        if self.session.check([self.premise, self.broken, *self.fixed, guard]) is Outcome.SAT:
            self.fixed.append(guard)
            return True
        return False

    def try_each(self, constraints: Sequence[z3.BoolRef]) -> None:
        """All at once if possible, else one by one."""
        if not constraints or self.try_fix(z3.And(constraints)):
            return
        for c in constraints:
            self.try_fix(c)

    def shrink(self) -> z3.ModelRef:
        """Toward a short manifest: no affinity, no nodeSelector, no tolerations, no labels,
        no requests, the default namespace. Each step keeps the claim broken."""
        sym, iv = self.sym, self.session.int_val
        self.try_fix(z3.Not(sym.affinity))
        self.try_each([z3.Not(h) for h in sym.sel_has.values()])
        self.try_each([z3.Not(t) for t in sym.tol])
        self.try_each([z3.Not(h) for h in sym.label_has.values()])
        self.try_each([a == iv(0) for a in sym.req.values()])
        if "default" in self.vocab.namespaces:
            self.try_fix(sym.ns == iv(self.vocab.namespaces.index("default")))
        if len(self.states) <= SHRINK_NODES_LIMIT:
            self.try_each([z3.Not(a) for a in sym.admits.values()])
        outcome = self.session.check([self.premise, self.broken, *self.fixed])
        if outcome is not Outcome.SAT:  # cannot happen unless Z3 times out now
            raise _Undecided
        return self.session.model()

    def run(self) -> ProveResult:
        claim, session = self.claim, self.session
        notes = self.notes()
        outcome = session.check([self.premise, self.broken])
        if outcome is Outcome.UNKNOWN:
            return self.unknown(notes)
        if outcome is Outcome.UNSAT:
            if session.check([self.premise]) is Outcome.UNSAT:
                notes.append("No pod satisfies forEveryPod: the claim holds vacuously.")
            return ProveResult(
                claim,
                "holds",
                explanation=[
                    f"Every pod {claim.premise_text()} {claim.conclusion.text()} "
                    f"on this cluster ({len(self.states)} nodes)."
                ],
                notes=notes,
            )
        first = session.model()
        try:
            model = self.shrink()
        except _Undecided:
            model = first
        pod = self.sym.concrete(
            model, counterexample_name(self.cluster, claim, self.vocab, model, self.sym)
        )
        return ProveResult(
            claim,
            "refuted",
            explanation=[f"Counterexample: Pod {pod.key}."],
            notes=notes,
            counterexample=pod,
            solver_feasible=self.sym.feasible(model),
        )

    def unknown(self, notes: list[str]) -> ProveResult:
        s = self.session
        return ProveResult(
            self.claim,
            "unknown",
            explanation=[
                f"Z3 could not decide the claim within {s.timeout_ms} ms "
                f"({s.reason_unknown or 'unknown'}); raise --timeout."
            ],
            notes=notes,
        )


class _Undecided(Exception):
    pass


def counterexample_name(
    cluster: Cluster, claim: Claim, vocab: Vocabulary, model: z3.ModelRef, sym: SymbolicPod
) -> str:
    """``<claim>-counterexample``, made unique in its namespace: the pod being scheduled is
    never one of the pods already there."""
    namespace = vocab.namespaces[Session.int_value(model, sym.ns)]
    taken = {p.name for p in cluster.pods.values() if p.namespace == namespace}
    base = f"{claim.name}-{COUNTEREXAMPLE_NAME}"
    if len(base) > 240:
        base = COUNTEREXAMPLE_NAME
    return _fresh(base, taken)


def prove(cluster: Cluster, claim: Claim, *, timeout_ms: int = 10000) -> ProveResult:
    """Holds, refuted (with a counterexample pod, not yet confirmed by the reference), or
    unknown when Z3 runs out of time."""
    return _Prover(cluster, claim, timeout_ms).run()


__all__ = [
    "ProofDisagreement",
    "ProveResult",
    "SymbolicPod",
    "Vocabulary",
    "anti_terms",
    "prove",
]

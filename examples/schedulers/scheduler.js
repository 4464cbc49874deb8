#!/usr/bin/env node
// A small first-fit scheduler speaking podfit's exec protocol (podfit/1), for
//   podfit conform --scheduler "exec:node examples/schedulers/scheduler.js"
//
// It places the pod on the first node (in the order podfit lists them) that passes:
//   - node-unschedulable: spec.unschedulable, unless the pod tolerates
//     node.kubernetes.io/unschedulable:NoSchedule
//   - taints: every NoSchedule/NoExecute taint tolerated (Equal/Exists tolerations)
//   - node-affinity: spec.nodeSelector and required node affinity
//   - resources: pod count, and requests (containers, init containers, sidecars,
//     overhead) against allocatable minus the requests of the pods already there
// It does not score: the first feasible node wins. Pod-level resources are not read.
// Everything it logs goes to stderr: stdout carries protocol lines only.

"use strict";

const readline = require("node:readline");

const PROTOCOL = "podfit/1";
const AREAS = ["node-unschedulable", "taints", "node-affinity", "resources"];

// --- quantities: exact, with BigInt rationals ------------------------------------------

const BINARY = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

function parseQuantity(text) {
  const m = QUANTITY.exec(String(text).trim());
  if (!m || (m[2] === "" && (m[3] === undefined || m[3] === ""))) {
    throw new Error(`bad quantity ${JSON.stringify(text)}`);
  }
  const fraction = m[3] || "";
  let num = BigInt((m[2] || "0") + fraction);
  let den = 10n ** BigInt(fraction.length);
  let exp10 = m[4] !== undefined ? Number(m[4]) : DECIMAL[m[5] || ""] ?? 0;
  if (m[5] && m[5] in BINARY) {
    num *= 2n ** BINARY[m[5]];
    exp10 = 0;
  }
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den *= 10n ** BigInt(-exp10);
  return { num: m[1] === "-" ? -num : num, den };
}

function ceilDiv(a, b) {
  return a >= 0n ? (a + b - 1n) / b : -(-a / b);
}

// The scheduler's units: cpu in millicores, everything else in whole units, rounded up.
function toUnits(resource, text) {
  const { num, den } = parseQuantity(text);
  return resource === "cpu" ? ceilDiv(num * 1000n, den) : ceilDiv(num, den);
}

// Resource names the scheduler accounts for; others (e.g. "foo") are ignored, as upstream.
function counted(name) {
  return (
    ["cpu", "memory", "ephemeral-storage"].includes(name) ||
    name.startsWith("hugepages-") ||
    name.startsWith("attachable-volumes-") ||
    name.includes("/")
  );
}

function addInto(total, more) {
  for (const [k, v] of Object.entries(more)) total[k] = (total[k] ?? 0n) + v;
  return total;
}

function maxInto(total, other) {
  for (const [k, v] of Object.entries(other)) if (v > (total[k] ?? 0n)) total[k] = v;
  return total;
}

function unitsOf(requests) {
  const out = {};
  for (const [name, value] of Object.entries(requests || {})) {
    if (counted(name)) out[name] = toUnits(name, value);
  }
  return out;
}

function requestsOf(container) {
  return unitsOf(container.resources && container.resources.requests);
}

// What a container of a pod already on a node holds: while an in-place resize is under
// way, the larger of its spec and its status (only the status once it is Infeasible).
function heldBy(pod, container, statuses) {
  const status = statuses[container.name];
  if (!status || !status.resources) return requestsOf(container);
  const infeasible = ((pod.status || {}).conditions || []).some(
    (c) => c.type === "PodResizePending" && c.reason === "Infeasible",
  );
  const out = infeasible ? {} : requestsOf(container);
  maxInto(out, unitsOf(status.resources.requests));
  return maxInto(out, unitsOf(status.allocatedResources));
}

// Effective request: app containers plus sidecars, or the largest init step, plus overhead.
// A pod already on a node (bound) holds what its resize status says.
function podRequests(pod, bound = false) {
  const spec = pod.spec || {};
  const status = pod.status || {};
  const statuses = {};
  for (const s of [...(status.containerStatuses || []), ...(status.initContainerStatuses || [])]) {
    statuses[s.name] = s;
  }
  const of = (c) => (bound ? heldBy(pod, c, statuses) : requestsOf(c));
  const sum = {};
  for (const c of spec.containers || []) addInto(sum, of(c));
  const sidecars = {};
  const initMax = {};
  for (const c of spec.initContainers || []) {
    const own = c.restartPolicy === "Always" ? of(c) : requestsOf(c);
    if (c.restartPolicy === "Always") {
      addInto(sum, own);
      addInto(sidecars, own);
      maxInto(initMax, sidecars);
    } else {
      maxInto(initMax, addInto({ ...own }, sidecars));
    }
  }
  maxInto(sum, initMax);
  const overhead = {};
  for (const [name, value] of Object.entries(spec.overhead || {})) {
    if (counted(name)) overhead[name] = toUnits(name, value);
  }
  return addInto(sum, overhead);
}

// --- the filters ------------------------------------------------------------------------

function tolerates(toleration, taint) {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  const operator = toleration.operator || "Equal";
  if (operator === "Exists") return true;
  if (operator === "Equal") return (toleration.value || "") === (taint.value || "");
  return false;
}

function tolerated(pod, taint) {
  return ((pod.spec || {}).tolerations || []).some((t) => tolerates(t, taint));
}

function matchesRequirement(requirement, value, present) {
  const values = requirement.values || [];
  switch (requirement.operator) {
    case "In":
      return present && values.includes(value);
    case "NotIn":
      return !present || !values.includes(value);
    case "Exists":
      return present;
    case "DoesNotExist":
      return !present;
    case "Gt":
    case "Lt": {
      if (!present || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const want = Number.parseInt(values[0], 10);
      if (Number.isNaN(have) || Number.isNaN(want)) return false;
      return requirement.operator === "Gt" ? have > want : have < want;
    }
    default:
      return false;
  }
}

function matchesTerm(term, node) {
  const expressions = term.matchExpressions || [];
  const fields = term.matchFields || [];
  if (expressions.length === 0 && fields.length === 0) return false; // an empty term matches nothing
  const labels = node.metadata.labels || {};
  for (const r of expressions) {
    if (!matchesRequirement(r, labels[r.key], Object.hasOwn(labels, r.key))) return false;
  }
  for (const r of fields) {
    if (r.key !== "metadata.name" || !matchesRequirement(r, node.metadata.name, true)) return false;
  }
  return true;
}

function matchesAffinity(pod, node) {
  const spec = pod.spec || {};
  const labels = node.metadata.labels || {};
  for (const [key, value] of Object.entries(spec.nodeSelector || {})) {
    if (labels[key] !== value) return false;
  }
  const required =
    spec.affinity &&
    spec.affinity.nodeAffinity &&
    spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return (required.nodeSelectorTerms || []).some((term) => matchesTerm(term, node));
}

function usedOn(node, pods) {
  const used = {};
  let count = 0;
  for (const p of pods) {
    const phase = (p.status || {}).phase;
    if ((p.spec || {}).nodeName !== node.metadata.name) continue;
    if (phase === "Succeeded" || phase === "Failed") continue;
    count += 1;
    addInto(used, podRequests(p, true));
  }
  return { used, count };
}

// Why the pod does not fit on the node: [] when it fits.
function reasonsAgainst(pod, node, pods) {
  const spec = node.spec || {};
  if (spec.unschedulable) {
    const taint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };
    if (!tolerated(pod, taint)) return ["node(s) were unschedulable"];
  }
  for (const taint of spec.taints || []) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (!tolerated(pod, taint)) return ["node(s) had untolerated taint(s)"];
  }
  if (!matchesAffinity(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  const allocatable = (node.status || {}).allocatable || {};
  const { used, count } = usedOn(node, pods);
  const reasons = [];
  const maxPods = allocatable.pods !== undefined ? toUnits("pods", allocatable.pods) : 0n;
  if (BigInt(count + 1) > maxPods) reasons.push("Too many pods");
  const wanted = podRequests(pod);
  for (const [name, amount] of Object.entries(wanted)) {
    if (amount <= 0n) continue;
    const capacity = allocatable[name] !== undefined ? toUnits(name, allocatable[name]) : 0n;
    const free = capacity - (used[name] ?? 0n);
    if (amount > free) reasons.push(`Insufficient ${name}`);
  }
  return reasons;
}

function decide(request) {
  const reasons = {};
  for (const node of request.nodes) {
    const against = reasonsAgainst(request.pod, node, request.pods);
    if (against.length === 0) return { id: request.id, node: node.metadata.name, reasons };
    reasons[node.metadata.name] = against;
  }
  return { id: request.id, node: null, reasons };
}

// --- the protocol -----------------------------------------------------------------------

function send(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

send({ protocol: PROTOCOL, areas: AREAS, name: "first-fit.js" });

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    console.error(`first-fit.js: ignoring a line that is not JSON: ${err.message}`);
    return;
  }
  try {
    send(decide(request));
  } catch (err) {
    console.error(`first-fit.js: request ${request.id}: ${err.stack}`);
    send({ id: request.id, error: String(err.message) });
  }
});
// When podfit closes stdin, readline closes and the process exits by itself.

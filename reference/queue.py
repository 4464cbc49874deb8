"""The scheduling queue: which pending pods are tried, and in what order.

Upstream: ``pkg/scheduler/framework/plugins/queuesort/priority_sort.go`` (PrioritySort:
higher priority first, then the earlier enqueue time) and
``pkg/scheduler/framework/plugins/schedulinggates`` (a pod with scheduling gates is
not enqueued until every gate is removed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from podfit.model import Pod

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Gated:
    pod: Pod

    @property
    def message(self) -> str:
        return f"waiting for scheduling gates: [{' '.join(self.pod.scheduling_gates)}]"


def queue_key(pod: Pod, arrival: int) -> tuple[int, datetime, int]:
    """PrioritySort's order: priority descending, then when the pod arrived.

    The enqueue time is approximated by the pod's creationTimestamp, then by its
    position in the input (pods without a timestamp arrive in input order).
    """
    return (-pod.effective_priority, pod.creation_timestamp or _EPOCH, arrival)


def order(pods: Iterable[Pod]) -> tuple[list[Pod], list[Gated]]:
    """The pods in the order kube-scheduler pops them, and the gated ones left waiting."""
    ready: list[tuple[tuple[int, datetime, int], Pod]] = []
    gated: list[Gated] = []
    for arrival, pod in enumerate(pods):
        if pod.scheduling_gates:
            gated.append(Gated(pod))
        else:
            ready.append((queue_key(pod, arrival), pod))
    ready.sort(key=lambda item: item[0])
    return [pod for _, pod in ready], gated

"""Plugin results, as kube-scheduler's framework.Status: a code, reasons and the plugin."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass


class Code(enum.Enum):
    SUCCESS = "Success"
    ERROR = "Error"
    # The pod does not fit, but preemption (evicting pods) might help.
    UNSCHEDULABLE = "Unschedulable"
    # The pod does not fit and preemption cannot help on this node.
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    # PreFilter/PreScore: the plugin has nothing to check for this pod.
    SKIP = "Skip"


@dataclass(frozen=True, slots=True)
class Status:
    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def is_success(self) -> bool:
        return self.code is Code.SUCCESS

    @property
    def is_rejection(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def with_plugin(self, plugin: str) -> Status:
        return Status(self.code, self.reasons, plugin)

    def to_dict(self) -> dict[str, object]:
        return {"plugin": self.plugin, "code": self.code.value, "reasons": list(self.reasons)}


SUCCESS = Status(Code.SUCCESS)
SKIP = Status(Code.SKIP)


# Shared instances: filters return the same few rejections for thousands of nodes.
@functools.lru_cache(maxsize=1024)
def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


@functools.lru_cache(maxsize=1024)
def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)

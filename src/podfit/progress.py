"""Progress for long commands: a live line with elapsed time on a terminal, nothing
otherwise (logs and pipes get only the result)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class Working:
    """``with Working("solving") as w: ... w.update(done, total)``.

    On a terminal (stderr) it shows a spinner, the description, a bar once a total is
    known, and the elapsed time; it disappears when the work ends. When stderr is not a
    terminal it does nothing at all.
    """

    def __init__(self, description: str, *, enabled: bool | None = None) -> None:
        self.description = description
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Working:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task(self.description, total=None)
            self._progress.start()
        return self

    def update(self, done: int, total: int | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

"""The one place that talks to Z3.

Everything the solver asks Z3 goes through :class:`Session`: it owns a private Z3
context, one ``Solver`` (or ``Optimize``), the time limit per query, and the last
answer. Z3 has three answers, not two: a query that times out or that Z3 gives up on
is :attr:`Outcome.UNKNOWN`, which callers must never read as "infeasible".
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import z3
from z3 import z3core

from podfit.errors import PodfitError


class Outcome(enum.Enum):
    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"


class Undecided(PodfitError):
    """Z3 could not decide a query within its time limit (or gave up for another reason)."""


class OutOfTime(PodfitError):
    """The time for the whole answer (:func:`deadline`) ran out while building a query."""


# The time by which the whole answer is due (time.monotonic()), or None. Every query's own
# limit is cut to what is left of it, and building terms stops once it has passed, so a
# command's --timeout bounds encoding, every query and the explanation together.
_deadline: ContextVar[float | None] = ContextVar("podfit_solver_deadline", default=None)
# Terms built between two looks at the clock (a look costs more than making a Bool).
_CLOCK_EVERY = 2048


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, everything asked of Z3 is due ``seconds`` from now (None: no
    limit); an earlier deadline already in force is kept."""
    if seconds is None:
        yield
        return
    at = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_ms() -> int | None:
    """Milliseconds left before the deadline (0 once past it), or None without one."""
    at = _deadline.get()
    if at is None:
        return None
    return max(0, int((at - time.monotonic()) * 1000))


def check_deadline() -> None:
    """Raise :class:`OutOfTime` when the deadline has passed (for long loops between
    queries)."""
    if remaining_ms() == 0:
        raise OutOfTime("the time limit ran out before the solver could answer")


# Z3's memory ceiling is process-wide (the global parameter memory_max_size, in MB);
# 0 means none. Past it, a query answers unknown ("out of memory"), never unsat.
_memory_limit_mb = 0


def set_memory_limit(megabytes: int | None) -> None:
    """Cap the memory Z3 may use for each query from now on (None or 0: no cap)."""
    global _memory_limit_mb
    if megabytes is not None and megabytes < 0:
        raise ValueError(f"the memory limit must be positive, got {megabytes} MB")
    _memory_limit_mb = megabytes or 0


class Session:
    """A Z3 context plus one Solver or Optimize, with a time limit per query.

    Constraints are added with :meth:`add`; :meth:`check` takes assumption literals
    (the indicator Bools of the constraint families) so an unsatisfiable answer comes
    with a core drawn from them.
    """

    def __init__(self, *, timeout_ms: int, optimize: bool = False) -> None:
        if timeout_ms <= 0:
            raise ValueError(f"timeout_ms must be positive, got {timeout_ms}")
        self.ctx = z3.Context()
        self.timeout_ms = timeout_ms
        self.optimize = optimize
        self._engine: Any = z3.Optimize(ctx=self.ctx) if optimize else z3.Solver(ctx=self.ctx)
        self._bool_sort = z3.BoolSort(self.ctx)  # kept: its reference keeps the AST alive
        self._last: Outcome | None = None
        self.reason_unknown = ""
        self.queries = 0
        self._built = 0

    # --- building terms ------------------------------------------------------------------

    def var(self, name: str) -> z3.BoolRef:
        """A fresh Bool in this session's context (straight through the C API: a batch
        makes one per (pod, node), and ``z3.Bool`` rebuilds the sort every time)."""
        self._tick()
        ref = self.ctx.ref()
        symbol = z3core.Z3_mk_string_symbol(ref, name)
        return z3.BoolRef(z3core.Z3_mk_const(ref, symbol, self._bool_sort.ast), self.ctx)

    def true(self) -> z3.BoolRef:
        return z3.BoolVal(True, self.ctx)

    def false(self) -> z3.BoolRef:
        return z3.BoolVal(False, self.ctx)

    def int_val(self, value: int) -> z3.ArithRef:
        return z3.IntVal(value, self.ctx)

    # Fast n-ary constructors: z3's Python wrappers check and coerce every argument, which
    # costs more than Z3 itself on batches with many pods; these take Bool literals of this
    # session's context as they are.

    def _asts(self, exprs: Sequence[z3.ExprRef]) -> Any:
        array = (z3.Ast * len(exprs))()
        for i, e in enumerate(exprs):
            array[i] = e.as_ast()
        return array

    def any_of(self, lits: Sequence[z3.BoolRef]) -> z3.BoolRef:
        """Or(lits); False for none, the literal itself for one."""
        if not lits:
            return self.false()
        if len(lits) == 1:
            return lits[0]
        return z3.BoolRef(z3core.Z3_mk_or(self.ctx.ref(), len(lits), self._asts(lits)), self.ctx)

    def all_of(self, lits: Sequence[z3.BoolRef]) -> z3.BoolRef:
        """And(lits); True for none, the literal itself for one."""
        if not lits:
            return self.true()
        if len(lits) == 1:
            return lits[0]
        return z3.BoolRef(z3core.Z3_mk_and(self.ctx.ref(), len(lits), self._asts(lits)), self.ctx)

    def at_most(self, lits: Sequence[z3.BoolRef], k: int) -> z3.BoolRef:
        asts = self._asts(lits)
        return z3.BoolRef(z3core.Z3_mk_atmost(self.ctx.ref(), len(lits), asts, k), self.ctx)

    def at_least(self, lits: Sequence[z3.BoolRef], k: int) -> z3.BoolRef:
        asts = self._asts(lits)
        return z3.BoolRef(z3core.Z3_mk_atleast(self.ctx.ref(), len(lits), asts, k), self.ctx)

    def pb_le(self, terms: Sequence[tuple[z3.BoolRef, int]], k: int) -> z3.BoolRef:
        """``sum(coefficient * literal) <= k``; coefficients and k must fit a C int."""
        coeffs = (ctypes.c_int * len(terms))(*(c for _, c in terms))
        asts = self._asts([lit for lit, _ in terms])
        return z3.BoolRef(z3core.Z3_mk_pble(self.ctx.ref(), len(terms), asts, coeffs, k), self.ctx)

    def add(self, *constraints: z3.BoolRef) -> None:
        self._tick()
        self._engine.add(*constraints)

    def _tick(self) -> None:
        """Look at the clock now and then while a query is being built."""
        self._built += 1
        if self._built % _CLOCK_EVERY == 0:
            check_deadline()

    # --- objectives (Optimize only) --------------------------------------------------------

    def maximize(self, expr: z3.ArithRef) -> None:
        self._require_optimize()
        self._engine.maximize(expr)

    def minimize(self, expr: z3.ArithRef) -> None:
        self._require_optimize()
        self._engine.minimize(expr)

    def _require_optimize(self) -> None:
        if not self.optimize:
            raise TypeError("objectives need a Session(optimize=True)")

    # --- queries ---------------------------------------------------------------------------

    def check(
        self, assumptions: Sequence[z3.BoolRef] = (), *, timeout_ms: int | None = None
    ) -> Outcome:
        """Decide the constraints under ``assumptions``; a timeout is UNKNOWN, never UNSAT."""
        limit = self.timeout_ms if timeout_ms is None else max(1, timeout_ms)
        left = remaining_ms()
        self.queries += 1
        self.reason_unknown = ""
        if left is not None:
            if left == 0:
                self._last = Outcome.UNKNOWN
                self.reason_unknown = "the time limit ran out"
                return self._last
            limit = min(limit, left)
        self._engine.set("timeout", limit)
        z3.set_param("memory_max_size", _memory_limit_mb)
        try:
            answer = self._engine.check(*assumptions)
        except z3.Z3Exception as exc:  # e.g. "canceled" when the timer fires mid-call
            self._last = Outcome.UNKNOWN
            value = exc.value
            self.reason_unknown = value.decode() if isinstance(value, bytes) else str(value)
            return self._last
        finally:
            z3.set_param("memory_max_size", 0)
        if answer == z3.sat:
            self._last = Outcome.SAT
        elif answer == z3.unsat:
            self._last = Outcome.UNSAT
        else:
            self._last = Outcome.UNKNOWN
            self.reason_unknown = str(self._engine.reason_unknown())
        return self._last

    def model(self) -> z3.ModelRef:
        """The model of the last SAT answer (for Optimize: the optimum)."""
        if self._last is not Outcome.SAT:
            raise RuntimeError(f"no model: the last answer was {self._last}")
        return self._engine.model()

    def best_model(self) -> z3.ModelRef | None:
        """After an UNKNOWN from Optimize: the best model found before the limit, if any."""
        try:
            model: z3.ModelRef = self._engine.model()
        except z3.Z3Exception:
            return None
        return model if len(model) else None

    def unsat_core(self) -> list[z3.BoolRef]:
        """The assumptions an UNSAT answer used (not necessarily minimal)."""
        if self._last is not Outcome.UNSAT:
            raise RuntimeError(f"no core: the last answer was {self._last}")
        return list(self._engine.unsat_core())

    @staticmethod
    def is_true(model: z3.ModelRef, expr: z3.BoolRef) -> bool:
        return bool(z3.is_true(model.eval(expr, model_completion=True)))

    @staticmethod
    def int_value(model: z3.ModelRef, expr: z3.ArithRef) -> int:
        value = model.eval(expr, model_completion=True)
        return int(value.as_long())

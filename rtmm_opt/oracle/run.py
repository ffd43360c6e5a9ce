"""One CP-SAT run, as every strategy of the oracle makes it: configure, solve, read the result.

The full solve (:mod:`rtmm_opt.oracle.solve`), the rolling horizon's windows
(:mod:`rtmm_opt.oracle.horizon`), the decomposition bound's groups
(:mod:`rtmm_opt.oracle.relaxation`) and the uxcost sweep's steps (:mod:`rtmm_opt.oracle.uxcost`)
each build an :class:`~rtmm_opt.oracle.model.OracleModel`, give it an objective
(:func:`rtmm_opt.oracle.terms.minimize`) and call :func:`run` with their share of the
:class:`SolverLimits`. :func:`read_result` turns a run into an honest :class:`OracleResult`
(docs/oracle.md, "Honesty rules"); :func:`incumbent_result` wraps a schedule that needs no
search.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from rtmm_opt.instance.instance import Instance
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.oracle.model import OracleModel, selection_applies
from rtmm_opt.oracle.objectives import Objective, evaluate
from rtmm_opt.oracle.terms import IntegerObjective, shortening_cannot_raise
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedule.validator import validate

# The full selection model closes its last gaps faster with an LB-tree search (docs/oracle.md:
# AR_Assistant on xrb4k-J, 4 seeds: 3.3-4.3 s against 6-23 s); ``params`` override it.
SELECTION_PARAMS: dict[str, Any] = {"optimize_with_lb_tree_search": True}
FREE_SHARE = 0.25  # of the time of a model restricted by contention, kept for its relaxation
BOUND_SCOPE = {  # what the bounds of a result under contention hold for (docs/oracle.md)
    "bound": "every schedule the engine can produce",
    "restricted_bound": "schedules without DRAM oversubscription (contention)",
    "solver_bound": "schedules without DRAM oversubscription (contention)",
}
STATUS_NAMES: dict[Any, str] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "model_invalid",
    cp_model.UNKNOWN: "unknown",
}


class WorkClock:
    """The deterministic time the solves of one oracle call have used so far: the clock of
    :class:`SolverLimits` in deterministic mode (:func:`run` advances it)."""

    def __init__(self) -> None:
        self.used = 0.0

    def __call__(self) -> float:
        return self.used

    def advance(self, amount: float) -> None:
        self.used += max(0.0, float(amount))


@dataclass(frozen=True)
class SolverLimits:
    """What the CP-SAT solvers of one oracle call may use.

    ``time_limit``: seconds (None: no limit); ``workers``: search workers (None: CP-SAT's
    default, all cores); ``seed``: the random seed; ``params``: further CP-SAT parameters
    (``SatParameters`` field → value), set on every solver.

    ``deterministic``: time is CP-SAT's *deterministic* time (its count of work, roughly
    seconds on a current core) instead of the wall clock, for every solver of the call and for
    the budget they share (:meth:`now` reads a :class:`WorkClock` that every solve advances by
    the work it did). With one worker, the same inputs and seed then give the same result on
    any machine and under any load (``rtmm solve --deterministic``); the wall time may differ
    from the limit, and work outside the solvers (building models) is not counted."""

    time_limit: float | None = 60.0
    workers: int | None = None
    seed: int = 0
    params: Mapping[str, Any] | None = None
    deterministic: bool = False
    clock: WorkClock | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.deterministic and self.clock is None:
            object.__setattr__(self, "clock", WorkClock())

    def now(self) -> float:
        """The time the budget counts: wall seconds, or in deterministic mode the work done."""
        return self.clock() if self.deterministic and self.clock is not None else (
            time.perf_counter()
        )  # fmt: skip

    def left(self, since: float, *, floor: float = 0.05) -> float | None:
        """What is left of the time limit after the time since ``since`` (a :meth:`now`),
        at least ``floor``; None without a limit."""
        if self.time_limit is None:
            return None
        return max(floor, float(self.time_limit) - (self.now() - since))

    def spent(self, since: float) -> bool:
        """Whether the time since ``since`` (a :meth:`now`) used the whole limit."""
        return self.time_limit is not None and self.now() - since >= float(self.time_limit)

    def with_time(self, time_limit: float | None) -> SolverLimits:
        """The same limits with another time limit."""
        return replace(self, time_limit=time_limit)

    def share(self, fraction: float) -> SolverLimits:
        """The same limits with ``fraction`` of the time limit (no limit stays no limit)."""
        if self.time_limit is None:
            return self
        return self.with_time(fraction * float(self.time_limit))

    def with_defaults(self, params: Mapping[str, Any]) -> SolverLimits:
        """The same limits with ``params`` added, where ``self.params`` does not set them."""
        return replace(self, params={**params, **(self.params or {})})

    def describe(self) -> dict[str, Any]:
        """The limits as the result's ``solver`` fields (``workers`` 0: CP-SAT's default)."""
        fields = {
            "time_limit_s": self.time_limit,
            "workers": int(self.workers) if self.workers else 0,
            "seed": self.seed,
            **dict(self.params or {}),
        }
        if self.deterministic:
            fields["deterministic"] = True
        return fields

    def configure(self, solver: cp_model.CpSolver) -> dict[str, Any]:
        """Set the limits on ``solver``; returns them as the result's ``solver`` fields."""
        parameters = solver.parameters
        if self.time_limit is not None and self.deterministic:
            parameters.max_deterministic_time = max(0.01, float(self.time_limit))
        elif self.time_limit is not None:
            parameters.max_time_in_seconds = max(0.01, float(self.time_limit))
        parameters.num_workers = int(self.workers) if self.workers else 0
        parameters.random_seed = int(self.seed)
        # No repair_hint: with it, OR-Tools 9.15 aborts the process ("Check failed:
        # heuristics.fixed_search != nullptr") on infeasible hints, e.g. a heuristic's schedule
        # in a rolling-horizon window whose earlier ops are fixed differently (docs/oracle.md).
        parameters.repair_hint = False
        for key, value in (self.params or {}).items():
            setattr(parameters, key, value)
        return self.describe()


UNLIMITED = SolverLimits(time_limit=None)  # no time limit, CP-SAT's default workers, seed 0


@dataclass(frozen=True)
class OracleResult:
    """The outcome of one oracle solve (:func:`rtmm_opt.oracle.solve.solve` says what each
    field promises)."""

    status: str
    objective: float | None
    bound: float | None
    schedule: Schedule | None
    wall_s: float
    objective_spec: str
    solver: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] | None = None

    @property
    def gap(self) -> float | None:
        """(objective − bound) / max(|objective|, 1e-9); 0 when proven optimal."""
        if self.objective is None or self.bound is None:
            return None
        if self.objective - self.bound <= 1e-9 * max(1.0, abs(self.objective)):
            return 0.0
        return (self.objective - self.bound) / max(abs(self.objective), 1e-9)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "wall_s": self.wall_s,
            "objective_spec": self.objective_spec,
            "solver": self.solver,
            "metrics": self.metrics,
        }


def choose_formulation(instance: Instance, objective: Objective, naive: bool = False) -> str:
    """``selection`` for the pure ``misses`` objective where it is exact, else ``direct``."""
    if not naive and objective.names == ("misses",) and selection_applies(instance):
        return "selection"
    return "direct"


def best_hint(
    instance: Instance, objective: Objective, hints: Sequence[Schedule]
) -> tuple[Schedule | None, float | None]:
    """The best of ``hints`` for ``objective`` and its value, each hint validated first
    (``(None, None)`` without hints)."""
    best, best_value = None, None
    for hint in hints:
        validate(instance, hint).raise_if_invalid()
        value = evaluate(instance, hint, objective)
        if best_value is None or value < best_value:
            best, best_value = hint, value
    return best, best_value


@dataclass(frozen=True)
class SolverRun:
    """One finished CP-SAT solve of a model: the solver, its status code and the parameters it
    ran with (:meth:`SolverLimits.configure`)."""

    solver: cp_model.CpSolver
    code: Any
    parameters: dict[str, Any]

    @property
    def status(self) -> str:
        return STATUS_NAMES.get(self.code, str(self.code))

    @property
    def found(self) -> bool:
        """Whether the solver has a solution."""
        return self.code in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    def bound(self, scale: float) -> float | None:
        """The solver's proven bound on the objective (its integer objective / ``scale``), or
        None when it found no solution."""
        return self.solver.best_objective_bound / scale if self.found else None


def run(om: OracleModel, limits: SolverLimits) -> SolverRun:
    """Solve ``om``'s model within ``limits``."""
    solver = cp_model.CpSolver()
    parameters = limits.configure(solver)
    code = solver.solve(om.model)
    if limits.deterministic and limits.clock is not None:
        limits.clock.advance(solver.deterministic_time)
    return SolverRun(solver, code, parameters)


Build = Callable[[Instance], tuple[OracleModel, IntegerObjective]]
"""Builds the model of an instance and sets its objective (:func:`solve_model` calls it for the
instance, and under contention for its contention-free relaxation)."""


def solve_model(
    instance: Instance, spec: Objective, build: Build, limits: SolverLimits, *,
    hint: Schedule | None, hint_value: float | None, started: float,
    steps: dict[str, Any] | None = None, relaxed_bound: float | None = None,
    archive: str | Path | None = None,
) -> OracleResult:  # fmt: skip
    """Build the model of ``instance``, warm-start it with ``hint`` (of value ``hint_value``),
    solve it within ``limits`` and read the result (:func:`read_result`). ``archive``: write the
    model there first. ``relaxed_bound``: a bound proven elsewhere for every schedule the engine
    can produce.

    Under ``settings.contention`` the model holds only schedules without DRAM
    oversubscription, so its bound holds for those only. When its incumbent is not proven by
    ``relaxed_bound``, the contention-free model (a relaxation, see
    :func:`~rtmm_opt.oracle.terms.shortening_cannot_raise`) is solved for the rest of the time,
    at least :data:`FREE_SHARE` of it, for a bound over every engine schedule."""
    clock = limits.now()
    om, integer = build(instance)
    if hint is not None:
        om.add_hint(hint)
    if archive is not None:
        om.model.export_to_file(str(archive))
    limits = limits.with_time(limits.left(clock))  # building took some of the time
    restricted = instance.settings.contention
    relaxable = restricted and shortening_cannot_raise(instance, spec)
    clock = limits.now()
    solved = run(om, _for_model(om, limits.share(1 - FREE_SHARE) if relaxable else limits))
    incumbent = pick_incumbent(instance, spec, om, solved, hint, hint_value)
    engine_bound = relaxed_bound
    if relaxable and not _meets(incumbent.value, engine_bound):
        free_instance = instance.with_settings(contention=False)
        free_om, free_objective = build(free_instance)
        if incumbent.schedule is not None and validate(free_instance, incumbent.schedule).ok:
            free_om.add_hint(incumbent.schedule)
        free = run(free_om, _for_model(free_om, limits.with_time(limits.left(clock))))
        free_bound = math.inf if free.code == cp_model.INFEASIBLE else free.bound(
            free_objective.scale
        )  # fmt: skip
        steps = {
            **(steps or {}),
            "contention_free": {"status": free.status, "bound": free_bound,
                                "wall_s": free.solver.wall_time},
        }  # fmt: skip
        engine_bound = _larger(engine_bound, free_bound)
    return read_result(
        instance, spec, solved, integer.scale, incumbent, started=started, steps=steps,
        relaxed_bound=relaxed_bound, restricted=restricted, engine_bound=engine_bound,
    )  # fmt: skip


def _for_model(om: OracleModel, limits: SolverLimits) -> SolverLimits:
    return limits.with_defaults(SELECTION_PARAMS) if om.selection else limits


def _meets(value: float | None, bound: float | None) -> bool:
    """Whether ``value`` is at most ``bound`` (so proven optimal by it), up to float noise."""
    if value is None or bound is None:
        return False
    return value - bound <= 1e-9 * max(1.0, abs(value))


def _larger(first: float | None, second: float | None) -> float | None:
    if first is None or second is None:
        return second if first is None else first
    return max(first, second)


@dataclass(frozen=True)
class Incumbent:
    """The best schedule of a solve and its objective; ``source``: ``solver``,
    ``hint:<producer>`` or ``none``."""

    schedule: Schedule | None
    value: float | None
    source: str


def pick_incumbent(
    instance: Instance, spec: Objective, om: OracleModel, solved: SolverRun,
    hint: Schedule | None, hint_value: float | None,
) -> Incumbent:  # fmt: skip
    """The solver's schedule of ``om`` (validated, scored by :func:`evaluate`) or ``hint`` if
    that is better."""
    schedule: Schedule | None = None
    value: float | None = None
    source = "none"
    if solved.found:
        schedule = om.extract(solved.solver)
        validate(instance, schedule).raise_if_invalid()
        value = evaluate(instance, schedule, spec)
        source = "solver"
    if hint is not None and hint_value is not None and (value is None or hint_value < value):
        schedule, value, source = hint, hint_value, f"hint:{hint.producer or 'schedule'}"
    return Incumbent(schedule, value, source)


def restricted_fields(restricted_bound: float | None) -> dict[str, Any]:
    """The ``solver`` fields of a result whose model was restricted by contention."""
    return {"restricted_bound": restricted_bound, "bound_scope": BOUND_SCOPE}


def read_result(
    instance: Instance, spec: Objective, solved: SolverRun, scale: float,
    incumbent: Incumbent, *, started: float, steps: dict[str, Any] | None = None,
    relaxed_bound: float | None = None, restricted: bool = False,
    engine_bound: float | None = None,
) -> OracleResult:  # fmt: skip
    """The OracleResult of a run whose integer objective has ``scale``.

    The model's bound is the larger of the solver's and ``relaxed_bound`` (a proven bound from
    elsewhere). Unless ``restricted``, it is the result's bound. A ``restricted`` model (under
    contention) holds only schedules without DRAM oversubscription: its bound is then reported
    as ``solver.restricted_bound``, and the result's bound is ``engine_bound``, the best bound
    known for every schedule the engine can produce; only that one proves optimality. The
    ``solver`` fields record the run, its parameters and ``steps`` (what the strategy did)."""
    value = incumbent.value
    model_bound = solved.bound(scale)
    if solved.code == cp_model.INFEASIBLE:
        model_bound = math.inf
    model_bound = _larger(model_bound, relaxed_bound)
    tolerance = 1e-9 * max(1.0, abs(value)) if value is not None else 0.0
    scope: dict[str, Any] = {}
    if restricted:
        bound = _larger(engine_bound, relaxed_bound)
        proven = _meets(value, bound)
        scope = restricted_fields(_larger(model_bound, bound))
    else:
        bound = model_bound
        capped = None if bound is None or value is None else min(bound, value)
        proven = (
            value is not None
            and capped is not None
            and value - capped <= tolerance
            and (solved.code == cp_model.OPTIMAL or (relaxed_bound is not None
                                                     and value <= relaxed_bound + tolerance))
        )  # fmt: skip
    if bound is not None and value is not None:
        bound = min(bound, value)
    solver_info = {
        "status": solved.status,
        "objective_scale": scale,
        "conflicts": solved.solver.num_conflicts,
        "branches": solved.solver.num_branches,
        "solver_bound": solved.bound(scale),
        **scope,
        **solved.parameters,
        **(steps or {}),
        "incumbent": incumbent.source,
    }
    if incumbent.schedule is None:
        if bound == math.inf:
            status = "infeasible"
        elif solved.code == cp_model.INFEASIBLE:
            status = "unknown"  # only the restricted model is infeasible
        else:
            status = solved.status
        return OracleResult(
            status=status, objective=None, bound=bound, schedule=None,
            wall_s=time.perf_counter() - started, objective_spec=str(spec),
            solver={"version": f"ortools {version('ortools')}", **solver_info}, metrics=None,
        )  # fmt: skip
    return incumbent_result(
        instance, spec, incumbent.schedule, value, bound, proven=proven,
        solver_status=solved.status, started=started, info=solver_info,
        producer="oracle" if incumbent.source == "solver" else incumbent.schedule.producer,
    )  # fmt: skip


def incumbent_result(
    instance: Instance, spec: Objective, schedule: Schedule, value: float | None,
    bound: float | None, *, proven: bool, solver_status: str, started: float,
    info: dict[str, Any], producer: str | None = None,
) -> OracleResult:  # fmt: skip
    """The OracleResult for ``schedule`` (validated, of objective ``value``): ``optimal`` if
    ``proven``, else ``feasible``; the bound is capped at the value, the metrics recomputed."""
    if bound is not None and value is not None:
        bound = min(bound, value)
    schedule = Schedule(
        op_accelerator=schedule.op_accelerator, op_start=schedule.op_start,
        op_end=schedule.op_end, job_status=schedule.job_status,
        job_variant=schedule.job_variant, job_drop_time=schedule.job_drop_time,
        producer=schedule.producer if producer is None else producer,
    )  # fmt: skip
    solver = {"version": f"ortools {version('ortools')}", **info, "status": solver_status}
    return OracleResult(
        status="optimal" if proven else "feasible", objective=value, bound=bound,
        schedule=schedule, wall_s=time.perf_counter() - started, objective_spec=str(spec),
        solver=solver, metrics=compute_metrics(instance, schedule).to_dict(),
    )  # fmt: skip

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from typing import Any

from ortools.sat.python import cp_model

from rtmm_opt.instance.instance import Instance
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.oracle.model import OracleModel, selection_applies
from rtmm_opt.oracle.objectives import Objective, evaluate
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedule.validator import validate

STATUS_NAMES: dict[Any, str] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "model_invalid",
    cp_model.UNKNOWN: "unknown",
}


@dataclass(frozen=True)
class SolverLimits:
    """What the CP-SAT solvers of one oracle call may use.

    ``time_limit``: seconds (None: no limit); ``workers``: search workers (None: CP-SAT's
    default, all cores); ``seed``: the random seed; ``params``: further CP-SAT parameters
    (``SatParameters`` field → value), set on every solver."""

    time_limit: float | None = 60.0
    workers: int | None = None
    seed: int = 0
    params: Mapping[str, Any] | None = None

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

    def configure(self, solver: cp_model.CpSolver) -> dict[str, Any]:
        """Set the limits on ``solver``; returns them as the result's ``solver`` fields."""
        parameters = solver.parameters
        if self.time_limit is not None:
            parameters.max_time_in_seconds = max(0.01, float(self.time_limit))
        parameters.num_workers = int(self.workers) if self.workers else 0
        parameters.random_seed = int(self.seed)
        # No repair_hint: with it, OR-Tools 9.15 aborts the process ("Check failed:
        # heuristics.fixed_search != nullptr") on infeasible hints, e.g. a heuristic's schedule
        # in a rolling-horizon window whose earlier ops are fixed differently (docs/oracle.md).
        parameters.repair_hint = False
        extra = dict(self.params or {})
        for key, value in extra.items():
            setattr(parameters, key, value)
        return {
            "time_limit_s": self.time_limit,
            "workers": parameters.num_workers,
            "seed": self.seed,
            **extra,
        }


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
    return SolverRun(solver, code, parameters)


def read_result(
    instance: Instance, spec: Objective, om: OracleModel, solved: SolverRun, scale: float, *,
    hint: Schedule | None, hint_value: float | None, started: float,
    steps: dict[str, Any] | None = None, relaxed_bound: float | None = None,
) -> OracleResult:  # fmt: skip
    """The OracleResult of a run of ``om`` whose integer objective has ``scale``.

    The incumbent is the solver's schedule (validated, scored by :func:`evaluate`) or ``hint``
    if that is better; the bound is the larger of the solver's and ``relaxed_bound`` (a proven
    bound from elsewhere). The ``solver`` fields record the run, its parameters and ``steps``
    (what the strategy did before it)."""
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
    bound = solved.bound(scale)
    if solved.code == cp_model.INFEASIBLE:
        bound = math.inf
    if relaxed_bound is not None:
        bound = relaxed_bound if bound is None else max(bound, relaxed_bound)
    if bound is not None and value is not None:
        bound = min(bound, value)
    tolerance = 1e-9 * max(1.0, abs(value)) if value is not None else 0.0
    proven = (
        value is not None
        and bound is not None
        and value - bound <= tolerance
        and (solved.code == cp_model.OPTIMAL or (relaxed_bound is not None
                                                 and value <= relaxed_bound + tolerance))
    )  # fmt: skip
    solver_info = {
        "status": solved.status,
        "objective_scale": scale,
        "conflicts": solved.solver.num_conflicts,
        "branches": solved.solver.num_branches,
        "solver_bound": solved.bound(scale),
        **solved.parameters,
        **(steps or {}),
        "incumbent": source,
    }
    if schedule is None:
        status = "infeasible" if solved.code == cp_model.INFEASIBLE else solved.status
        return OracleResult(
            status=status, objective=None, bound=bound, schedule=None,
            wall_s=time.perf_counter() - started, objective_spec=str(spec),
            solver={"version": f"ortools {version('ortools')}", **solver_info}, metrics=None,
        )  # fmt: skip
    return incumbent_result(
        instance, spec, schedule, value, bound, proven=proven, solver_status=solved.status,
        started=started, info=solver_info,
        producer="oracle" if source == "solver" else schedule.producer,
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

"""Solve an Instance offline with CP-SAT: ``solve(instance, objective, ...) -> OracleResult``.

Every result is honest (SPEC §5):

* ``status`` is ``optimal`` only when the solver proved optimality *and* the incumbent's
  objective, recomputed from its schedule, equals the proven bound. A stop at a time or gap
  limit is ``feasible``. With no schedule at all it is ``infeasible`` or ``unknown``;
* ``objective`` is :func:`~rtmm_opt.oracle.objectives.evaluate` on the incumbent Schedule, which
  has passed the validator;
* ``bound`` is a proven lower bound on the objective over every schedule the model admits.
  The solver's integer objective rounds weights down, so the bound stays valid;
* the incumbent is never worse than any hint: the hints warm-start the solver, and when the
  solver ends with something worse (or nothing), the best hint is the incumbent
  (``solver.incumbent`` says which).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from rtmm_opt.instance.instance import Instance
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.oracle.model import OracleModel
from rtmm_opt.oracle.objectives import Objective, evaluate, parse_objective
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedule.validator import validate

STATUS_NAMES: dict[Any, str] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "model_invalid",
    cp_model.UNKNOWN: "unknown",
}
INT_LIMIT = 2**62  # keep |coefficient × variable bound| summed well inside int64


@dataclass(frozen=True)
class OracleResult:
    """The outcome of one oracle solve (see the module docstring)."""

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


# -- the solver's integer objective -------------------------------------------------------------
def _objective_terms(om: OracleModel, objective: Objective) -> list[tuple[Any, float, float]]:
    """Per term: (integer linear expression, value of one expression unit, term weight)."""
    model, instance, v = om.model, om.instance, om.vars
    n_jobs = instance.n_jobs
    terms = []
    for name, weight in objective.terms:
        if name == "misses":
            weights = instance.job_weight.tolist()
            expr = sum(w * late for w, late in zip(weights, v.late, strict=True)) + sum(
                w * (1 - done) for w, done in zip(weights, v.completed, strict=True)
            )
            terms.append((expr, 1.0, weight))
        elif name == "tardiness":
            tardy = []
            for job in range(n_jobs):
                deadline = int(instance.job_deadline[job])
                t = model.new_int_var(0, max(0, om.horizon - deadline), f"tardiness[{job}]")
                model.add(t >= v.finish[job] - deadline)
                tardy.append(t)
            terms.append((sum(tardy), 1.0, weight))
        elif name == "energy":
            expr = sum(
                int(instance.op_energy[op, acc]) * literal
                for op, literals in v.runs.items()
                for acc, literal in literals.items()
            )
            context = instance.op_context
            for acc, op, other, literal in v.arcs:
                if context[op] != context[other]:
                    expr += int(instance.context_reload_energy[context[other], acc]) * literal
            terms.append((expr, 1.0, weight))
        elif name == "makespan":
            first = int(instance.job_release.min(initial=0))
            span = model.new_int_var(first, om.horizon, "makespan_end")
            for job in range(n_jobs):
                model.add(span >= v.finish[job]).only_enforce_if(v.completed[job])
            terms.append((span - first, 1.0, weight))
        elif name == "antt":
            terms.append(_antt_term(om, weight))
    return terms


def _antt_term(om: OracleModel, weight: float) -> tuple[Any, float, float]:
    """Σ_completed (C_j − R_j)/T_iso,j / N with integer weights floor(K / T_iso) ≤ K / T_iso."""
    model, instance, v = om.model, om.instance, om.vars
    n_jobs = max(1, instance.n_jobs)
    isolated = [
        [max(1, instance.isolated_latency(job, k)) for k in range(len(v.variant[job]))]
        for job in range(instance.n_jobs)
    ]
    smallest = min((t for row in isolated for t in row), default=1)
    scale = max(1, INT_LIMIT // (om.horizon * n_jobs) * smallest)
    expr: Any = 0
    for job in range(instance.n_jobs):
        release = int(instance.job_release[job])
        effective = model.new_int_var(release, om.horizon, f"effective_release[{job}]")
        model.add_max_equality(
            effective, [release, *(v.finish[int(up)] for up in instance.upstream_of(job))]
        )
        for k, chosen in enumerate(v.variant[job]):
            turnaround = model.new_int_var(0, om.horizon, f"turnaround[{job}][{k}]")
            model.add(turnaround >= v.finish[job] - effective).only_enforce_if(chosen)
            expr += (scale // isolated[job][k]) * turnaround
    return expr, 1.0 / (scale * n_jobs), weight


def _integer_objective(terms: list[tuple[Any, float, float]]) -> tuple[Any, float]:
    """Σ floor(a_i)·expr_i with a_i ≈ weight_i·unit_i·S, and S; value ≈ solver objective / S."""
    factors = [unit * weight for _, unit, weight in terms]
    smallest = min(factors)
    ratios = [f / smallest for f in factors]
    exact = all(abs(r - round(r)) < 1e-9 for r in ratios)
    scale = (1.0 if exact else 1000.0) / smallest
    expr = sum(
        math.floor(f * scale + 1e-9) * e for f, (e, _, _) in zip(factors, terms, strict=True)
    )
    return expr, scale


# -- solving ------------------------------------------------------------------------------------
def _parameters(
    solver: cp_model.CpSolver, time_limit: float | None, workers: int | None, seed: int,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    params = solver.parameters
    if time_limit is not None:
        params.max_time_in_seconds = float(time_limit)
    params.num_workers = int(workers) if workers else 0
    params.random_seed = int(seed)
    params.repair_hint = True
    for key, value in (extra or {}).items():
        setattr(params, key, value)
    return {
        "time_limit_s": time_limit,
        "workers": params.num_workers,
        "seed": seed,
        **{key: value for key, value in (extra or {}).items()},
    }


def _best_hint(
    instance: Instance, objective: Objective, hints: Sequence[Schedule]
) -> tuple[Schedule | None, float | None]:
    best, best_value = None, None
    for hint in hints:
        validate(instance, hint).raise_if_invalid()
        value = evaluate(instance, hint, objective)
        if best_value is None or value < best_value:
            best, best_value = hint, value
    return best, best_value


def solve(
    instance: Instance,
    objective: str | Objective = "misses",
    *,
    time_limit: float | None = 60.0,
    workers: int | None = None,
    seed: int = 0,
    hints: Sequence[Schedule] = (),
    params: dict[str, Any] | None = None,
    archive: str | Path | None = None,
) -> OracleResult:
    """Solve ``instance`` for ``objective`` (see the module docstring for what is returned)."""
    spec = parse_objective(objective) if isinstance(objective, str) else objective
    spec.check(instance)
    if spec.is_uxcost:
        from rtmm_opt.oracle.uxcost import solve_uxcost

        return solve_uxcost(
            instance, time_limit=time_limit, workers=workers, seed=seed, hints=hints,
            params=params,
        )  # fmt: skip
    started = time.perf_counter()
    hint, hint_value = _best_hint(instance, spec, hints)
    om = OracleModel(instance)
    expr, scale = _integer_objective(_objective_terms(om, spec))
    om.model.minimize(expr)
    if hint is not None:
        om.add_hint(hint)
    if archive is not None:
        om.model.export_to_file(str(archive))
    solver = cp_model.CpSolver()
    info = _parameters(solver, time_limit, workers, seed, params)
    code = solver.solve(om.model)
    wall = time.perf_counter() - started
    return _result(instance, spec, om, solver, code, scale, hint, hint_value, wall, info)


def _result(
    instance: Instance, spec: Objective, om: OracleModel, solver: cp_model.CpSolver, code: Any,
    scale: float, hint: Schedule | None, hint_value: float | None, wall: float,
    info: dict[str, Any],
) -> OracleResult:  # fmt: skip
    schedule: Schedule | None = None
    value: float | None = None
    source = "none"
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        schedule = om.extract(solver)
        validate(instance, schedule).raise_if_invalid()
        value = evaluate(instance, schedule, spec)
        source = "solver"
    if hint is not None and hint_value is not None and (value is None or hint_value < value):
        schedule, value, source = hint, hint_value, f"hint:{hint.producer or 'schedule'}"
    bound: float | None = None
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = solver.best_objective_bound / scale
    elif code == cp_model.INFEASIBLE:
        bound = math.inf
    if bound is not None and value is not None:
        bound = min(bound, value)
    proven = (
        code == cp_model.OPTIMAL
        and value is not None
        and bound is not None
        and value - bound <= 1e-9 * max(1.0, abs(value))
    )
    if schedule is None:
        status = "infeasible" if code == cp_model.INFEASIBLE else STATUS_NAMES.get(code, "unknown")
    else:
        status = "optimal" if proven else "feasible"
    solver_info = {
        "version": f"ortools {version('ortools')}",
        "status": STATUS_NAMES.get(code, str(code)),
        "incumbent": source,
        "objective_scale": scale,
        "conflicts": solver.num_conflicts,
        "branches": solver.num_branches,
        **info,
    }
    if schedule is not None:
        schedule = Schedule(
            op_accelerator=schedule.op_accelerator, op_start=schedule.op_start,
            op_end=schedule.op_end, job_status=schedule.job_status,
            job_variant=schedule.job_variant, job_drop_time=schedule.job_drop_time,
            producer="oracle" if source == "solver" else schedule.producer,
        )  # fmt: skip
    metrics = compute_metrics(instance, schedule).to_dict() if schedule is not None else None
    return OracleResult(
        status=status, objective=value, bound=bound, schedule=schedule, wall_s=wall,
        objective_spec=str(spec), solver=solver_info, metrics=metrics,
    )  # fmt: skip

"""Solve an Instance offline with CP-SAT: ``solve(instance, objective, ...) -> OracleResult``.

Every result is honest (SPEC §5):

* ``status`` is ``optimal`` only when optimality is proven: the solver proved it, or the
  incumbent's objective equals a proven lower bound (the solver's, or the relaxation's of
  :mod:`rtmm_opt.oracle.relaxation`). The incumbent's objective, recomputed from its schedule,
  must equal that bound. A stop at a time or gap limit is ``feasible``. With no schedule at all it
  is ``infeasible`` or ``unknown``;
* ``objective`` is :func:`~rtmm_opt.oracle.objectives.evaluate` on the incumbent Schedule, which
  has passed the validator;
* ``bound`` is a proven lower bound on the objective over every schedule the model admits: the
  larger of the solver's bound and the relaxation's. The solver's integer objective rounds
  weights down, so its bound stays valid;
* the incumbent is never worse than any hint: the hints warm-start the solver, and when the
  solver ends with something worse (or nothing), the best hint is the incumbent
  (``solver.incumbent`` says which).

How the model is made to scale (docs/oracle.md has the proofs and the measurements):

* ``misses`` alone uses the ``selection`` formulation (:mod:`rtmm_opt.oracle.model`): late jobs
  leave the model;
* for objectives that are sums of per-job costs (``misses``, ``tardiness``, ``energy``), the
  decomposition bound (:func:`rtmm_opt.oracle.relaxation.decomposition_bound`) is computed first:
  its per-group bounds become redundant constraints of the full model, and when the best hint
  already meets it, the hint is proven optimal without search;
* long instances get a rolling-horizon incumbent (:mod:`rtmm_opt.oracle.horizon`) as one more
  hint.

``naive=True`` turns all of that off: the textbook model with optional intervals (the benchmark's
baseline). The given hints are still used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from rtmm_opt.instance.instance import Instance
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.oracle.model import OracleModel, selection_applies
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
INT_LIMIT = 2**60  # |coefficient × variable bound| summed: CP-SAT refuses sums near 2^62
DECOMPOSABLE = frozenset({"misses", "tardiness", "energy"})  # sums of per-job costs
DECOMPOSE_MODES = ("auto", "on", "off", "rolling", "bound")
# The full selection model closes its last gaps faster with an LB-tree search (docs/oracle.md:
# AR_Assistant on xrb4k-J, 4 seeds: 3.3-4.3 s against 6-23 s); ``params`` override it.
SELECTION_PARAMS: dict[str, Any] = {"optimize_with_lb_tree_search": True}
DECOMPOSITION_MIN_JOBS = 60  # smaller instances are solved by the full model alone, faster
RELAXATION_SHARE = 0.25  # of the time limit, at most, for the decomposition bound
ROLLING_SHARE = 0.25  # of the time limit, at most, for the rolling-horizon incumbent
LARGE_JOBS = 500  # from here the full model rarely improves on the decomposition (docs/oracle.md)
LARGE_SHARE = 0.45  # ... so the rolling horizon and the bound get this share each


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
@dataclass(frozen=True)
class ObjectiveTerm:
    """One weighted term of the objective, as the solver sees it.

    ``build(multiplier)`` is an integer linear expression ≤ multiplier × the term's value (its
    coefficients are rounded down); ``max_value`` bounds the term over the model's domains (for
    the int64 budget); ``exact`` says that ``build(m)`` equals m × value for integer m.
    """

    name: str
    weight: float
    max_value: float
    build: Callable[[float], Any]
    exact: bool


def job_expressions(om: OracleModel, name: str) -> dict[int, Any]:
    """Per job of the model: its integer cost for a per-job term (``misses``, ``tardiness``,
    ``energy`` without context reloads). Made once per model and term, then reused."""
    if name in om.job_costs:
        return om.job_costs[name]
    model, instance, v = om.model, om.instance, om.vars
    out: dict[int, Any] = {}
    if name == "misses":
        for job, (weight, missed) in zip(om.jobs, om.miss_terms(), strict=True):
            out[job] = weight * missed
    elif name == "tardiness":
        for job in om.jobs:
            deadline = int(instance.job_deadline[job])
            earliest, latest = om.finish_domain[job]
            # A job that always completes is at least as tardy as its earliest finish allows.
            least = max(0, earliest - deadline) if om.always_completes(job) else 0
            t = model.new_int_var(least, max(least, latest - deadline), f"tardiness[{job}]")
            model.add(t >= v.finish[job] - deadline)
            out[job] = t
    elif name == "energy":
        for job in om.jobs:
            out[job] = sum(
                int(instance.op_energy[op, acc]) * literal
                for k in range(len(om.required[job]))
                for op in om.required[job][k]
                for acc, literal in v.runs[op].items()
            )
    else:
        raise ValueError(f"{name} is not a per-job term")
    om.job_costs[name] = out
    return out


def _expression_max(om: OracleModel, name: str) -> float:
    instance = om.instance
    jobs = om.jobs
    if name == "misses":
        return float(instance.job_weight[jobs].sum())
    if name == "tardiness":
        return float(sum(max(0, om.horizon - int(instance.job_deadline[j])) for j in jobs))
    if name == "energy":
        ops = [op for j in jobs for ops in om.required[j] for op in ops]
        total = float(np.maximum(instance.op_energy[ops], 0).max(axis=1).sum()) if ops else 0.0
        if om.vars.arcs and instance.context_reload_energy.size:
            total += float(instance.context_reload_energy.max()) * len(ops)
        return total
    raise ValueError(name)


def _objective_terms(
    om: OracleModel, objective: Objective, *, reload_energy: bool = True
) -> list[ObjectiveTerm]:
    """The terms of ``objective`` over the model's jobs."""
    model, instance, v = om.model, om.instance, om.vars
    terms: list[ObjectiveTerm] = []
    for name, weight in objective.terms:
        if name in DECOMPOSABLE:
            expr: Any = sum(job_expressions(om, name).values())
            if name == "energy" and reload_energy:
                context = instance.op_context
                for acc, op, other, literal in v.arcs:
                    if context[op] != context[other] and om.active[instance.op_job[other]]:
                        expr += int(instance.context_reload_energy[context[other], acc]) * literal
            terms.append(_linear_term(name, weight, expr, _expression_max(om, name)))
        elif name == "makespan":
            first = int(instance.job_release.min(initial=0))
            span = model.new_int_var(first, om.horizon, "makespan_end")
            for job in om.jobs:
                model.add(span >= v.finish[job]).only_enforce_if(v.completed[job])
            if om.frozen_finish:
                model.add(span >= max(om.frozen_finish.values()))
            terms.append(_linear_term(name, weight, span - first, float(om.horizon - first)))
        elif name == "antt":
            terms.append(_antt_term(om, weight))
        elif name == "accuracy_loss":
            terms.append(_accuracy_term(om, weight))
    return terms


def _linear_term(name: str, weight: float, expr: Any, max_value: float) -> ObjectiveTerm:
    return ObjectiveTerm(name, weight, max_value, lambda m: math.floor(m + 1e-9) * expr, exact=True)


def _antt_term(om: OracleModel, weight: float) -> ObjectiveTerm:
    """Σ_completed (C_j − R_j)/T_iso,j / N, with integer weights floor(m/(N·T_iso)) ≤ m/(N·T_iso)
    for a multiplier m."""
    model, instance, v = om.model, om.instance, om.vars
    n_jobs = max(1, instance.n_jobs)
    turnarounds: list[tuple[Any, int]] = []
    for job in om.jobs:
        release = int(instance.job_release[job])
        effective = model.new_int_var(release, om.horizon, f"effective_release[{job}]")
        model.add_max_equality(
            effective, [release, *(v.finish[int(up)] for up in instance.upstream_of(job))]
        )
        for k, chosen in enumerate(v.variant[job]):
            isolated = max(1, instance.isolated_latency(job, k))
            turnaround = model.new_int_var(0, om.horizon, f"turnaround[{job}][{k}]")
            model.add(turnaround >= v.finish[job] - effective).only_enforce_if(chosen)
            turnarounds.append((turnaround, isolated))
    max_value = sum(om.horizon / (n_jobs * isolated) for _, isolated in turnarounds)

    def build(multiplier: float) -> Any:
        return sum(
            math.floor(multiplier / (n_jobs * isolated)) * turnaround
            for turnaround, isolated in turnarounds
        )

    return ObjectiveTerm("antt", weight, max_value, build, exact=False)


def _accuracy_term(om: OracleModel, weight: float) -> ObjectiveTerm:
    """Σ_completed (best accuracy of the task − accuracy of the chosen variant): a variant
    literal is true only for a completed job, so dropped jobs cost nothing here. Coefficients
    ⌊m·loss⌋ ≤ m·loss keep the bound valid."""
    instance, v = om.instance, om.vars
    losses: list[tuple[Any, float]] = []
    for job in om.jobs:
        task = instance.tasks[int(instance.job_task[job])]
        accuracy = [variant.accuracy for variant in task.variants] or [1.0]
        best = max(accuracy)
        for k, chosen in enumerate(v.variant[job]):
            if best - accuracy[k] > 0:
                losses.append((chosen, best - accuracy[k]))

    def build(multiplier: float) -> Any:
        return sum(math.floor(multiplier * loss + 1e-9) * chosen for chosen, loss in losses)

    return ObjectiveTerm(
        "accuracy_loss", weight, sum(loss for _, loss in losses), build, exact=False
    )


def _integer_objective(terms: list[ObjectiveTerm]) -> tuple[Any, float]:
    """Σ build_i(w_i·S) and S; the solver objective / S ≤ the objective, ≈ it.

    S is exact (1 / the smallest weight) when every term is an integer expression and the
    weights are integer multiples of the smallest; otherwise 1000 / the smallest weight, so that
    rounding costs at most 0.1 % of a unit. Either way S is capped so that the expression's
    largest value stays below 2^60."""
    weights = [t.weight for t in terms]
    smallest = min(weights)
    ratios = [w / smallest for w in weights]
    exact = all(t.exact for t in terms) and all(abs(r - round(r)) < 1e-9 for r in ratios)
    scale = (1.0 if exact else 1000.0) / smallest
    total = sum(t.weight * t.max_value for t in terms)
    if total > 0:
        budget = INT_LIMIT / total
        if not exact or scale > budget:
            scale = min(scale, budget) if any(t.exact for t in terms) else budget
    expr = sum(t.build(t.weight * scale) for t in terms)
    return expr, scale


# -- solving ------------------------------------------------------------------------------------
def _parameters(
    solver: cp_model.CpSolver, time_limit: float | None, workers: int | None, seed: int,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    params = solver.parameters
    if time_limit is not None:
        params.max_time_in_seconds = max(0.01, float(time_limit))
    params.num_workers = int(workers) if workers else 0
    params.random_seed = int(seed)
    # No repair_hint: with it, OR-Tools 9.15 aborts the process ("Check failed:
    # heuristics.fixed_search != nullptr") on infeasible hints, e.g. a heuristic's schedule in a
    # rolling-horizon window whose earlier ops are fixed differently (docs/oracle.md).
    params.repair_hint = False
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


def choose_formulation(instance: Instance, objective: Objective, naive: bool = False) -> str:
    """``selection`` for the pure ``misses`` objective where it is exact, else ``direct``."""
    if not naive and objective.names == ("misses",) and selection_applies(instance):
        return "selection"
    return "direct"


def _decomposable(objective: Objective) -> bool:
    return not objective.is_uxcost and set(objective.names) <= DECOMPOSABLE


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
    naive: bool = False,
    decompose: str = "auto",
    formulation: str = "auto",
) -> OracleResult:
    """Solve ``instance`` for ``objective`` (see the module docstring for what is returned).

    ``decompose``: ``auto`` (the rolling horizon and the decomposition bound from 60 jobs on),
    ``on`` (both whatever the size), ``rolling`` or ``bound`` (one of them, whatever the size),
    ``off`` (neither). ``formulation``: ``auto`` (:func:`choose_formulation`), ``direct`` or
    ``selection`` (for the pure ``misses`` objective only). ``naive`` implies ``direct`` and
    ``off``.
    """
    if decompose not in DECOMPOSE_MODES:
        raise ValueError(f"decompose must be one of {DECOMPOSE_MODES}, got {decompose!r}")
    spec = parse_objective(objective) if isinstance(objective, str) else objective
    # A peer simulator's quirks (settings.compat: Dysta's clock rewinds, XRBench's log window)
    # are not part of the problem: the oracle solves the project's semantics, hints included.
    compat = instance.settings.compat
    if compat != "none":
        instance = instance.with_settings(compat="none")
    spec.check(instance)
    if spec.is_uxcost:
        from rtmm_opt.oracle.uxcost import solve_uxcost

        return solve_uxcost(
            instance, time_limit=time_limit, workers=workers, seed=seed, hints=hints,
            params=params,
        )  # fmt: skip
    started = time.perf_counter()

    def remaining() -> float | None:
        if time_limit is None:
            return None
        return max(0.05, float(time_limit) - (time.perf_counter() - started))

    pool = list(hints)
    hint, hint_value = _best_hint(instance, spec, pool)
    if formulation == "auto" or naive:
        formulation = choose_formulation(instance, spec, naive)
    elif formulation == "selection" and spec.names != ("misses",):
        raise ValueError("the selection formulation serves the pure misses objective only")
    steps: dict[str, Any] = {"formulation": formulation, "naive": naive}
    if compat != "none":
        steps["compat_stripped"] = compat
    if instance.settings.contention:
        # The solver searches schedules that never oversubscribe the DRAM (docs/oracle.md).
        steps["bound_scope"] = "schedules without DRAM oversubscription (contention)"
    large = instance.n_jobs >= DECOMPOSITION_MIN_JOBS and hint_value != 0  # 0 is optimal
    rolling = not naive and (decompose in ("on", "rolling") or (decompose == "auto" and large))
    bounding = not naive and (decompose in ("on", "bound") or (decompose == "auto" and large))
    if rolling:
        from rtmm_opt.oracle.horizon import rolling_horizon

        fraction = LARGE_SHARE if instance.n_jobs >= LARGE_JOBS else ROLLING_SHARE
        share = None if time_limit is None else fraction * float(time_limit)
        rolled = rolling_horizon(
            instance, spec, time_limit=share, workers=workers, seed=seed, hints=pool,
            params=params,
        )  # fmt: skip
        steps["rolling_horizon"] = {"objective": rolled.objective, "wall_s": rolled.wall_s}
        if rolled.schedule is not None:
            pool.append(rolled.schedule)
            hint, hint_value = _best_hint(instance, spec, pool)
    relaxation = None
    if bounding and _decomposable(spec) and hint_value != 0:
        from rtmm_opt.oracle.relaxation import decomposition_bound

        fraction = LARGE_SHARE if instance.n_jobs >= LARGE_JOBS else RELAXATION_SHARE
        left = remaining()
        share = None if left is None else min(fraction * float(time_limit or 0.0), left)
        relaxation = decomposition_bound(
            instance, spec, target=hint_value, time_limit=share, workers=workers, seed=seed,
            params=params,
        )  # fmt: skip
        steps["relaxation"] = relaxation.summary()
    relaxed_bound = relaxation.bound if relaxation is not None else None
    if hint_value == 0:
        relaxed_bound = 0.0  # every objective is ≥ 0
    if (
        hint is not None
        and relaxed_bound is not None
        and hint_value is not None
        and (hint_value <= relaxed_bound + 1e-9 * max(1.0, abs(hint_value)))
    ):
        # The best hint meets a proven lower bound: it is optimal, no search needed.
        return _finish(
            instance, spec, hint, hint_value, relaxed_bound, True, "skipped", started,
            {**steps, "incumbent": f"hint:{hint.producer or 'schedule'}"},
        )  # fmt: skip
    om = OracleModel(instance, formulation=formulation, naive=naive)
    terms = _objective_terms(om, spec)
    expr, scale = _integer_objective(terms)
    om.model.minimize(expr)
    if relaxation is not None and len(spec.terms) == 1 and terms[0].exact:
        relaxation.add_cuts(om, spec.terms[0][0], scale * spec.terms[0][1], expr)
    if hint is not None:
        om.add_hint(hint)
    if archive is not None:
        om.model.export_to_file(str(archive))
    solver = cp_model.CpSolver()
    extra = {**SELECTION_PARAMS, **(params or {})} if formulation == "selection" else params
    info = _parameters(solver, remaining(), workers, seed, extra)
    code = solver.solve(om.model)
    return _result(
        instance, spec, om, solver, code, scale, hint, hint_value, started,
        {**info, **steps}, relaxed_bound,
    )  # fmt: skip


def _result(
    instance: Instance, spec: Objective, om: OracleModel, solver: cp_model.CpSolver, code: Any,
    scale: float, hint: Schedule | None, hint_value: float | None, started: float,
    info: dict[str, Any], relaxed_bound: float | None = None,
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
    if relaxed_bound is not None:
        bound = relaxed_bound if bound is None else max(bound, relaxed_bound)
    if bound is not None and value is not None:
        bound = min(bound, value)
    tolerance = 1e-9 * max(1.0, abs(value)) if value is not None else 0.0
    proven = (
        value is not None
        and bound is not None
        and value - bound <= tolerance
        and (code == cp_model.OPTIMAL or (relaxed_bound is not None and value <= relaxed_bound
                                          + tolerance))
    )  # fmt: skip
    solver_info = {
        "status": STATUS_NAMES.get(code, str(code)),
        "objective_scale": scale,
        "conflicts": solver.num_conflicts,
        "branches": solver.num_branches,
        "solver_bound": solver.best_objective_bound / scale
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        else None,
        **info,
        "incumbent": source,
    }
    if schedule is None:
        status = "infeasible" if code == cp_model.INFEASIBLE else STATUS_NAMES.get(code, "unknown")
        return OracleResult(
            status=status, objective=None, bound=bound, schedule=None,
            wall_s=time.perf_counter() - started, objective_spec=str(spec),
            solver={"version": f"ortools {version('ortools')}", **solver_info}, metrics=None,
        )  # fmt: skip
    return _finish(
        instance, spec, schedule, value, bound, proven, solver_info["status"], started, solver_info,
        producer="oracle" if source == "solver" else schedule.producer,
    )  # fmt: skip


def _finish(
    instance: Instance, spec: Objective, schedule: Schedule, value: float | None,
    bound: float | None, proven: bool, solver_status: str, started: float,
    info: dict[str, Any], producer: str | None = None,
) -> OracleResult:  # fmt: skip
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

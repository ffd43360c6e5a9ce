"""UXCost solved exactly, by a sweep over the number of misses (docs/design.md §5).

uxcost = energy_mJ × miss_rate is a product, so it is not linear. For k = 0, 1, …, N let
E_k = min energy subject to at most k misses. Then uxcost* = min_k (k/N)·E_k, because the best
schedule with exactly k misses costs at least (k/N)·E_k. The sweep:

1. minimise misses: k* is the fewest possible. If k* = 0, uxcost* = 0 and the sweep is done;
2. minimise energy with no limit on misses: E_min ≤ E_k for every k;
3. for k = max(1, ⌈bound on k*⌉) … N, stop as soon as (k/N)·E_min ≥ the best uxcost found.
   Every larger k is then pruned, because (k/N)·E_k ≥ (k/N)·E_min. Otherwise solve E_k and
   keep the best schedule, scored by the metric itself.

The lower bound is the smallest (k/N)·LB(E_k) over every k the sweep did not rule out, and 0
unless the bound on k* is at least 1. LB(E_k) is a solved bound where there is one, and the bound
on E_min otherwise. These bounds hold for every schedule the engine can produce: under
contention, each step's bound comes from the contention-free relaxation
(:func:`rtmm_opt.oracle.run.solve_model`), as only fewer misses and less energy can come of
shorter ops. Requires ``drops: never`` (with drops, dropping everything gives uxcost 0).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from rtmm_opt.instance.instance import Instance
from rtmm_opt.io.units import NJ_PER_MJ
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.oracle.model import OracleModel
from rtmm_opt.oracle.objectives import Objective, evaluate, parse_objective
from rtmm_opt.oracle.run import OracleResult, SolverLimits, solve_model
from rtmm_opt.oracle.terms import IntegerObjective, minimize
from rtmm_opt.schedule.schedule import Schedule

UXCOST = parse_objective("uxcost")
MISSES = parse_objective("misses")
ENERGY = parse_objective("energy")

# The oracle's solve of a weighted-sum objective (rtmm_opt.oracle.solve.solve_weighted_sum):
# (instance, objective, limits, hints) -> result. The sweep is given it rather than importing
# it, so that this module sits below the orchestrator that dispatches to it.
WeightedSolve = Callable[[Instance, Objective, SolverLimits, Sequence[Schedule]], OracleResult]


def _energy_with_at_most(
    instance: Instance, misses: int, limits: SolverLimits, hints: Sequence[Schedule]
) -> OracleResult:
    """min energy subject to at most ``misses`` late jobs (drops: never)."""
    started = time.perf_counter()

    def build(target: Instance) -> tuple[OracleModel, IntegerObjective]:
        om = OracleModel(target)
        om.model.add(sum(om.vars.late) <= misses)
        return om, minimize(om, ENERGY)

    usable = [h for h in hints if evaluate(instance, h, MISSES) <= misses]
    best = min(usable, key=lambda h: evaluate(instance, h, ENERGY), default=None)
    value = evaluate(instance, best, ENERGY) if best is not None else None
    return solve_model(
        instance, ENERGY, build, limits, hint=best, hint_value=value, started=started
    )


def solve_uxcost(
    instance: Instance,
    solve_weighted_sum: WeightedSolve,
    *,
    limits: SolverLimits,
    hints: Sequence[Schedule] = (),
) -> OracleResult:
    """The uxcost sweep (see the module docstring); ``solve_weighted_sum`` solves its
    ``misses`` and ``energy`` steps."""
    started = time.perf_counter()
    budget_start = limits.now()
    budget = math.inf if limits.time_limit is None else float(limits.time_limit)

    def remaining(share: float) -> SolverLimits:
        left = limits.left(budget_start, floor=0.0)
        return limits.with_time(None if left is None else max(0.1, left * share))

    n = max(1, instance.n_jobs)
    pool = list(hints)
    fewest = solve_weighted_sum(instance, MISSES, remaining(0.25), pool)
    steps: list[dict[str, Any]] = [_step("misses", fewest)]
    if fewest.schedule is not None:
        pool.append(fewest.schedule)
    best = min(pool, key=lambda h: evaluate(instance, h, UXCOST), default=None)
    best_value = evaluate(instance, best, UXCOST) if best is not None else math.inf
    if fewest.status == "optimal" and fewest.objective == 0:
        return _sweep_result(instance, best, 0.0, 0.0, started, steps, fewest.solver)
    cheapest = solve_weighted_sum(instance, ENERGY, remaining(0.33), pool)
    steps.append(_step("energy", cheapest))
    if cheapest.schedule is not None:
        pool.append(cheapest.schedule)
        value = evaluate(instance, cheapest.schedule, UXCOST)
        if value < best_value:
            best, best_value = cheapest.schedule, value
    energy_floor = (cheapest.bound or 0.0) / NJ_PER_MJ
    if fewest.status == "infeasible":
        return _sweep_result(instance, best, best_value, math.inf, started, steps, fewest.solver)
    least_misses = math.ceil((fewest.bound or 0.0) - 1e-9)
    first_k = max(1, least_misses)
    # Unless k = 0 is ruled out (a proven bound of at least one miss), uxcost 0 may be possible.
    bound = math.inf if least_misses >= 1 else 0.0
    k = first_k
    while k <= instance.n_jobs:
        if k / n * energy_floor >= best_value:
            break  # every k from here on is pruned
        if not math.isinf(budget) and (limits.left(budget_start, floor=0.0) or 0.0) <= 0.1:
            bound = min(bound, k / n * energy_floor)  # out of time: k, k+1, ... only have E_min
            break
        result = _energy_with_at_most(instance, k, remaining(0.5), pool)
        steps.append(_step(f"energy with <= {k} misses", result))
        if result.schedule is not None:
            pool.append(result.schedule)
            value = evaluate(instance, result.schedule, UXCOST)
            if value < best_value:
                best, best_value = result.schedule, value
        k_bound = result.bound if result.bound is not None else cheapest.bound or 0.0
        bound = min(bound, k / n * k_bound / NJ_PER_MJ)
        k += 1
    bound = min(bound, best_value)
    return _sweep_result(instance, best, best_value, bound, started, steps, fewest.solver)


def _step(name: str, result: OracleResult) -> dict[str, Any]:
    return {
        "step": name,
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "wall_s": result.wall_s,
    }


def _sweep_result(
    instance: Instance, schedule: Schedule | None, value: float, bound: float, started: float,
    steps: list[dict[str, Any]], solver: dict[str, Any],
) -> OracleResult:  # fmt: skip
    if schedule is None:
        status = "infeasible" if math.isinf(bound) else "unknown"
        return OracleResult(status, None, bound if math.isinf(bound) else None, None,
                            time.perf_counter() - started, "uxcost",
                            {**solver, "sweep": steps})  # fmt: skip
    proven = value - bound <= 1e-9 * max(1.0, abs(value))
    return OracleResult(
        status="optimal" if proven else "feasible",
        objective=value,
        bound=bound,
        schedule=schedule,
        wall_s=time.perf_counter() - started,
        objective_spec="uxcost",
        solver={**solver, "sweep": steps},
        metrics=compute_metrics(instance, schedule).to_dict(),
    )

"""UXCost solved exactly, by a sweep over the number of misses (SPEC §5).

uxcost = energy_mJ × miss_rate is a product, so it is not linear. For k = 0, 1, …, N let
E_k = min energy subject to at most k misses. Then uxcost* = min_k (k/N)·E_k, because the best
schedule with exactly k misses costs at least (k/N)·E_k. The sweep:

1. minimise misses: k* is the fewest possible. If k* = 0, uxcost* = 0 and the sweep is done;
2. minimise energy with no limit on misses: E_min ≤ E_k for every k;
3. for k = max(1, ⌈bound on k*⌉) … N, stop as soon as (k/N)·E_min ≥ the best uxcost found.
   Every larger k is then pruned, because (k/N)·E_k ≥ (k/N)·E_min. Otherwise solve E_k and
   keep the best schedule, scored by the metric itself.

The lower bound is the smallest (k/N)·LB(E_k) over every k the sweep did not rule out. LB(E_k)
is a solved bound where there is one, and the bound on E_min otherwise. Requires
``drops: never`` (with drops, dropping everything gives uxcost 0).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from ortools.sat.python import cp_model

from rtmm_opt.instance.instance import Instance
from rtmm_opt.oracle.model import OracleModel
from rtmm_opt.oracle.objectives import evaluate, parse_objective
from rtmm_opt.oracle.solve import (
    OracleResult,
    _integer_objective,
    _objective_terms,
    _parameters,
    _result,
    solve,
)
from rtmm_opt.schedule.schedule import Schedule

UXCOST = parse_objective("uxcost")
NJ_PER_MJ = 1e6


def _energy_with_at_most(
    instance: Instance, misses: int, time_limit: float | None, workers: int | None, seed: int,
    hints: Sequence[Schedule], params: dict[str, Any] | None,
) -> OracleResult:  # fmt: skip
    """min energy subject to at most ``misses`` late jobs (drops: never)."""
    started = time.perf_counter()
    energy = parse_objective("energy")
    om = OracleModel(instance)
    om.model.add(sum(om.vars.late) <= misses)
    expr, scale = _integer_objective(_objective_terms(om, energy))
    om.model.minimize(expr)
    usable = [h for h in hints if evaluate(instance, h, parse_objective("misses")) <= misses]
    best = min(usable, key=lambda h: evaluate(instance, h, energy), default=None)
    if best is not None:
        om.add_hint(best)
    solver = cp_model.CpSolver()
    info = _parameters(solver, time_limit, workers, seed, params)
    code = solver.solve(om.model)
    value = evaluate(instance, best, energy) if best is not None else None
    return _result(instance, energy, om, solver, code, scale, best, value, started, info)


def solve_uxcost(
    instance: Instance,
    *,
    time_limit: float | None = 60.0,
    workers: int | None = None,
    seed: int = 0,
    hints: Sequence[Schedule] = (),
    params: dict[str, Any] | None = None,
) -> OracleResult:
    """The uxcost sweep (see the module docstring)."""
    started = time.perf_counter()
    budget = math.inf if time_limit is None else float(time_limit)

    def remaining(share: float) -> float | None:
        if math.isinf(budget):
            return None
        return max(0.1, (budget - (time.perf_counter() - started)) * share)

    n = max(1, instance.n_jobs)
    pool = list(hints)
    fewest = solve(instance, "misses", time_limit=remaining(0.25), workers=workers, seed=seed,
                   hints=pool, params=params)  # fmt: skip
    steps: list[dict[str, Any]] = [_step("misses", fewest)]
    if fewest.schedule is not None:
        pool.append(fewest.schedule)
    best = min(pool, key=lambda h: evaluate(instance, h, UXCOST), default=None)
    best_value = evaluate(instance, best, UXCOST) if best is not None else math.inf
    if fewest.status == "optimal" and fewest.objective == 0:
        return _finish(instance, best, 0.0, 0.0, started, steps, fewest.solver)
    cheapest = solve(instance, "energy", time_limit=remaining(0.33), workers=workers, seed=seed,
                     hints=pool, params=params)  # fmt: skip
    steps.append(_step("energy", cheapest))
    if cheapest.schedule is not None:
        pool.append(cheapest.schedule)
        value = evaluate(instance, cheapest.schedule, UXCOST)
        if value < best_value:
            best, best_value = cheapest.schedule, value
    energy_floor = (cheapest.bound or 0.0) / NJ_PER_MJ
    if fewest.status == "infeasible":
        return _finish(instance, best, best_value, math.inf, started, steps, fewest.solver)
    first_k = max(1, math.ceil((fewest.bound or 0.0) - 1e-9))
    bound = math.inf
    k = first_k
    while k <= instance.n_jobs:
        if k / n * energy_floor >= best_value:
            break  # every k from here on is pruned
        if budget - (time.perf_counter() - started) <= 0.1:
            bound = min(bound, k / n * energy_floor)  # out of time: k, k+1, ... only have E_min
            break
        result = _energy_with_at_most(instance, k, remaining(0.5), workers, seed, pool, params)
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
    return _finish(instance, best, best_value, bound, started, steps, fewest.solver)


def _step(name: str, result: OracleResult) -> dict[str, Any]:
    return {
        "step": name,
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "wall_s": result.wall_s,
    }


def _finish(
    instance: Instance, schedule: Schedule | None, value: float, bound: float, started: float,
    steps: list[dict[str, Any]], solver: dict[str, Any],
) -> OracleResult:  # fmt: skip
    from rtmm_opt.metrics.metrics import compute_metrics

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

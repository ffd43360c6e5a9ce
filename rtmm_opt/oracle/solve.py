"""Solve an Instance offline with CP-SAT: ``solve(instance, objective, ...) -> OracleResult``.

This module orchestrates; the pieces sit below it, imported one way: the model
(:mod:`rtmm_opt.oracle.model`), its integer objective (:mod:`rtmm_opt.oracle.terms`), one
configured CP-SAT run and its honest result (:mod:`rtmm_opt.oracle.run`), and the strategies
that call them: the rolling horizon, the decomposition bound and the uxcost sweep, which is
handed :func:`solve_weighted_sum` for its steps.

Every result is honest (docs/design.md §5):

* ``status`` is ``optimal`` only when optimality is proven: the solver proved it, or the
  incumbent's objective equals a proven lower bound (the solver's, or the relaxation's of
  :mod:`rtmm_opt.oracle.relaxation`). The incumbent's objective, recomputed from its schedule,
  must equal that bound. A stop at a time or gap limit is ``feasible``. With no schedule at all it
  is ``infeasible`` (no schedule exists) or ``unknown``;
* ``objective`` is :func:`~rtmm_opt.oracle.objectives.evaluate` on the incumbent Schedule, which
  has passed the validator;
* ``bound`` is a proven lower bound on the objective over every schedule the engine can produce:
  the larger of the solver's bound and the relaxation's. The solver's integer objective rounds
  weights down, so its bound stays valid;
* under ``settings.contention`` the model holds only schedules without DRAM oversubscription, so
  the solver's bound holds for those only: it is reported as ``solver.restricted_bound``
  (``solver.bound_scope`` says which bound holds for what), and ``bound`` comes from the
  relaxations without contention, valid for every engine schedule because sharing only
  lengthens ops (:func:`~rtmm_opt.oracle.run.solve_model`). Only ``bound`` proves ``optimal``;
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

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rtmm_opt.errors import excerpt
from rtmm_opt.instance.instance import Instance
from rtmm_opt.oracle.horizon import rolling_horizon
from rtmm_opt.oracle.model import OracleModel
from rtmm_opt.oracle.objectives import Objective, parse_objective
from rtmm_opt.oracle.relaxation import decomposition_bound
from rtmm_opt.oracle.run import (
    OracleResult,
    SolverLimits,
    WorkClock,
    best_hint,
    choose_formulation,
    incumbent_result,
    restricted_fields,
    solve_model,
)
from rtmm_opt.oracle.terms import IntegerObjective, decomposable, minimize
from rtmm_opt.oracle.uxcost import solve_uxcost
from rtmm_opt.schedule.schedule import Schedule

__all__ = ["OracleResult", "SolverLimits", "solve", "solve_weighted_sum"]

DECOMPOSE_MODES = ("auto", "on", "off", "rolling", "bound")
DECOMPOSITION_MIN_JOBS = 60  # smaller instances are solved by the full model alone, faster
RELAXATION_SHARE = 0.25  # of the time limit, at most, for the decomposition bound
ROLLING_SHARE = 0.25  # of the time limit, at most, for the rolling-horizon incumbent
LARGE_JOBS = 500  # from here the full model rarely improves on the decomposition (docs/oracle.md)
LARGE_SHARE = 0.45  # ... so the rolling horizon and the bound get this share each


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
    limits: SolverLimits | None = None,
) -> OracleResult:
    """Solve ``instance`` for ``objective`` (see the module docstring for what is returned).

    ``time_limit`` (seconds, None: none), ``workers``, ``seed`` and ``params`` (CP-SAT
    parameters) bound every solver the call makes; ``limits`` gives all four at once instead.
    ``decompose``: ``auto`` (the rolling horizon and the decomposition bound from 60 jobs on),
    ``on`` (both whatever the size), ``rolling`` or ``bound`` (one of them, whatever the size),
    ``off`` (neither). ``formulation``: ``auto`` (:func:`~rtmm_opt.oracle.run.choose_formulation`),
    ``direct`` or
    ``selection`` (for the pure ``misses`` objective only). ``naive`` implies ``direct`` and
    ``off``.
    """
    if decompose not in DECOMPOSE_MODES:
        raise ValueError(f"decompose must be one of {DECOMPOSE_MODES}, got {excerpt(decompose)}")
    if limits is None:
        limits = SolverLimits(time_limit=time_limit, workers=workers, seed=seed, params=params)
    elif (time_limit, workers, seed, params) != (60.0, None, 0, None):
        raise ValueError("pass either limits or time_limit, workers, seed and params, not both")
    if limits.deterministic:  # this call's work counts from zero, whoever made the limits
        limits = replace(limits, clock=WorkClock())
    spec = parse_objective(objective) if isinstance(objective, str) else objective
    # A peer simulator's quirks (settings.compat: Dysta's clock rewinds, XRBench's log window)
    # are not part of the problem: the oracle solves the project's semantics, hints included.
    compat = instance.settings.compat
    if compat != "none":
        instance = instance.with_settings(compat="none")
    spec.check(instance)
    if spec.is_uxcost:
        return solve_uxcost(instance, solve_weighted_sum, limits=limits, hints=hints)
    steps: dict[str, Any] = {} if compat == "none" else {"compat_stripped": compat}
    return solve_weighted_sum(
        instance, spec, limits, hints, archive=archive, naive=naive, decompose=decompose,
        formulation=formulation, steps=steps,
    )  # fmt: skip


def solve_weighted_sum(
    instance: Instance,
    spec: Objective,
    limits: SolverLimits,
    hints: Sequence[Schedule] = (),
    *,
    archive: str | Path | None = None,
    naive: bool = False,
    decompose: str = "auto",
    formulation: str = "auto",
    steps: dict[str, Any] | None = None,
) -> OracleResult:
    """:func:`solve` for a weighted-sum objective (not ``uxcost``) on an instance without
    ``compat``: rolling horizon, decomposition bound, then the full model (module docstring).
    ``steps`` are recorded in the result's ``solver`` fields."""
    started = time.perf_counter()
    budget_start = limits.now()
    time_limit = limits.time_limit

    def remaining() -> float | None:
        return limits.left(budget_start)

    pool = list(hints)
    hint, hint_value = best_hint(instance, spec, pool)
    chosen = formulation == "auto" or naive
    if chosen:
        formulation = choose_formulation(instance, spec, naive)
    elif formulation == "selection" and spec.names != ("misses",):
        raise ValueError("the selection formulation serves the pure misses objective only")
    steps = {"formulation": formulation, "naive": naive, **(steps or {})}
    large = instance.n_jobs >= DECOMPOSITION_MIN_JOBS and hint_value != 0  # 0 is optimal
    rolling = not naive and (decompose in ("on", "rolling") or (decompose == "auto" and large))
    bounding = not naive and (decompose in ("on", "bound") or (decompose == "auto" and large))
    if rolling:
        fraction = LARGE_SHARE if instance.n_jobs >= LARGE_JOBS else ROLLING_SHARE
        rolled = rolling_horizon(instance, spec, limits=limits.share(fraction), hints=pool)
        steps["rolling_horizon"] = {"objective": rolled.objective, "wall_s": rolled.wall_s}
        if rolled.schedule is not None:
            pool.append(rolled.schedule)
            hint, hint_value = best_hint(instance, spec, pool)
    relaxation = None
    if bounding and decomposable(spec) and hint_value != 0:
        fraction = LARGE_SHARE if instance.n_jobs >= LARGE_JOBS else RELAXATION_SHARE
        left = remaining()
        share = None if left is None else min(fraction * float(time_limit or 0.0), left)
        relaxation = decomposition_bound(
            instance, spec, target=hint_value, limits=limits.with_time(share)
        )
        steps["relaxation"] = relaxation.summary()
    relaxed_bound = relaxation.bound if relaxation is not None else None
    if hint_value == 0:
        relaxed_bound = 0.0  # every objective is ≥ 0
    free_formulation = formulation  # for the contention-free relaxation (run.solve_model)
    if chosen and instance.settings.contention:  # selection may apply there where it did not
        free_formulation = choose_formulation(instance.with_settings(contention=False), spec, naive)

    def build(target: Instance) -> tuple[OracleModel, IntegerObjective]:
        om = OracleModel(
            target, naive=naive,
            formulation=formulation if target is instance else free_formulation,
        )  # fmt: skip
        integer = minimize(om, spec)
        if relaxation is not None and len(spec.terms) == 1 and integer.terms[0].exact:
            name, weight = spec.terms[0]
            relaxation.add_cuts(om, name, integer.scale * weight, integer.expression)
        return om, integer

    if (
        hint is not None
        and relaxed_bound is not None
        and hint_value is not None
        and (hint_value <= relaxed_bound + 1e-9 * max(1.0, abs(hint_value)))
    ):
        # The best hint meets a proven lower bound: it is optimal, no search needed. (The
        # relaxation's bounds hold for every schedule the engine can produce, contention or not.)
        if instance.settings.contention:
            steps.update(restricted_fields(relaxed_bound))
        if archive is not None:  # the model is still asked for: write it, unsolved
            om, _ = build(instance)
            om.add_hint(hint)
            om.model.export_to_file(str(archive))
        return incumbent_result(
            instance, spec, hint, hint_value, relaxed_bound, proven=True,
            solver_status="skipped", started=started,
            info={**limits.describe(), **steps, "incumbent": f"hint:{hint.producer or 'schedule'}"},
        )  # fmt: skip
    return solve_model(
        instance, spec, build, limits.with_time(remaining()), hint=hint, hint_value=hint_value,
        started=started, steps=steps, relaxed_bound=relaxed_bound, archive=archive,
    )  # fmt: skip

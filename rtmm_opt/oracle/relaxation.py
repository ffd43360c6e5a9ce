"""Lower bounds from relaxations proven valid (docs/design.md §5; the proofs are in docs/oracle.md).

Both bounds hold for objectives that are sums of non-negative per-job costs: ``misses``,
``tardiness``, ``energy`` and weighted sums of them. The cost of job j depends only on j's own
status and ops, except the context-reload energy, which both bounds leave out (it is ≥ 0).

**Alone bound.** A job cannot complete before its earliest finish (its effective release, after
its upstream jobs' earliest finishes, plus its fastest critical path), nor spend less than the
cheapest energy of its ops. Per job, the cheaper of dropping it (when drops are allowed) and
completing it at that earliest finish with that energy is a lower bound on its cost.

**Decomposition bound.** Partition the jobs into groups G_1..G_m. For any schedule S of the
instance, the restriction of S to G_k (the ops of G_k's jobs, at the same times and places) is a
schedule of the relaxed instance I_k that has only G_k's jobs: removing ops never breaks
no-overlap, bandwidth or context-reload gaps (a reload between the remaining neighbours is never
longer than the ones around the removed op), and an upstream job outside G_k only leaves its
dependent's release at the upstream's earliest finish, which S respects. So
cost(S) ≥ Σ_k cost_{G_k}(S|G_k) ≥ Σ_k OPT(I_k) ≥ Σ_k LB(I_k), where LB(I_k) is the proven bound
of CP-SAT on I_k (or its alone bound when the solver ran out of time). Groups are made of jobs
close in release time, so that most interaction stays inside a group; every partition gives a
bound, and the largest over :data:`PARTITIONS` counts. Each group's bound is also a valid
redundant constraint on the full model, Σ_{j∈G_k} cost_j ≥ LB(I_k) (:meth:`Relaxation.add_cuts`).

The groups are solved without the bandwidth constraint (``contention``): under the engine's
proportional sharing ops only get longer, so the bound holds for every schedule the engine can
produce, not only for the oracle's unstretched ones.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtmm_opt.instance.instance import Instance
from rtmm_opt.oracle.model import OracleModel, TimeWindows
from rtmm_opt.oracle.objectives import Objective, parse_objective
from rtmm_opt.oracle.run import UNLIMITED, SolverLimits, choose_formulation, run
from rtmm_opt.oracle.terms import DECOMPOSABLE, decomposable, job_expressions, minimize

GROUP_TIME_LIMIT = 5.0  # seconds per group at most


@dataclass(frozen=True)
class GroupBound:
    """One group of a partition and its proven lower bound (``how``: solver status or alone)."""

    jobs: tuple[int, ...]
    bound: float
    how: str


@dataclass(frozen=True)
class Relaxation:
    """The decomposition and alone bounds of one instance and objective."""

    objective: str
    bound: float
    alone: float
    partitions: tuple[tuple[GroupBound, ...], ...]
    wall_s: float

    def summary(self) -> dict[str, Any]:
        return {
            "bound": self.bound,
            "alone": self.alone,
            "partitions": [sum(g.bound for g in groups) for groups in self.partitions],
            "groups": [len(groups) for groups in self.partitions],
            "unsolved_groups": sum(
                1 for groups in self.partitions for g in groups if g.how not in ("optimal",)
            ),
            "wall_s": self.wall_s,
        }

    def add_cuts(self, om: OracleModel, term: str, multiplier: float, objective: Any) -> None:
        """Add Σ_{j∈G} cost_j ≥ LB(G) for every group, and objective ≥ bound, to ``om``.

        ``term`` is the objective's only term, ``multiplier`` the solver's integer coefficient of
        it (its weight × scale), ``objective`` the solver's objective expression."""
        if term not in DECOMPOSABLE:
            return
        weight = parse_objective(self.objective).terms[0][1]
        costs = job_expressions(om, term)
        for groups in self.partitions:
            for group in groups:
                least = math.ceil(group.bound / weight - 1e-6)
                if least > 0 and all(j in costs for j in group.jobs):
                    om.model.add(sum(costs[j] for j in group.jobs) >= least)
        total = math.ceil(self.bound / weight - 1e-6)
        if total > 0:
            om.model.add(objective >= math.floor(multiplier + 1e-9) * total)


def alone_costs(instance: Instance, objective: Objective, windows: TimeWindows) -> np.ndarray:
    """Per job, a lower bound on its cost in any schedule (the alone bound above)."""
    weights = dict(objective.terms)
    n = instance.n_jobs
    late_alone = windows.earliest_finish > instance.job_deadline
    complete = np.zeros(n, dtype=np.float64)
    if "misses" in weights:
        complete += weights["misses"] * np.where(late_alone, instance.job_weight, 0)
    if "tardiness" in weights:
        complete += weights["tardiness"] * np.maximum(
            0, windows.earliest_finish - instance.job_deadline
        )
    if "energy" in weights:
        cheapest = np.where(instance.op_duration >= 0, instance.op_energy, np.iinfo(np.int64).max)
        op_energy = cheapest.min(axis=1)
        for job in range(n):
            n_variants = len(instance.tasks[int(instance.job_task[job])].variants)
            complete[job] += weights["energy"] * min(
                int(op_energy[instance.required_ops(job, k)].sum()) for k in range(n_variants)
            )
    if instance.settings.drops == "never":
        return complete
    drop = weights.get("misses", 0.0) * instance.job_weight
    return np.minimum(complete, drop)


def job_groups(
    instance: Instance,
    size: int,
    offset: int = 0,
    windows: TimeWindows | None = None,
    strategy: str = "quiet",
) -> list[list[int]]:
    """Jobs in release order, cut into groups of about ``size`` (the first about ``offset`` long
    if ``offset`` > 0); a cascaded job joins the group of its first upstream job.

    ``count``: exactly ``size`` jobs per group. ``quiet``: each cut falls on a release time,
    between half and one and a half ``size`` jobs after the previous cut, where the work that can
    cross it is smallest: the fastest work of the jobs released before the cut whose deadline is
    after it. Groups cut there tend to interact less, so the bound loses less (module
    docstring); neither strategy wins on every instance."""
    n = instance.n_jobs
    windows = windows if windows is not None else TimeWindows.of(instance)
    order = sorted(range(n), key=lambda j: (int(instance.job_release[j]), j))
    release = instance.job_release[order]
    deadline = windows.useful_deadline[order]
    work = (windows.earliest_finish - windows.effective_release)[order]
    group_of = np.zeros(n, dtype=np.int64)
    start, group = 0, 0
    target = offset if offset else size
    while start < n:
        low, high = start + max(1, target // 2), min(n, start + max(1, (3 * target) // 2))
        if strategy == "count":
            cut = min(n, start + max(1, target))
        elif high >= n:
            cut = n
        else:
            best: tuple[int, int, int] | None = None
            for position in range(low, high + 1):
                if position < n and release[position] == release[position - 1]:
                    continue  # a cut between jobs released together separates nothing
                t = int(release[position]) if position < n else None
                crossing = 0 if t is None else int(
                    work[:position][deadline[:position] > t].sum()
                )  # fmt: skip
                key = (crossing, abs(position - start - target), position)
                if best is None or key < best:
                    best = key
            cut = n if best is None else best[2]
        for position in range(start, cut):
            group_of[order[position]] = group
        start, group, target = cut, group + 1, size
    for job in range(n):
        upstream = instance.upstream_of(job)
        if len(upstream):
            group_of[job] = group_of[int(upstream[0])]
    groups: dict[int, list[int]] = {}
    for job in range(n):
        groups.setdefault(int(group_of[job]), []).append(job)
    return [groups[key] for key in sorted(groups)]


def group_bound(
    instance: Instance, objective: Objective, jobs: list[int], *, windows: TimeWindows,
    limits: SolverLimits,
) -> tuple[float, str]:  # fmt: skip
    """The proven CP-SAT bound of ``objective`` on the relaxed instance of ``jobs`` alone, and the
    solver status (``instance`` should have contention off, see the module docstring)."""
    formulation = choose_formulation(instance, objective)
    om = OracleModel(instance, formulation=formulation, jobs=jobs, windows=windows)
    integer = minimize(om, objective, reload_energy=False)
    solved = run(om, limits)
    bound = solved.bound(integer.scale)
    return (0.0 if bound is None else bound), solved.status


PARTITIONS = (  # (strategy, group size, offset), cheapest and usually best first
    ("quiet", 20, 0),
    ("count", 30, 0),
    ("quiet", 30, 0),
    ("count", 30, 15),
    ("quiet", 20, 10),
    ("quiet", 30, 15),
)


def decomposition_bound(
    instance: Instance,
    objective: str | Objective,
    *,
    partitions: tuple[tuple[str, int, int], ...] = PARTITIONS,
    target: float | None = None,
    limits: SolverLimits = UNLIMITED,
    group_time_limit: float = GROUP_TIME_LIMIT,
) -> Relaxation:
    """The larger of the alone bound and the decomposition bounds (module docstring) of
    ``objective`` on ``instance``, over the ``partitions`` (strategy, group size, first-group
    size; see :func:`job_groups`). Stops early once the bound reaches ``target`` (e.g. the best
    known objective) or the time limit of ``limits``; a group that the time limit leaves unsolved
    counts its alone bound."""
    spec = parse_objective(objective) if isinstance(objective, str) else objective
    if not decomposable(spec):
        raise ValueError(f"no decomposition bound for '{spec}': not a sum of per-job costs")
    started = time.perf_counter()
    budget_start = limits.now()
    relaxed = instance.with_settings(contention=False) if instance.settings.contention else instance
    windows = TimeWindows.of(relaxed)
    alone = alone_costs(relaxed, spec, windows)
    best = float(alone.sum())
    results: list[tuple[GroupBound, ...]] = []
    seen: set[tuple[tuple[int, ...], ...]] = set()
    for strategy, size, offset in partitions:
        if target is not None and best >= target - 1e-9 * max(1.0, abs(target)):
            break
        plan = job_groups(relaxed, size, offset, windows, strategy)
        key = tuple(tuple(jobs) for jobs in plan)
        if key in seen:
            continue
        seen.add(key)
        groups = []
        for position, jobs in enumerate(plan):
            least = float(alone[jobs].sum())
            limit = group_time_limit
            left = limits.left(budget_start, floor=0.0)
            if left is not None:
                # share what is left among this partition's groups (later partitions are extras)
                limit = min(limit, left / max(1, len(plan) - position))
            if limit < 0.01:
                groups.append(GroupBound(tuple(jobs), least, "alone"))
                continue
            bound, how = group_bound(
                relaxed, spec, jobs, windows=windows, limits=limits.with_time(limit)
            )
            if bound < least:
                bound, how = least, "alone"
            groups.append(GroupBound(tuple(jobs), bound, how))
        results.append(tuple(groups))
        best = max(best, sum(g.bound for g in groups))
        if limits.spent(budget_start):
            break
    return Relaxation(
        objective=str(spec),
        bound=best,
        alone=float(alone.sum()),
        partitions=tuple(results),
        wall_s=time.perf_counter() - started,
    )

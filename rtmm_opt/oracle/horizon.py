"""Rolling-horizon decomposition: a valid incumbent for long traces (docs/design.md §5).

The jobs are taken in release order (:func:`release_order`; a cascaded job comes after its
upstream jobs), ``window`` at a time. Window by window, the oracle's model of that window's
jobs is solved with everything decided before it fixed: the fixed ops occupy their accelerators,
and fixed upstream jobs release their dependents at their completion (or, if left out, keep
them out). Each window's solution is merged into the schedule, and the next window sees it as
fixed. At the end, jobs that the ``selection`` formulation left out are appended after everything
(``drops: never``) or dropped.

Every window only adds ops that respect the fixed ones, so the result is a valid schedule of the
whole instance (it passes the validator; :func:`rolling_horizon` checks). It is an *incumbent*,
not a bound: decisions made for an early window are never revisited, so it can be worse than
optimal. :func:`rtmm_opt.oracle.solve.solve` uses it as one more hint for the full model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rtmm_opt.instance.instance import Instance
from rtmm_opt.oracle.model import OracleModel, TimeWindows, append_jobs
from rtmm_opt.oracle.objectives import Objective, evaluate, parse_objective
from rtmm_opt.oracle.run import UNLIMITED, SolverLimits, best_hint, choose_formulation, run
from rtmm_opt.oracle.terms import minimize
from rtmm_opt.schedule.schedule import ARRAYS, JobStatus, Schedule
from rtmm_opt.schedule.validator import validate

WINDOW = 20  # jobs per window
STEP: int | None = 10  # jobs fixed per window (None: the whole window)
WINDOW_TIME_LIMIT = 5.0  # seconds per window at most: a window need not be proven optimal


@dataclass(frozen=True)
class HorizonResult:
    """The rolling-horizon schedule (valid), its objective and per-window solver statuses."""

    schedule: Schedule | None
    objective: float | None
    wall_s: float
    windows: tuple[tuple[int, str], ...]  # (number of jobs, solver status) per window


def release_order(instance: Instance, windows: TimeWindows | None = None) -> list[int]:
    """Jobs by effective release (then index): a cascaded job comes after its upstream jobs,
    since its effective release is at least their earliest finish."""
    windows = windows if windows is not None else TimeWindows.of(instance)
    release = windows.effective_release
    return sorted(range(instance.n_jobs), key=lambda j: (int(release[j]), j))


def job_windows(instance: Instance, size: int = WINDOW) -> list[list[int]]:
    """:func:`release_order` cut into windows of ``size`` jobs (the windows of
    :func:`rolling_horizon` when ``step`` is the window size)."""
    order = release_order(instance)
    size = max(1, size)
    return [sorted(order[i : i + size]) for i in range(0, len(order), size)]


def _merge(schedule: Schedule, part: Schedule, jobs: Sequence[int], instance: Instance) -> Schedule:
    """``schedule`` with the status, variant and ops of ``jobs`` taken from ``part``."""
    arrays = {name: getattr(schedule, name).copy() for name in ARRAYS}
    jobs_array = np.asarray(jobs, dtype=np.int64)
    ops = np.concatenate([np.arange(*instance.job_op_offsets[[j, j + 1]]) for j in jobs])
    for name in ("op_accelerator", "op_start", "op_end"):
        arrays[name][ops] = getattr(part, name)[ops]
    for name in ("job_status", "job_variant", "job_drop_time"):
        arrays[name][jobs_array] = getattr(part, name)[jobs_array]
    return Schedule(**arrays, producer=schedule.producer)


def rolling_horizon(
    instance: Instance,
    objective: str | Objective = "misses",
    *,
    window: int = WINDOW,
    step: int | None = STEP,
    limits: SolverLimits = UNLIMITED,
    window_time_limit: float = WINDOW_TIME_LIMIT,
    hints: Sequence[Schedule] = (),
) -> HorizonResult:
    """Solve ``instance`` window by window (module docstring); ``hints`` warm-start each window.

    Each model decides the next ``window`` jobs in release order; the first ``step`` of them
    (default: all) are then fixed, the others are decided again with the next window, which
    lets the early ones see what comes after them. The time limit of ``limits`` is shared
    evenly among the windows still to solve, each getting at most ``window_time_limit``. A
    window whose model finds no solution in its time keeps its jobs out (``selection``, drops
    allowed) or appends them after everything (``direct``, ``drops: never``), so the result is
    always a valid schedule."""
    spec = parse_objective(objective) if isinstance(objective, str) else objective
    started = time.perf_counter()
    budget_start = limits.now()
    formulation = choose_formulation(instance, spec)
    windows = TimeWindows.of(instance)
    hint, _ = best_hint(instance, spec, hints)
    order = release_order(instance, windows)
    step = window if step is None else max(1, min(step, window))
    empty = Schedule.empty(instance, producer="rolling-horizon")
    schedule = Schedule(
        op_accelerator=empty.op_accelerator, op_start=empty.op_start, op_end=empty.op_end,
        job_status=empty.job_status, job_variant=empty.job_variant,
        job_drop_time=instance.job_release.copy(), producer="rolling-horizon",
    )  # fmt: skip
    fixed = np.zeros(instance.n_jobs, dtype=bool)
    left_out: list[int] = []
    statuses: list[tuple[int, str]] = []
    never = instance.settings.drops == "never"
    position = 0
    n_windows = max(1, -(-max(0, len(order) - window) // step) + 1)
    while position < len(order):
        jobs = sorted(order[position : position + window])
        last = position + window >= len(order)
        keep = jobs if last else _closed_prefix(instance, order[position : position + step], fixed)
        limit = window_time_limit
        left = limits.left(budget_start, floor=0.0)
        if left is not None:
            remaining = max(1, n_windows - len(statuses))
            limit = max(0.05, min(limit, left / remaining))
        om = OracleModel(
            instance, formulation=formulation, jobs=jobs, frozen=schedule, windows=windows
        )
        minimize(om, spec)
        if hint is not None:
            om.add_hint(hint)
        solved = run(om, limits.with_time(limit))
        statuses.append((len(jobs), solved.status))
        if solved.found:
            part = om.extract(solved.solver, producer="rolling-horizon", complete=False)
            schedule = _merge(schedule, part, keep, instance)
            left_out.extend(j for j in keep if part.job_status[j] != JobStatus.COMPLETED)
        elif never and formulation == "direct":
            schedule = append_jobs(instance, schedule, keep)
        else:
            left_out.extend(keep)  # dropped at their release until appended (drops: never)
        fixed[keep] = True
        position += len(keep) if not last else len(order)
    if never and left_out:
        schedule = append_jobs(instance, schedule, sorted(left_out))
    wall = time.perf_counter() - started
    validate(instance, schedule).raise_if_invalid()
    return HorizonResult(
        schedule=schedule,
        objective=evaluate(instance, schedule, spec),
        wall_s=wall,
        windows=tuple(statuses),
    )


def _closed_prefix(instance: Instance, candidates: list[int], fixed: np.ndarray) -> list[int]:
    """The leading ``candidates`` whose upstream jobs are fixed or among them (at least one)."""
    chosen: list[int] = []
    taken = set()
    for job in candidates:
        if all(fixed[up] or up in taken for up in instance.upstream_of(job).tolist()):
            chosen.append(job)
            taken.add(job)
        else:
            break
    return chosen or candidates[:1]

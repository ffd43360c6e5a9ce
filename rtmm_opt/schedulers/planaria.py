"""Planaria's task scheduler, temporal part only (Ghodrati et al., "Planaria: Dynamic
Architecture Fission for Spatial Multi-Tenant Acceleration of Deep Neural Networks", MICRO
2020, §5), as Dysta's simulator implements it (``shared/dysta/README.md`` §4.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rtmm_opt.engine.contract import StaticInfo, View
from rtmm_opt.io.units import NS_PER_S
from rtmm_opt.schedulers.base import JobPickPolicy, negative_maximum_fold
from rtmm_opt.schedulers.registry import register


@register("planaria")
@dataclass
class Planaria(JobPickPolicy):
    """Deadline-driven priority scores: σ_j = p_j / ((d_j − t) · 1), the fold picks.

    p_j is the task's priority (``TaskInfo.priority``), d_j − t the time left to the deadline
    in **seconds** (the Dysta simulator's unit, which the fold's start value −1 is relative to),
    and 1 Planaria's resource estimate, which the temporal-only variant fixes at one. σ_j grows
    as the deadline approaches and is negative after it; d_j = t exactly counts as +∞ (the
    limit from before the deadline; Dysta would divide by zero). The job is chosen by
    :func:`~rtmm_opt.schedulers.base.negative_maximum_fold` over the jobs that can run, in
    release order, with its quirk: a past-deadline pick is replaced by the next job whatever
    that job's score.

    Choices the sources leave open: with several idle accelerators the fold repeats over the
    jobs that can still run (a job with parallel ready ops stays in the pool); the pick's first
    ready op goes to the idle accelerator chosen by the ``accelerator`` rule (earliest finish by
    default; Planaria's spatial fission is not modelled).
    """

    def reset(self, static: StaticInfo) -> None:
        super().reset(static)
        self._seconds_per_unit = static.time_unit_ns / NS_PER_S
        self._score: dict[int, float] = {}  # σ_j of the pool, at this decision

    def prepare(self, view: View, pool: list[int]) -> None:
        seconds = self._seconds_per_unit
        now, deadline, priority = view.now, self.deadline, self.priority
        score: dict[int, float] = {}
        for job in pool:
            left = deadline[job] - now
            score[job] = priority[job] / (left * seconds * 1) if left else math.inf
        self._score = score

    def select(self, view: View, pool: list[int]) -> int:
        return negative_maximum_fold(pool, self._score)

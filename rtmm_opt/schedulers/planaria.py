"""Planaria's task scheduler, temporal part only (Ghodrati et al., "Planaria: Dynamic
Architecture Fission for Spatial Multi-Tenant Acceleration of Deep Neural Networks", MICRO
2020, §5), as Dysta's simulator implements it (``shared/dysta/README.md`` §4.4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rtmm_opt.engine.contract import View
from rtmm_opt.schedulers.classic import JobPickPolicy
from rtmm_opt.schedulers.registry import register

NS_PER_S = 1e9


def negative_maximum_fold(jobs: Sequence[int], score: Mapping[int, float]) -> int:
    """The selection fold of Dysta's ``planaria`` and ``sdrm3`` (README §4.4, §4.5).

    Start with m := −1 and no pick; visiting ``jobs`` in order, job j replaces the pick iff
    (m < 0 or m ≤ s_j) and m ≠ s_j, and then m := s_j. Equal scores keep the earlier job; once
    m is negative (the pick is past its deadline) the next job replaces it whatever its score;
    a non-negative m is never replaced by a negative score. If nothing is picked (every score
    is exactly −1) the first job is returned.
    """
    pick, top = -1, -1.0
    for job in jobs:
        value = score[job]
        if (top < 0 or top <= value) and top != value:
            pick, top = job, value
    return pick if pick >= 0 else jobs[0]


@register("planaria")
@dataclass
class Planaria(JobPickPolicy):
    """Deadline-driven priority scores: σ_j = p_j / ((d_j − t) · 1), the fold picks.

    p_j is the task's priority (``TaskInfo.priority``), d_j − t the time left to the deadline
    in **seconds** (the Dysta simulator's unit, which the fold's start value −1 is relative to),
    and 1 Planaria's resource estimate, which the temporal-only variant fixes at one. σ_j grows
    as the deadline approaches and is negative after it; d_j = t exactly counts as +∞ (the
    limit from before the deadline; Dysta would divide by zero). The job is chosen by
    :func:`negative_maximum_fold` over the jobs that can run, in release order, with its quirk:
    a past-deadline pick is replaced by the next job whatever that job's score.

    Choices the sources leave open: with several idle accelerators the fold repeats over the
    jobs that can still run (a job with parallel ready ops stays in the pool); the pick's first
    ready op goes to the idle accelerator chosen by the ``accelerator`` rule (earliest finish by
    default; Planaria's spatial fission is not modelled).
    """

    _score: dict[int, float] = field(default_factory=dict, init=False, repr=False)

    def prepare(self, view: View, pool: list[int]) -> None:
        assert self._static is not None
        seconds = self._static.time_unit_ns / NS_PER_S
        now, deadline, priority = view.now, self._deadline, self._priority
        score: dict[int, float] = {}
        for job in pool:
            left = deadline[job] - now
            score[job] = priority[job] / (left * seconds * 1) if left else math.inf
        self._score = score

    def select(self, view: View, pool: list[int]) -> int:
        return negative_maximum_fold(pool, self._score)

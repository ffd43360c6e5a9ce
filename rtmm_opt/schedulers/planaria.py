"""Planaria's task scheduler, temporal part only (Ghodrati et al., "Planaria: Dynamic
Architecture Fission for Spatial Multi-Tenant Acceleration of Deep Neural Networks", MICRO
2020, §5), as Dysta's simulator implements it (``shared/dysta/README.md`` §4.4).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

from rtmm_opt.engine.contract import Run, StaticInfo, View
from rtmm_opt.engine.core import JobPickRule
from rtmm_opt.io.units import NS_PER_S
from rtmm_opt.schedulers.base import JobPickPolicy, negative_maximum_fold
from rtmm_opt.schedulers.registry import register

_SCALE = 2**30  # Planaria.sure's margin: 1 part in 2^30
_SCALE_1 = _SCALE - 1
_MARGIN = 1.0 / _SCALE


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

    def compiled_rule(self) -> JobPickRule | None:
        if type(self) is not Planaria or not self._everywhere:
            return None
        return JobPickRule(
            "planaria", self.work.per_op, self.priority, self.deadline,
            seconds_per_unit=self._seconds_per_unit,
        )  # fmt: skip

    def sure(self, run: Run, pool: list[int], boundary: int) -> int:
        """The fold's outcome depends only on the signs of the scores, on which of two scores
        of one sign is larger, and on whether the first one is −1 (its start value). A score
        changes sign only at its deadline; two scores of one sign, σ_k = p_k / ((d_k − t) s),
        change order only where p_k |d_l − t| = p_l |d_k − t|, which is linear in t. The
        outcome at this boundary therefore stays until the first of these times, each taken
        with a margin of 1 part in 2³⁰ (far above the float rounding of σ) and in integers."""
        job, times, deadline, priority = run.job, run.times, self.deadline, self.priority
        now = times[boundary]
        self.prepare(run.view_at(boundary), pool)  # only _score, which decide sets again
        if negative_maximum_fold(pool, self._score) != job:
            return 0
        until = times[-1]  # boundaries before it are vouched for
        signs = []
        for k in pool:
            left = deadline[k] - now
            if left == 0:
                return 0  # σ = ∞
            signs.append(1 if left > 0 else -1)
            if left > 0:
                until = min(until, deadline[k])
        first = pool[0]
        if signs[0] < 0:  # σ_first = −1 at t = d + p / s: stay clear of it
            crossing = priority[first] / self._seconds_per_unit
            past = now - deadline[first]
            if past > crossing * (1 + _MARGIN):
                pass  # |σ| < 1 from now on
            elif past < crossing * (1 - _MARGIN):
                until = min(until, deadline[first] + math.floor(crossing * (1 - _MARGIN)))
            else:
                return 0
        for index, k in enumerate(pool):
            p_k, d_k, s_k = priority[k], deadline[k], signs[index]
            for other in range(index + 1, len(pool)):
                s_l = signs[other]
                if s_l != s_k:
                    continue
                p_l, d_l = priority[pool[other]], deadline[pool[other]]
                for p_a, d_a, p_b, d_b in ((p_k, d_k, p_l, d_l), (p_l, d_l, p_k, d_k)):
                    # |σ_a| (1 − 2⁻³⁰) > |σ_b|:  p_a |d_b − t| (S − 1) − p_b |d_a − t| S = a − b t
                    a = s_k * (p_a * d_b * _SCALE_1 - p_b * d_a * _SCALE)
                    b = s_k * (p_a * _SCALE_1 - p_b * _SCALE)
                    if a - b * now > 0:
                        if b > 0:
                            until = min(until, (a - 1) // b + 1)  # t < a / b
                        break
                else:
                    return 0  # too close to call
        return bisect_left(times, until, boundary, len(times) - 1) - boundary

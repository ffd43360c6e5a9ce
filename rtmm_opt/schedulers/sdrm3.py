"""SDRM3 (Kim et al., "SDRM3: A Dynamic Scheduler for Dynamic Real-time Multi-model ML
Workloads", arXiv:2212.03414v1, 2022; its revision is DREAM, ASPLOS'23), in the single-score
form that Dysta's simulator implements as ``sdrm3`` (``shared/dysta/README.md`` §4.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rtmm_opt.engine.contract import StaticInfo, View
from rtmm_opt.engine.core import JobPickRule
from rtmm_opt.errors import excerpt
from rtmm_opt.schedulers.base import PredictingJobPick, negative_maximum_fold
from rtmm_opt.schedulers.registry import register


@register("sdrm3")
@dataclass
class SDRM3(PredictingJobPick):
    """MapScore = urgency + α · fairness; the fold picks.

    * urgency u_j = R_j / (d_j − t), capped above at 1 and **not** floored, so it is negative
      after the deadline. R_j is the predicted remaining work (:class:`RemainingWork`, each op
      at its fastest predicted duration, from the ``estimates`` set, ``op_predicted`` by
      default). d_j = t exactly gives u_j = 1 (the limit from before
      the deadline, capped; Dysta would divide by zero).
    * fairness f_j = w_j / e_j: the waited time w_j = t − t_last,j (the end of the job's last
      finished op, or its release; 0 while one of its ops runs) over e_j, the predicted
      duration (fastest eligible accelerator) of its next op (its first ready op; Dysta's
      "next layer"), at least one time unit.
    * MapScore_j = u_j + α · f_j, with ``alpha`` = 1 (Dysta's ``--alpha``). Both terms are
      ratios, so the score does not depend on the time unit.

    The job is chosen by :func:`~rtmm_opt.schedulers.base.negative_maximum_fold` over the
    jobs that can run, in release order (Dysta's quirk: a negative running maximum is replaced
    by the next job whatever its score). With several idle accelerators the fold repeats over
    the jobs that can still run; the pick's first ready op goes to the idle accelerator chosen
    by the ``accelerator`` rule (earliest finish by default). SDRM3's adaptive weights, drops
    and variant choice belong to ``dream``, not here.
    """

    alpha: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.alpha, bool) or not (
            isinstance(self.alpha, int | float) and math.isfinite(self.alpha) and self.alpha >= 0
        ):
            raise ValueError(f"alpha must be a finite number >= 0, got {excerpt(self.alpha)}")
        self.alpha = float(self.alpha)

    def reset(self, static: StaticInfo) -> None:
        super().reset(static)
        self._divisor = [max(1, estimate) for estimate in self.work.per_op]  # e per op, at least 1
        self._score: dict[int, float] = {}  # MapScore of the pool, at this decision

    def prepare(self, view: View, pool: list[int]) -> None:
        running, ready, divisor = self._running, self._ready, self._divisor
        remaining, deadline, alpha = self.work.remaining, self.deadline, self.alpha
        now, last_progress = view.now, view.job_last_progress
        score: dict[int, float] = {}
        for job in pool:
            left = deadline[job] - now
            urgency = remaining[job] / left if left else 1.0
            if urgency > 1.0:
                urgency = 1.0
            waited = 0 if job in running else now - last_progress(job)  # is_running
            next_op = next(iter(ready[job]))  # first_ready_op
            score[job] = urgency + alpha * (waited / divisor[next_op])
        self._score = score

    def select(self, view: View, pool: list[int]) -> int:
        return negative_maximum_fold(pool, self._score)

    def compiled_rule(self) -> JobPickRule | None:
        if type(self) is not SDRM3 or not self._everywhere:
            return None
        return JobPickRule(
            "sdrm3", self.work.per_op, self.priority, self.deadline, alpha=self.alpha
        )

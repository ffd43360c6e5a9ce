"""PREMA (Choi & Rhu, "PREMA: A Predictive Multi-task Scheduling Algorithm For Preemptible
Neural Processing Units", HPCA 2020, Algorithm 1), as Dysta's simulator implements it
(``shared/dysta/README.md`` §4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from rtmm_opt.engine.contract import StaticInfo, View
from rtmm_opt.schedulers.base import PredictingJobPick
from rtmm_opt.schedulers.registry import register

THRESHOLDS = (9.0, 3.0, 1.0)  # PREMA's token thresholds, highest first (the task priorities)


@register("prema")
@dataclass
class Prema(PredictingJobPick):
    """Token-based preemptive scheduling: tokens grow with priority × normalised waiting time;
    the shortest job among those with the highest reached token threshold runs.

    At every decision that dispatches, the active jobs (released, unfinished, in release order)
    are visited with M := 0:

    * a job seen for the first time gets τ_j := p_j. *Quirk kept from the Dysta code: M is not
      updated for it;*
    * otherwise τ_j := τ_j + p_j · w_j / T_j, then M := max(M, τ_j).

    p_j is the task's priority (``TaskInfo.priority``; the job's ``job_weight`` is not PREMA's
    priority). w_j is the waited time, t − t_last,j (the end of the job's last finished op, or
    its release), and 0 while one of its ops runs. T_j is the isolated estimate: the job's
    predicted total work (:class:`RemainingWork` ``.total``, each op at its fastest predicted
    duration, from the ``estimates`` set; ``op_predicted`` by default, which on a Dysta import
    holds the per-architecture averages the simulator's ``prema`` uses). The increment uses the
    whole time since the job last progressed and is added at *every* decision, so waiting jobs'
    tokens grow super-linearly (README §5.5).

    Threshold θ = 9 if M ≥ 9, else 3 if M ≥ 3, else 1. Candidates: τ_j ≥ θ (≥, as in the Dysta
    code, where the paper has >). Pick: the smallest predicted remaining work R_j among the
    candidates, ties to the job released first.

    Choices the sources leave open (they schedule one accelerator):

    * tokens are updated once per decision that dispatches something (Dysta decides once per
      executed layer); a decision at which nothing can run leaves them alone;
    * with several idle accelerators the pick repeats over the jobs that can still run, with the
      same tokens; M, θ and the candidates are taken over those jobs (the pool), which on one
      accelerator is the whole queue. If no job of the pool reaches θ (only possible with
      priorities below 1), every job of the pool is a candidate;
    * the pick's first ready op goes to an idle accelerator by the ``accelerator`` rule
      (earliest finish by default).

    ``tokens`` holds τ after the last decision (read-only; for inspection and tests).
    """

    def reset(self, static: StaticInfo) -> None:
        super().reset(static)
        self.tokens: dict[int, float] = {}
        self._fresh: set[int] = set()  # jobs whose token was set at this decision (not in M)

    def prepare(self, view: View, pool: list[int]) -> None:
        old, priority, total = self.tokens, self.priority, self.work.total
        now, last_progress, running = view.now, view.job_last_progress, self.is_running
        tokens: dict[int, float] = {}
        fresh: set[int] = set()
        for job in view.active_jobs:
            token = old.get(job)
            if token is None:
                tokens[job] = float(priority[job])
                fresh.add(job)
            else:
                waited = 0 if running(job) else now - last_progress(job)
                tokens[job] = token + priority[job] * waited / max(1, total[job])
        self.tokens, self._fresh = tokens, fresh

    def saved_state(self) -> object:
        return self.tokens, self._fresh

    def restore_state(self, saved: object) -> None:
        self.tokens, self._fresh = saved  # type: ignore[misc]

    def threshold(self, pool: list[int]) -> float:
        """θ for this pool: the highest threshold that M (over tokens not set just now) reaches."""
        tokens, fresh = self.tokens, self._fresh
        top = 0.0
        for job in pool:
            if job not in fresh and tokens[job] > top:
                top = tokens[job]
        return next((level for level in THRESHOLDS if top >= level), THRESHOLDS[-1])

    def select(self, view: View, pool: list[int]) -> int:
        tokens = self.tokens
        theta = self.threshold(pool)
        candidates = [job for job in pool if tokens[job] >= theta] or pool
        return min(candidates, key=self.work.remaining.__getitem__)

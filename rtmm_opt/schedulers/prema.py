"""PREMA (Choi & Rhu, "PREMA: A Predictive Multi-task Scheduling Algorithm For Preemptible
Neural Processing Units", HPCA 2020, Algorithm 1), as Dysta's simulator implements it
(``shared/dysta/README.md`` §4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from rtmm_opt.engine.contract import Run, StaticInfo, View
from rtmm_opt.engine.core import JobPickRule
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

    def hold(self, run: Run) -> int:
        """:meth:`prepare` and :meth:`select` along a run, inlined: the waiting jobs' tokens
        grow at every boundary, the run's job's token stays (it waited 0) and its predicted
        remaining work shrinks; the first boundary that picks another job is not kept. The
        general :meth:`JobPickPolicy.hold` runs where the pool is not every active job."""
        view, job, first, times = run.view, run.job, run.first, run.times
        active = list(view.active_jobs)
        tokens, ready = self.tokens, self._ready
        if (
            len(active) == 1
            or not self._everywhere
            or not all(k == job or ready.get(k) for k in active)
            or not all(k in tokens for k in active)
        ):
            return super().hold(run)
        priority, total = self.priority, self.work.total
        remaining, per_op = self.work.remaining, self.work.per_op
        last_progress = view.job_last_progress
        waiting = [k for k in active if k != job]
        # per waiting job: priority, last progress, isolated estimate, remaining work, and
        # whether it wins a tie of remaining work with the job (released before it)
        before = set(active[: active.index(job)])
        rows = [
            (priority[k], last_progress(k), max(1, total[k]), remaining[k], k in before)
            for k in waiting
        ]
        values = [tokens[k] for k in waiting]
        job_token, work = tokens[job], remaining[job]
        nine, three, one = THRESHOLDS
        kept = 0
        for boundary in range(len(times) - 1):
            now = times[boundary]
            grown = []
            top = job_token if job_token > 0.0 else 0.0
            for token, (p, since, isolated, _, _) in zip(values, rows, strict=True):
                token = token + p * (now - since) / isolated
                grown.append(token)
                if token > top:
                    top = token
            theta = nine if top >= nine else three if top >= three else one
            left = work - per_op[first + boundary - 1]
            # the candidates are the jobs whose token reached θ (all of them if none did); the
            # job runs unless another candidate has less work left, or as much and came first
            job_candidate = job_token >= theta
            if not job_candidate and any(token >= theta for token in grown):
                break
            if any(
                (not job_candidate or token >= theta)
                and (work_k < left or (work_k == left and first_k))
                for token, (_, _, _, work_k, first_k) in zip(grown, rows, strict=True)
            ):
                break
            values, work = grown, left
            kept += 1
        if kept:
            remaining[job] = work
            grown_tokens = dict(zip(waiting, values, strict=True))
            grown_tokens[job] = job_token
            self.tokens = {k: grown_tokens[k] for k in active}
            self._fresh = set()
            self._running[job] = 1
        return kept

    def compiled_rule(self) -> JobPickRule | None:
        if type(self) is not Prema or not self._everywhere:
            return None
        return JobPickRule("prema", self.work.per_op, self.priority, self.deadline)

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

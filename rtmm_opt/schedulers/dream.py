"""DREAM: a score-driven scheduler for dynamic RTMM workloads on multi-accelerator systems.

Kim et al., "DREAM: A Dynamic Scheduler for Dynamic Real-time Multi-model ML Workloads",
ASPLOS'23 (arXiv 2212.03414). The paper has no public code and its published text gives the
ingredients (a per (job, accelerator) MapScore from urgency, fairness and accelerator
preference; tunable weights adapted online against UXCost; proactive frame drop; supernet
variant switching) rather than every formula. Each formula below is this project's
reconstruction, starting from docs/design.md §4; ``docs/schedulers/dream.md`` says what the
paper says, what is done here and why.

Symbols (t = now, all times in the instance's time unit):

* ``R_j(a)``: predicted remaining latency of job j if the rest of it ran on accelerator a
  (ops of its variant not yet dispatched, plus what is left of its running ops);
  ``R_j* = min_a R_j(a)``; ``E_j(a)``, ``E_j*`` likewise for the energy of the undispatched ops.
* urgency ``U_j = R_j* / max(ε, d_j − t)``; starvation ``F_j = (t − last progress of j) / τ_j``
  with τ_j the task period (the job's relative deadline for aperiodic tasks); preference
  ``P_j(a) = R_j*/R_j(a) · (E_j*/E_j(a))^λ`` in (0, 1].
* ``MapScore_j(a) = U_j + α·F_j + β·P_j(a)``; idle accelerators are filled greedily by
  descending MapScore, one op per accelerator.

The online tuning of (α, β) against UXCost is its own class,
:class:`~rtmm_opt.schedulers.dream_tuning.WeightTuner`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rtmm_opt.engine.contract import Decision, Notice, Policy, StaticInfo, View
from rtmm_opt.engine.core import DreamRule
from rtmm_opt.errors import excerpt
from rtmm_opt.io.units import NS_PER_MS
from rtmm_opt.schedulers.dream_tuning import AdaptationWindow, WeightTuner
from rtmm_opt.schedulers.registry import register

FloatArray = npt.NDArray[np.float64]



def map_scores(
    remaining_latency: FloatArray,
    remaining_energy: FloatArray,
    slack: FloatArray,
    waited: FloatArray,
    period: FloatArray,
    *,
    alpha: float,
    beta: float,
    lam: float,
    epsilon: float,
) -> FloatArray:
    """MapScore[j, a] = U_j + α·F_j + β·P_j(a) for jobs j (rows) and accelerators a (columns).

    ``remaining_latency``/``remaining_energy``: R_j(a), E_j(a), shape (jobs, accelerators).
    ``slack`` = d_j − t, ``waited`` = t − last progress, ``period`` = τ_j (one value per job).
    Urgency U_j = R_j*/max(ε, slack); starvation F_j = waited/τ_j; preference
    P_j(a) = (R_j*/R_j(a))·(E_j*/E_j(a))^λ, taken as 1 where R_j(a) (or E_j(a)) is 0.
    DREAM §4 (MapScore); the exact terms are this project's reconstruction
    (docs/schedulers/dream.md).
    """
    best_latency = remaining_latency.min(axis=1)
    best_energy = remaining_energy.min(axis=1)
    urgency = best_latency / np.maximum(epsilon, slack)
    starvation = waited / period
    latency_ratio = np.divide(
        best_latency[:, None],
        remaining_latency,
        out=np.ones_like(remaining_latency),
        where=remaining_latency > 0,
    )
    energy_ratio = np.divide(
        best_energy[:, None],
        remaining_energy,
        out=np.ones_like(remaining_energy),
        where=remaining_energy > 0,
    )
    preference = latency_ratio * energy_ratio**lam
    result: FloatArray = (urgency + alpha * starvation)[:, None] + beta * preference
    return result


@register("dream")
@dataclass
class Dream(Policy):
    """DREAM (Kim et al., ASPLOS'23): MapScore dispatch, online (α, β) tuning, proactive drop,
    variant selection under load. See the module docstring and ``docs/schedulers/dream.md``.

    Parameters: ``alpha``, ``beta`` (initial weights of starvation and preference), ``lam``
    (energy exponent of the preference), ``epsilon_ms`` (the smallest slack urgency divides
    by), ``window_ms`` (adaptation window, simulated time), ``step`` (initial move of (α, β) per
    adaptation cycle), ``probe`` (finite-difference perturbation), ``step_shrink`` and
    ``min_step`` (backtracking: the step shrinks when the cost does not fall; adaptation stops
    below ``min_step``), ``max_weight`` (α, β stay in [0, max_weight]), ``adapt``,
    ``proactive_drop``, ``variant_slack_threshold`` (a variant fits when its predicted latency
    plus its share of the backlog, times this margin, is within the slack) and
    ``variant_utilisation_threshold`` (a variant fits when the predicted steady-state
    utilisation stays at or below this). Defaults and how they were measured:
    docs/schedulers/dream.md.

    Read-outs after a replay: ``history`` (every adaptation window), ``weights``, ``converged``.
    """

    alpha: float = 1.0
    beta: float = 3.0
    lam: float = 0.5
    epsilon_ms: float = 0.01
    window_ms: float = 100.0
    step: float = 1.0
    probe: float = 0.5
    step_shrink: float = 0.5
    min_step: float = 0.1
    max_weight: float = 8.0
    adapt: bool = True
    proactive_drop: bool = True
    variant_slack_threshold: float = 1.2
    variant_utilisation_threshold: float = 0.8

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "lam", "probe", "min_step"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {excerpt(value)}")
        for name in ("epsilon_ms", "window_ms", "max_weight", "variant_slack_threshold"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {excerpt(value)}")
        if not (math.isfinite(self.step) and self.step >= 0):
            raise ValueError(f"step must be a finite number >= 0, got {excerpt(self.step)}")
        if not 0 < self.step_shrink < 1:
            raise ValueError(f"step_shrink must be in (0, 1), got {excerpt(self.step_shrink)}")
        if not (
            math.isfinite(self.variant_utilisation_threshold)
            and self.variant_utilisation_threshold > 0
        ):
            raise ValueError(
                "variant_utilisation_threshold must be a finite number > 0, "
                f"got {excerpt(self.variant_utilisation_threshold)}"
            )
        if self.alpha > self.max_weight or self.beta > self.max_weight:
            raise ValueError(f"alpha and beta must not exceed max_weight ({self.max_weight})")

    # -- public read-outs ------------------------------------------------------------------------
    @property
    def history(self) -> list[AdaptationWindow]:
        """Every adaptation window of the last replay."""
        return self._tuner.history

    @property
    def weights(self) -> tuple[float, float]:
        """The (α, β) the next decision uses (after adaptation, probes included)."""
        return self._tuner.weights

    @property
    def converged(self) -> bool:
        """True once the adaptation step fell below ``min_step`` (the weights are then fixed)."""
        return self._tuner.converged

    # -- setup -----------------------------------------------------------------------------------
    def reset(self, static: StaticInfo) -> None:
        self.static = static
        n_jobs, n_acc = len(static.job_task), len(static.accelerators)
        # per op and accelerator: predicted latency and energy (ineligible: the op's best)
        self._op_latency = _eligible_or_best(static.op_predicted)
        self._op_energy = _eligible_or_best(static.op_energy, static.op_predicted)
        # per job and accelerator: R_j(a), E_j(a) of its undispatched ops
        self._rest_latency = np.zeros((n_jobs, n_acc))
        self._rest_energy = np.zeros((n_jobs, n_acc))
        relative_deadline = (static.job_deadline - static.job_release).astype(np.float64)
        task_period = np.array(
            [float(task.period) if task.period else 0.0 for task in static.tasks], np.float64
        )
        period = task_period[static.job_task] if len(static.tasks) else np.zeros(n_jobs)
        # aperiodic tasks: the job's relative deadline stands in for τ_j (docs/schedulers/dream.md)
        period = np.where(period > 0, period, relative_deadline)
        self._period: FloatArray = np.maximum(period, 1.0)
        self._deadline: list[int] = static.job_deadline.tolist()
        self._op_job: list[int] = static.op_job_list
        self._predicted: list[list[int]] = static.predicted_rows  # read-only
        self._epsilon = max(self.epsilon_ms * NS_PER_MS / static.time_unit_ns, 1e-9)
        # per active job
        self._ready: dict[int, dict[int, None]] = {}  # its ready, undispatched ops
        self._in_flight: dict[int, dict[int, int]] = {}  # its running ops -> predicted end
        self._last_end: dict[int, int] = {}  # the end of its last finished op
        # jobs whose task has several variants: per variant and accelerator, the predicted
        # latency and energy; the variants, most accurate first
        self._variant_latency: dict[int, FloatArray] = {}
        self._variant_energy: dict[int, FloatArray] = {}
        self._variant_order: dict[int, list[int]] = {}
        # per task seen: the best latency of its latest job (its chosen variant), its period
        self._task_work: dict[int, float] = {}
        self._task_period_seen: dict[int, float] = {}
        self._op_accelerator: dict[int, int] = {}  # running op -> its accelerator
        self._tuner = WeightTuner(
            self.alpha,
            self.beta,
            window=max(1, round(self.window_ms * NS_PER_MS / static.time_unit_ns)),
            step=self.step,
            probe=self.probe,
            step_shrink=self.step_shrink,
            min_step=self.min_step,
            max_weight=self.max_weight,
            adapt=self.adapt,
        )

    def compiled_rule(self) -> DreamRule | None:
        """This policy for the compiled core (:mod:`rtmm_opt.engine.core`), after ``reset``:
        DREAM itself, with an energy exponent ``lam`` of 0, 0.5, 1 or 2; the core declines
        tasks with several variants."""
        if type(self) is not Dream or self.lam not in (0.0, 0.5, 1.0, 2.0):
            return None
        return DreamRule(
            self._op_latency, self._op_energy, self._period, self._epsilon, self.lam,
            self.proactive_drop, self._tuner.window, self._tuner,
        )  # fmt: skip

    # -- the decision ----------------------------------------------------------------------------
    def decide(self, view: View) -> Decision | None:
        now = view.now
        self._observe(view)
        self._tuner.observe(now)
        decision = Decision()
        candidates = self._candidates(view)
        if not candidates:
            return None
        for job in candidates:
            if job in self._variant_order and not view.job_started(job):
                self._choose_variant(view, job, decision)
        if self.proactive_drop and self.static.drops_allowed:
            kept = []
            for job in candidates:
                if self._deadline[job] - now < self._best_remaining(job, now):
                    decision.drops.append(job)
                    self._forget(job)
                else:
                    kept.append(job)
            candidates = kept
        idle = view.idle_accelerators
        if idle and candidates:
            self._dispatch(view, candidates, idle, decision)
        if not (decision.dispatches or decision.drops or decision.variants):
            return None
        return decision

    def _candidates(self, view: View) -> list[int]:
        """Jobs with a ready op (stale entries pruned), in job order (= release order)."""
        candidates = []
        empty = []
        for job, ops in self._ready.items():
            for op in [op for op in ops if not view.is_ready(op)]:
                del ops[op]
            if ops:
                candidates.append(job)
            else:
                empty.append(job)
        for job in empty:
            del self._ready[job]
        candidates.sort()
        return candidates

    def _in_flight_latency(self, job: int, now: int) -> float:
        """What is predicted to be left of the job's running ops (serially, like R_j)."""
        running = self._in_flight.get(job)
        if not running:
            return 0.0
        return float(sum(max(0, end - now) for end in running.values()))

    def _best_remaining(self, job: int, now: int) -> float:
        return float(self._rest_latency[job].min()) + self._in_flight_latency(job, now)

    def _dispatch(
        self, view: View, candidates: list[int], idle: list[int], decision: Decision
    ) -> None:
        now = view.now
        n_acc = view.n_accelerators
        predicted = self._predicted
        if len(candidates) == 1 and len(idle) == 1:
            # one (job, accelerator) pair: its score cannot change the outcome
            job, acc = candidates[0], idle[0]
            op = next((op for op in self._ready[job] if predicted[op][acc] >= 0), -1)
            if op >= 0:
                self._start(job, op, acc, now, decision)
            return
        rows = np.array(candidates, np.int64)
        in_flight = np.array([self._in_flight_latency(job, now) for job in candidates])
        latency = self._rest_latency[rows] + in_flight[:, None]
        energy = self._rest_energy[rows]
        slack = np.array([self._deadline[job] - now for job in candidates], np.float64)
        waited = np.array([now - view.job_last_progress(job) for job in candidates], np.float64)
        alpha, beta = self._tuner.weights
        scores = map_scores(
            latency,
            energy,
            slack,
            waited,
            self._period[rows],
            alpha=alpha,
            beta=beta,
            lam=self.lam,
            epsilon=self._epsilon,
        )
        is_idle = np.zeros(n_acc, bool)
        is_idle[idle] = True
        ready_lists = [list(self._ready[job]) for job in candidates]
        allowed = np.zeros((len(candidates), n_acc), bool)
        for row, ops in enumerate(ready_lists):
            allowed[row] = self._eligible(ops, is_idle)
        scores = np.where(allowed, scores, -np.inf)
        while True:
            top = scores.max()
            if top == -np.inf:
                break
            # equal scores (e.g. β = 0): the accelerator where the job's rest is fastest, then
            # the lowest indices
            _, row, acc = min(
                (latency[row, acc], row, acc)
                for row, acc in zip(*np.nonzero(scores == top), strict=True)
            )
            job = candidates[row]
            ops = ready_lists[row]
            op = next(op for op in ops if predicted[op][acc] >= 0)
            ops.remove(op)
            self._start(job, op, acc, now, decision)
            is_idle[acc] = False
            scores[:, acc] = -np.inf
            if not ops:
                scores[row] = -np.inf
            else:
                # a job with several ready ops (parallel branches) may take another accelerator
                scores[row] = np.where(self._eligible(ops, is_idle), scores[row], -np.inf)

    def _start(self, job: int, op: int, acc: int, now: int, decision: Decision) -> None:
        """Dispatch ``op`` to ``acc``; its predicted cost moves from the rest to in flight."""
        del self._ready[job][op]
        decision.dispatches.append((op, acc))
        self._rest_latency[job] -= self._op_latency[op]
        self._rest_energy[job] -= self._op_energy[op]
        self._in_flight.setdefault(job, {})[op] = now + self._predicted[op][acc]
        self._op_accelerator[op] = acc

    def _eligible(self, ops: list[int], is_idle: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        mask = np.zeros_like(is_idle)
        for op in ops:
            mask |= np.asarray(self._predicted[op]) >= 0
        return mask & is_idle

    # -- variants ----------------------------------------------------------------------------------
    def _choose_variant(self, view: View, job: int, decision: Decision) -> None:
        """The most accurate variant that fits; if none fits, the fastest.

        See docs/schedulers/dream.md.

        Variant v of job j (task k) fits when both hold:

        * slack: ``variant_slack_threshold × (R_j*(v) + W_j / accelerators) ≤ d_j − t``, W_j
          being the best remaining latency of the other active jobs due no later than j (the
          job's own work plus its share of the backlog ahead of it, with a margin);
        * utilisation: ``(Σ_{i≠k} w_i/τ_i + R_j*(v)/τ_k) / accelerators ≤
          variant_utilisation_threshold``, w_i being the best latency of task i's latest job
          (with its chosen variant) and τ_i the task period (the relative deadline for
          aperiodic tasks): the steady-state load if every task keeps its current rate.

        Without load the most accurate variant fits; "under load" means it does not.
        """
        now = view.now
        static = self.static
        slack = self._deadline[job] - now
        best = self._variant_latency[job].min(axis=1)
        deadline = self._deadline[job]
        backlog = 0.0
        for other in view.active_jobs:
            if other != job and self._deadline[other] <= deadline:
                backlog += self._best_remaining(other, now)
        n_acc = view.n_accelerators
        task = int(static.job_task[job])
        other_load = math.fsum(
            work / self._task_period_seen[other_task]
            for other_task, work in self._task_work.items()
            if other_task != task
        )
        chosen = -1
        for variant in self._variant_order[job]:  # most accurate first
            demand = self.variant_slack_threshold * (best[variant] + backlog / n_acc)
            utilisation = (other_load + best[variant] / self._task_period_seen[task]) / n_acc
            if demand <= slack and utilisation <= self.variant_utilisation_threshold:
                chosen = variant
                break
        if chosen < 0:
            # nothing fits: the fastest variant (the most accurate among equally fast ones)
            order = self._variant_order[job]
            chosen = min(order, key=lambda v: (best[v], order.index(v)))
        self._task_work[task] = float(best[chosen])
        if chosen == view.job_variant(job):
            return
        decision.variants[job] = chosen
        self._rest_latency[job] = self._variant_latency[job][chosen]
        self._rest_energy[job] = self._variant_energy[job][chosen]
        offsets = static.op_pred_offsets
        # the engine re-opens the job with the new variant's source ops before dispatching
        self._ready[job] = {
            op: None
            for op in static.ops_of(job)
            if static.op_variant[op] == chosen and offsets[op + 1] == offsets[op]
        }

    # -- notices -----------------------------------------------------------------------------------
    def _observe(self, view: View) -> None:
        static = self.static
        for kind, item in view.notices:
            if kind == Notice.OP_READY:
                self._ready.setdefault(self._op_job[item], {})[item] = None
            elif kind == Notice.RELEASED:
                self._on_release(view, item)
            elif kind == Notice.OP_DONE:
                job = self._op_job[item]
                running = self._in_flight.get(job)
                if running is not None:
                    running.pop(item, None)
                acc = self._op_accelerator.pop(item, -1)
                if acc >= 0:
                    self._tuner.op_finished(int(static.op_energy[item, acc]))
                end = view.op_start(item) + view.actual_duration(item)
                self._last_end[job] = max(end, self._last_end.get(job, end))
            elif kind == Notice.JOB_DONE:
                completion = self._last_end.get(item, view.now)
                self._tuner.job_ended(missed=completion > self._deadline[item])
                self._forget(item)
            elif kind == Notice.JOB_DROPPED:
                self._tuner.job_ended(missed=True)
                self._forget(item)

    def _on_release(self, view: View, job: int) -> None:
        static = self.static
        ops = static.ops_of(job)
        variants = static.op_variant[ops.start : ops.stop]
        latency = self._op_latency[ops.start : ops.stop]
        energy = self._op_energy[ops.start : ops.stop]
        task = static.tasks[int(static.job_task[job])]
        if len(task.variants) > 1:
            n_var = len(task.variants)
            per_variant_latency = np.zeros((n_var, latency.shape[1]))
            per_variant_energy = np.zeros((n_var, latency.shape[1]))
            for variant in range(n_var):
                mask = variants == variant
                per_variant_latency[variant] = latency[mask].sum(axis=0)
                per_variant_energy[variant] = energy[mask].sum(axis=0)
            self._variant_latency[job] = per_variant_latency
            self._variant_energy[job] = per_variant_energy
            self._variant_order[job] = sorted(
                range(n_var), key=lambda v: (-task.variants[v].accuracy, v)
            )
        current = variants == view.job_variant(job)
        self._rest_latency[job] = latency[current].sum(axis=0)
        self._rest_energy[job] = energy[current].sum(axis=0)
        task_index = int(static.job_task[job])
        self._task_work[task_index] = float(self._rest_latency[job].min())
        self._task_period_seen[task_index] = float(self._period[job])

    def _forget(self, job: int) -> None:
        self._ready.pop(job, None)
        self._in_flight.pop(job, None)
        self._last_end.pop(job, None)
        self._variant_latency.pop(job, None)
        self._variant_energy.pop(job, None)
        self._variant_order.pop(job, None)


def _eligible_or_best(
    values: npt.NDArray[np.int64], eligibility: npt.NDArray[np.int64] | None = None
) -> FloatArray:
    """``values`` as floats, ineligible entries (-1) replaced by the op's best eligible value.

    R_j(a) reads "the rest of j on a"; an op that cannot run on a would migrate, so it counts
    at its best eligible cost (docs/schedulers/dream.md).
    """
    eligible = (values if eligibility is None else eligibility) >= 0
    result = values.astype(np.float64)
    if result.size == 0:
        return result
    best = np.where(eligible, result, np.inf).min(axis=1)
    best = np.where(np.isfinite(best), best, 0.0)
    result = np.where(eligible, result, best[:, None])
    return result

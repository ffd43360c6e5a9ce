"""Dysta (Fan et al., "Sparse-DySta", MICRO'23) and its ablation and oracle baselines.

The formulas are those of the authors' simulator, as written down in
``shared/dysta/README.md`` (§3.4 for the per-task quantities, §4.6 for ``dysta``, §4.7 for
``dysta_oracle``). At a decision at time t, with N the number of active (released,
unfinished) jobs, every active job j with a ready op gets the key

    r_j       = γ_j · R_est,j
    urgency_j = max(0, (D_j − t) − r_j)
    penalty_j = ((t − t_last,j) / T_est,j) / N
    key_j     = r_j + β · (urgency_j + penalty_j)

and the smallest key runs; ties keep the job released (admitted) first. Symbols → code:

=============  ==========================================================================
symbol         here
=============  ==========================================================================
t              ``view.now`` × ``time_scale`` (seconds)
D_j            ``static.job_deadline[j]`` (the (D_j − t) difference is taken in integer
               time units, then scaled)
t_last,j       ``view.job_last_progress(j)``: the end of j's last finished op, else its
               (effective) release — the README's "initialised to a_j"
E_j (per op)   ``_estimate[op]``: the op's estimate from the ``estimates`` set (``dysta``,
               ``dysta_naive``; see below) or realised ``op_duration`` (``dysta_oracle``),
               each the minimum over the accelerators the op is eligible on
R_est,j        ``_remaining[j]``: Σ E over j's unfinished ops; T_est,j: ``_total[j]``, Σ E
               over all of them (R_real, T_real for ``dysta_oracle``)
γ_j            ``gamma(j)``: ``_ratio_sum[j] / _ratio_count[j]``, 1 before the first term
s_i, avgSp_i   ``view.measured_sparsity(op)``, ``static.op_sparsity_mean[op]``
N              the number of active jobs (``view.active_jobs``), running ones included
β              ``beta`` (0.01, the simulator's ``--beta``)
=============  ==========================================================================

**Estimate sets.** The simulator's ``dysta`` reads the per-pattern layer averages avgLatPattern
(README §3.4). The Dysta importer stores them as the estimate set ``"pattern"``, next to the
per-architecture averages avgLatModel in ``op_predicted`` that the baselines read
(``docs/dysta.md``). Parameter ``estimates`` chooses: ``"auto"`` (the default) is ``"pattern"``
for ``dysta`` when the instance has that set, else ``op_predicted``; for ``dysta_naive`` it is
always ``op_predicted``, because the paper's "w/o sparse/pattern" ablation drops pattern
awareness together with the sparsity monitor. ``"predicted"`` or a set's name force a choice.

**Units.** The README's formulas are in seconds, and the key adds a time (r, urgency) to a
ratio (the penalty). The relative weight of the two therefore depends on the time unit, so
the key is computed in seconds: times in the instance's integer units are multiplied by
``time_scale`` (by default ``time_unit_ns / 1e9``, i.e. seconds). Any other ``time_scale``
re-weights the penalty against the time terms; that is a deliberate knob, not a unit change.

**Float arithmetic.** float64 throughout, in the README's order of operations. γ is a running
left-to-right sum of the density ratios divided by their count (this reproduces the
simulator's dumped ``gamma_at_pick`` exactly). R_est and T_est are kept as integer running sums
(exact) and scaled when the key is formed. With ``reference_sums=True`` they are instead
recomputed at every decision as plain left-to-right float sums of the per-op estimates in
seconds, over the job's ops in order, as the simulator does (README §3.4); this costs
O(remaining ops) per job and decision and exists for bit-level comparisons with the simulator.

**Generalisation to several accelerators** (Dysta has one, README §3.1):

* Each per-op estimate is its duration on the fastest eligible accelerator (the minimum over
  eligible accelerators), so R_est is the remaining work if every op ran where it is fastest.
* At a decision with several idle accelerators the jobs are taken by ascending key (ties by
  admission order), each contributing its ready ops, and each op goes to an idle accelerator
  by the ``accelerator`` rule (earliest finish by default, :func:`choose_accelerator`). A job
  whose ops form a chain has at most one ready op, so it gets at most one accelerator; a job
  whose DAG has several ready ops may get several.
* A job whose op is running has no ready op and is not a candidate, but it counts in N (as the
  task that ran last counts in the simulator's queue).
* R_est counts ops that are running as remaining until they finish.

**γ details.** A term (1 − s_i)/(1 − avgSp_i) is added when op i of the job finishes. Ops
whose measured or mean sparsity is NaN (no sparsity model) or whose mean sparsity is 1 (the
ratio is undefined) add no term and do not count in the mean, so a job without sparsity data
keeps γ = 1. At ``block:N`` granularity the sparsities are the builder's MAC-weighted segment
means, so γ averages over executed segments.

**Variants and early exits.** Dysta chooses no variants; every job runs the variant the engine
gives it (the default). The online schedulers count all ops of that variant in R_est (they
cannot know about a realised early exit); ``dysta_oracle`` counts only the ops that will
actually run (:meth:`Instance.required_ops`).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import ClassVar

import numpy as np

from rtmm_opt.engine.contract import PREDICTED, Decision, Policy, Run, StaticInfo, View
from rtmm_opt.engine.core import JobPickRule
from rtmm_opt.errors import excerpt
from rtmm_opt.io.units import NS_PER_S
from rtmm_opt.schedulers.base import (
    OP_DONE,
    OP_READY,
    RELEASED,
    check_accelerator_rule,
    check_estimates_name,
    fastest_estimates,
    fill_idle,
    resolve_estimates,
)
from rtmm_opt.schedulers.registry import register

PATTERN = "pattern"  # the Dysta importer's per-pattern averages (docs/dysta.md)


@dataclass
class _DystaKey(Policy):
    """The key of README §4.6/§4.7 over incremental per-job sums (see the module docstring).

    Subclasses choose the per-op estimates (:meth:`_op_estimates`), the ops counted in a job's
    sums (:meth:`_counted_ops`) and whether γ is updated (``_gamma_on``).
    """

    beta: float = 0.01
    accelerator: str = "earliest_finish"
    time_scale: float | None = None
    reference_sums: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.beta, bool) or not (
            isinstance(self.beta, int | float) and math.isfinite(self.beta) and self.beta >= 0
        ):
            raise ValueError(f"beta must be a finite number >= 0, got {excerpt(self.beta)}")
        check_accelerator_rule(self.accelerator)
        if self.time_scale is not None:
            scale = self.time_scale
            if isinstance(scale, bool) or not (
                isinstance(scale, int | float) and math.isfinite(scale) and scale > 0
            ):
                raise ValueError(
                    f"time_scale must be a positive number (seconds per time unit) or null, "
                    f"got {excerpt(scale)}"
                )
            self.time_scale = float(scale)
        if not isinstance(self.reference_sums, bool):
            raise ValueError(
                f"reference_sums must be true or false, got {excerpt(self.reference_sums)}"
            )

    # -- hooks ------------------------------------------------------------------------------------
    @property
    def _gamma_on(self) -> bool:
        return False

    def _op_estimates(self, view: View) -> list[int]:
        """E per op, in time units: the fastest eligible predicted duration."""
        return fastest_estimates(view.static.op_predicted)

    def _counted_ops(self, view: View, job: int) -> list[int]:
        """The ops of ``job`` whose estimates make up R_est and T_est, in op order."""
        return view.static.variant_ops(job, view.job_variant(job))

    # -- policy -----------------------------------------------------------------------------------
    def reset(self, static: StaticInfo) -> None:
        self.static = static
        self._scale = (  # seconds per time unit
            self.time_scale if self.time_scale is not None else static.time_unit_ns / NS_PER_S
        )
        # E per op (time units; in seconds for reference_sums), set at the first decision
        self._estimate: list[int] | None = None
        self._estimate_s: list[float] = []
        self._op_job: list[int] = static.op_job_list
        self._deadline: list[int] = static.job_deadline.tolist()
        sparsity_mean = np.asarray(static.op_sparsity_mean, np.float64)
        self._sparsity_mean: Sequence[float] = array("d", sparsity_mean.tobytes())  # 8 B/op
        self._counted = [False] * len(self._op_job)  # per op: in its job's R_est and T_est
        # per active job: R_est, T_est, γ's running sum and count, its ready ops, and (for
        # reference_sums) its counted ops
        self._remaining: dict[int, int] = {}
        self._total: dict[int, int] = {}
        self._ratio_sum: dict[int, float] = {}
        self._ratio_count: dict[int, int] = {}
        self._ready: dict[int, list[int]] = {}
        self._ops: dict[int, list[int]] = {}

    def gamma(self, job: int) -> float:
        """γ_j: the mean density ratio over the job's executed ops with sparsity data, else 1."""
        count = self._ratio_count.get(job, 0)
        return self._ratio_sum[job] / count if count else 1.0

    def _observe(self, view: View) -> None:
        if self._estimate is None:
            self._estimate = self._op_estimates(view)
            if self.reference_sums:
                self._estimate_s = [e * self._scale for e in self._estimate]
        estimate, op_job, counted = self._estimate, self._op_job, self._counted
        remaining, gamma_on = self._remaining, self._gamma_on
        for kind, item in view.notices:
            if kind == OP_READY:
                self._ready[op_job[item]].append(item)
            elif kind == OP_DONE:
                job = op_job[item]
                if job not in remaining:
                    continue  # finished or dropped while this op ran
                if counted[item]:
                    remaining[job] -= estimate[item]
                if gamma_on:
                    self._add_ratio(job, item, view.measured_sparsity(item))
            elif kind == RELEASED:
                ops = self._counted_ops(view, item)
                for op in ops:
                    counted[op] = True
                total = sum(estimate[op] for op in ops)
                self._remaining[item] = total
                self._total[item] = total
                self._ratio_sum[item] = 0.0
                self._ratio_count[item] = 0
                self._ready[item] = []
                if self.reference_sums:
                    self._ops[item] = ops
            else:  # JOB_DONE, JOB_DROPPED
                for state in (
                    self._remaining,
                    self._total,
                    self._ratio_sum,
                    self._ratio_count,
                    self._ready,
                    self._ops,
                ):
                    state.pop(item, None)

    def _add_ratio(self, job: int, op: int, sparsity: float) -> None:
        """Add op's density ratio (1 − s)/(1 − avgSp), s its measured ``sparsity``, to γ's
        running sum (README §4.6)."""
        density_mean = 1.0 - self._sparsity_mean[op]
        ratio = (1.0 - sparsity) / density_mean if density_mean != 0 else math.nan
        if math.isfinite(ratio):
            self._ratio_sum[job] += ratio
            self._ratio_count[job] += 1

    def _sums_s(self, view: View, job: int) -> tuple[float, float]:
        """(R_est, T_est) of ``job`` in seconds."""
        if not self.reference_sums:
            return self._remaining[job] * self._scale, self._total[job] * self._scale
        estimate_s = self._estimate_s
        remaining = 0.0
        total = 0.0
        for op in self._ops[job]:
            total += estimate_s[op]
            if not view.op_finished(op):
                remaining += estimate_s[op]
        return remaining, total

    def job_keys(self, view: View) -> list[tuple[float, int]]:
        """``(key_j, j)`` for every active job with a ready op, in admission (release) order.

        Call after the view's notices were observed (``decide`` does both).
        """
        now = view.now
        scale = self._scale
        beta = self.beta
        deadline = self._deadline
        active = list(view.active_jobs)
        n_active = len(active)
        keys: list[tuple[float, int]] = []
        ready, gamma_on, reference_sums = self._ready, self._gamma_on, self.reference_sums
        remaining, total = self._remaining, self._total
        ratio_sum, ratio_count = self._ratio_sum, self._ratio_count
        last_progress = view.job_last_progress
        for job in active:
            if not ready.get(job):
                continue
            if reference_sums:
                remaining_s, total_s = self._sums_s(view, job)
            else:  # _sums_s, inlined
                remaining_s, total_s = remaining[job] * scale, total[job] * scale
            if gamma_on:  # gamma(job), inlined
                count = ratio_count.get(job, 0)
                predicted = (ratio_sum[job] / count if count else 1.0) * remaining_s
            else:
                predicted = remaining_s
            urgency = (deadline[job] - now) * scale - predicted
            if urgency < 0.0:
                urgency = 0.0
            # README §4.6: a ratio of times divided by N; a job with no estimated work (only
            # possible with zero durations) gets no penalty instead of a division by zero.
            idle_s = (now - last_progress(job)) * scale
            penalty = (idle_s / total_s) / n_active if total_s > 0.0 else 0.0
            keys.append((predicted + beta * (urgency + penalty), job))
        return keys

    def hold(self, run: Run) -> int:
        """:meth:`decide` along a run without the engine (:class:`Run`): at each boundary the
        job's finished op (R_est, γ) and its next op are taken in as their notices would be,
        and the keys are ranked as :meth:`decide` ranks them; the first boundary at which
        another job's op would run is taken back and left to :meth:`decide`."""
        if self.reference_sums:  # its sums read which ops the engine has finished
            return 0
        view, job, first, times = run.view, run.job, run.first, run.times
        estimate, counted = self._estimate, self._counted
        assert estimate is not None  # set by the decision that dispatched the run's first op
        remaining, ready, gamma_on = self._remaining, self._ready, self._gamma_on
        ratio_sum, ratio_count = self._ratio_sum, self._ratio_count
        eligible, op_job = self.static.predicted_rows, self._op_job
        alone = len(list(view.active_jobs)) == 1
        job_ready = ready[job]
        for boundary in range(len(times) - 1):
            done, op = first + boundary - 1, first + boundary
            saved = remaining[job], ratio_sum[job], ratio_count[job]
            if counted[done]:  # the notices (OP_DONE, done), (OP_READY, op), as _observe
                remaining[job] -= estimate[done]
            if gamma_on:
                self._add_ratio(job, done, run.measured_sparsity(boundary))
            job_ready.append(op)
            if not alone:
                ahead = run.view_at(boundary)
                keys = self.job_keys(ahead)
                keys.sort(key=itemgetter(0))
                # the op fill_idle dispatches: the best-ranked ready op eligible on accelerator 0
                pick = next(
                    candidate
                    for _, other in keys
                    for candidate in ready[other]
                    if (candidate == op or ahead.is_ready(candidate))
                    and eligible[candidate][0] >= 0
                )
                if op_job[pick] != job:  # not kept: as it was before this boundary
                    job_ready.pop()
                    remaining[job], ratio_sum[job], ratio_count[job] = saved
                    return boundary
            job_ready.remove(op)  # dispatched, as decide does
        return len(times) - 1

    def compiled_rule(self) -> JobPickRule | None:
        """The key for the compiled core (:mod:`rtmm_opt.engine.core`): ``dysta``,
        ``dysta_naive`` and ``dysta_oracle`` themselves, without ``reference_sums``."""
        static = self.static
        if type(self) not in (Dysta, DystaNaive, DystaOracle) or self.reference_sums:
            return None
        return JobPickRule(
            "dysta", self._rule_estimates(), [0] * len(static.job_task),
            static.job_deadline_list, seconds_per_unit=self._scale, beta=self.beta,
            sparsity_mean=self._sparsity_mean if self._gamma_on else None,
            accelerator=self.accelerator,
        )  # fmt: skip

    def _rule_estimates(self) -> list[int] | None:
        """E per op for :meth:`compiled_rule` (None: the realised durations)."""
        static = self.static
        return fastest_estimates(static.op_predicted)

    def decide(self, view: View) -> Decision | None:
        self._observe(view)
        static = self.static
        if not view.idle_accelerators:
            return None
        keys = self.job_keys(view)
        if not keys:
            return None
        keys.sort(key=itemgetter(0))  # stable: equal keys keep admission order (first wins)
        ready = self._ready
        ranked = (op for _, job in keys for op in ready[job] if view.is_ready(op))
        decision = fill_idle(view, static, ranked, self.accelerator)
        for op, _ in decision.dispatches:
            ready[self._op_job[op]].remove(op)
        return decision if decision.dispatches else None


@register("dysta")
@dataclass
class Dysta(_DystaKey):
    """Dysta as implemented by its authors (README §4.6): r_j = γ_j · R_est,j.

    R_est uses the estimate set ``estimates``: by default (``"auto"``) the instance's
    ``"pattern"`` set, the pattern-aware static per-layer averages (avgLatPattern, README §2,
    which the Dysta importer stores), or ``op_predicted`` on instances without it. γ_j is the
    sparsity monitor's density ratio (README §4.6). ``use_gamma=False`` turns the monitor off
    (γ ≡ 1). Parameters: ``beta`` (β, 0.01), ``accelerator`` (the rule placing a picked op,
    earliest finish), ``time_scale`` (seconds per time unit; default ``time_unit_ns / 1e9``),
    ``reference_sums`` (recompute sums left to right like the simulator), ``estimates``.
    Formulas, symbols and the multi-accelerator generalisation: the module docstring.
    """

    use_gamma: bool = True
    estimates: str = "auto"

    # what "auto" stands for when the instance has that set (else op_predicted)
    _auto_estimates: ClassVar[str] = PATTERN

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.use_gamma, bool):
            raise ValueError(f"use_gamma must be true or false, got {excerpt(self.use_gamma)}")
        check_estimates_name(self.estimates)

    @property
    def _gamma_on(self) -> bool:
        return self.use_gamma

    def estimate_set(self, static: StaticInfo) -> str:
        """The name of the estimate set R_est and T_est come from (``"auto"`` resolved)."""
        return resolve_estimates(static, self.estimates, self._auto_estimates)

    def _op_estimates(self, view: View) -> list[int]:
        return self._rule_estimates()

    def _rule_estimates(self) -> list[int]:
        static = self.static
        return fastest_estimates(static.estimates(self.estimate_set(static)))


@register("dysta_naive")
@dataclass
class DystaNaive(Dysta):
    """Dysta without sparse and pattern awareness, the paper's "Dysta w/o sparse/pattern" ablation.

    The same key as ``dysta`` with γ ≡ 1 (no sparsity monitor): key_j = R_est,j + β ·
    (max(0, (D_j − t) − R_est,j) + ((t − t_last,j)/T_est,j)/N). The ablation's other half,
    per-architecture (model-level) averages avgLatModel instead of the per-pattern averages
    (README §2), is the estimate set: ``estimates="auto"`` (the default) means ``op_predicted``
    here, which the Dysta importer fills with avgLatModel, never the ``"pattern"`` set. On an
    instance built from a scenario there is only ``op_predicted`` (the builder's static costs),
    so ``dysta_naive`` then differs from ``dysta`` only by γ.
    """

    use_gamma: bool = field(default=False, init=False)
    _auto_estimates: ClassVar[str] = PREDICTED


@register("dysta_oracle")
@dataclass
class DystaOracle(_DystaKey):
    """Dysta-Oracle (README §4.7): the Dysta key with realised instead of estimated latencies.

    key_j = R_real,j + β · (max(0, (D_j − t) − R_real,j) + ((t − t_last,j)/T_real,j)/N), with
    R_real the realised remaining latency and T_real the realised total of the job's ops that
    will run (a realised early exit is known), each op at its fastest eligible accelerator;
    no γ. Clairvoyant: it reads the instance's realised durations, so its results are a
    baseline, not an online result. The accelerator a picked op goes to is still chosen by
    ``accelerator`` on predicted durations, as for ``dysta``.
    """

    clairvoyant = True

    def _op_estimates(self, view: View) -> list[int]:
        return fastest_estimates(view.clairvoyant().op_duration)

    def _rule_estimates(self) -> list[int] | None:
        return None  # the realised durations, which the core reads from the instance

    def _counted_ops(self, view: View, job: int) -> list[int]:
        return view.clairvoyant().required_ops(job, view.job_variant(job))

"""The one metrics module (docs/design.md §3): every figure, from (Instance, Schedule) only.

Definitions (``docs/metrics.md`` has the same with more words). For job ``j``: ``r_j`` is its
release, ``d_j`` its deadline, ``C_j`` its completion (the end of its last required op,
:func:`~rtmm_opt.schedule.validator.required_op_mask`), and ``R_j`` its effective release:
``r_j``, or for a cascaded job the latest of ``r_j`` and its upstream jobs' completions
(docs/design.md §2: a dependent is released when its upstream completes). ``T_iso,j`` is
:meth:`Instance.isolated_latency` of the job with the variant it ran. A completed job is
*late* when ``C_j > d_j`` (strictly); it is *on time* otherwise.

* ``miss_rate`` = (dropped + late) / jobs; ``drop_rate``, ``late_rate``: the two parts;
  ``sla_rate`` = on-time jobs / jobs (RELMAS's SLA satisfaction, higher is better).
* ``tardiness`` = Σ_completed max(0, C_j − d_j), in time units (``tardiness_ms`` in ms).
* ``energy_mJ`` = Σ energy of the executed ops on the accelerator each ran on, plus
  ``context_reload_energy`` for every context reload when ``settings.context_switch`` is on (the
  first op on an accelerator loads for free, as in the validator). Integer nJ are summed exactly
  and divided by 1e6 once.
* ``makespan`` = max_completed C_j − min_all r_j (0 if nothing completed); ``makespan_ms`` too.
* ``antt`` = mean_completed (C_j − R_j) / T_iso,j (Dysta's and PREMA's ANTT; lower is better).
* ``stp`` = Σ_completed T_iso,j / (C_j − R_j) (multi-program system throughput, higher is better).
* ``throughput`` = completed jobs per second of makespan (Dysta's "STP"; 0 if the makespan is 0).
* ``xrbench_score`` (XRBench, Kwon et al., MLSys'23; constants of ``XRBench-MAESTRO.cpp`` as
  documented in ``shared/xrbench/README.md``): per completed job
  RT_j = 1 / (1 + exp(15 (C_j − d_j) / 1 ms)) and EN_j = (1500 mJ − E_j) / 1500 mJ, where E_j is
  the energy of the job's executed ops (context reloads included, charged to the job whose op
  needed the reload; EN is not clamped and may go negative). Per task (XRBench's "model") m with
  N_m jobs, D_m of them dropped: UX_m = 1 − D_m/N_m, S_m = (Σ_completed RT_j·EN_j / N_m)·UX_m;
  score = 100 × mean over tasks that have jobs of S_m. XRBench's per-model report lists
  RT_m and EN_m as the means over the completed jobs (0 when none completed) and UX_m.
  Under ``settings.compat == "xrbench"`` these sums and counts run over the jobs the harness
  *logs* (:func:`xrbench_logged`; ``TaskMetrics.xrbench_logged`` counts them), and the mean is
  over the tasks with a logged job, as the harness's scoring module averages over the models
  in its log (``HET_scoring-module.hpp``). Every other metric covers all jobs.
* ``accuracy`` = mean_completed accuracy of the variant the job ran (``Variant.accuracy``; 1 for
  tasks without variants); ``accuracy_loss`` = mean_completed (a*_m − a_j), a*_m the best
  accuracy among the job's task's variants: what variant selection (DREAM's model-level
  dynamicity) gave up. Both are 0 when nothing completed.
* ``utilisation`` = Σ_a busy_a / (accelerators × window), and per accelerator
  ``utilisation_per_accelerator[a]`` = busy_a / window: busy_a is the sum of end − start of
  every op that ran on accelerator a (as executed: stretched under contention, whichever job it
  belongs to, dropped ones included), the window runs from the first release to the last end of
  any op (the same for every accelerator; 0 when nothing ran). Higher is better (RELMAS).
* ``per_tenant[tenant]``: the per-task figures over the jobs of every task of that tenant
  (``TaskInfo.tenant``, the task's own name unless the scenario gives one).
* ``uxcost`` = ``energy_mJ × miss_rate`` (DREAM's EDP-like cost; the paper's normalisation is not
  public, this is the project's definition, docs/design.md §3); both factors are reported
  next to it.

Metrics assume a schedule that passes :func:`~rtmm_opt.schedule.validator.validate`. Floating-point
sums use ``math.fsum`` (exactly rounded, independent of order), so equal inputs give equal bits.
Integer sums over jobs (tardiness, energy) are Python integers, and times are multiplied by the
time unit as floats, so no int64 product or sum can wrap around into a negative figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from rtmm_opt.instance.instance import FloatArray, Instance, IntArray
from rtmm_opt.io.units import NJ_PER_MJ, NS_PER_MS, NS_PER_S
from rtmm_opt.schedule.schedule import JobStatus, Schedule
from rtmm_opt.schedule.validator import AcceleratorSequence, context_reloads, required_op_mask

# XRBench scoring constants (XRBench-MAESTRO.cpp, see shared/xrbench/README.md).
XRBENCH_RT_SLOPE_PER_MS = 15.0
XRBENCH_ENERGY_BUDGET_MJ = 1500.0


@dataclass(frozen=True)
class TaskMetrics:
    """The per-task (XRBench: per-model) breakdown; the same definitions as :class:`Metrics`."""

    jobs: int
    completed: int
    dropped: int
    late: int
    miss_rate: float
    drop_rate: float
    late_rate: float
    sla_rate: float
    tardiness: int
    tardiness_ms: float
    energy_mJ: float
    antt: float
    stp: float
    accuracy: float  # mean accuracy of the variants completed jobs ran
    accuracy_loss: float  # mean (best accuracy of the task - accuracy of the variant run)
    xrbench_rt: float  # mean RT over completed jobs
    xrbench_en: float  # mean EN over completed jobs
    xrbench_ux: float  # 1 - dropped / jobs
    xrbench_score: float  # 100 * S_m
    xrbench_logged: int  # jobs the XRBench score counts: all, or those the harness logs


@dataclass(frozen=True)
class Metrics:
    """Every metric of docs/design.md §3 for one schedule (definitions: the module docstring)."""

    jobs: int
    completed: int
    dropped: int
    late: int
    miss_rate: float
    drop_rate: float
    late_rate: float
    tardiness: int
    tardiness_ms: float
    energy_mJ: float
    makespan: int
    makespan_ms: float
    antt: float
    throughput: float
    stp: float
    sla_rate: float
    accuracy: float
    accuracy_loss: float
    xrbench_score: float
    uxcost: float
    per_task: Mapping[str, TaskMetrics]
    utilisation: float = 0.0
    utilisation_per_accelerator: Mapping[str, float] = field(default_factory=dict)
    per_tenant: Mapping[str, TaskMetrics] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-able dict: the scalar metrics, ``utilisation_per_accelerator``, and
        ``per_task: {task: {...}}`` and ``per_tenant: {tenant: {...}}``."""
        nested = ("per_task", "per_tenant", "utilisation_per_accelerator")
        data: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in nested
        }
        data["utilisation_per_accelerator"] = dict(self.utilisation_per_accelerator)
        data["per_task"] = {name: asdict(task) for name, task in self.per_task.items()}
        data["per_tenant"] = {name: asdict(task) for name, task in self.per_tenant.items()}
        return data


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / denominator if denominator else 0.0


def isolated_latencies(instance: Instance, job_variant: IntArray) -> IntArray:
    """:meth:`Instance.isolated_latency` of every job with its variant, vectorised.

    The critical path of the job's required ops, each on its fastest eligible accelerator.
    """
    required = required_op_mask(instance, job_variant)
    durations = instance.op_duration
    fastest = np.where(durations >= 0, durations, np.iinfo(np.int64).max).min(axis=1)
    finish = fastest.copy()
    has_preds = np.diff(instance.op_pred_offsets) > 0
    chained = np.flatnonzero(required & has_preds)
    if len(chained):
        # Preds come earlier in the op order, so one forward sweep sees every pred's finish first.
        finish_list, fastest_list = finish.tolist(), fastest.tolist()
        required_list = required.tolist()
        offsets, preds = instance.op_pred_offsets.tolist(), instance.op_preds.tolist()
        for op in chained.tolist():
            ready = max(
                (finish_list[p] for p in preds[offsets[op] : offsets[op + 1]] if required_list[p]),
                default=0,
            )
            finish_list[op] = fastest_list[op] + ready
        finish = np.asarray(finish_list, dtype=np.int64)
    latency = np.zeros(instance.n_jobs, dtype=np.int64)
    np.maximum.at(latency, instance.op_job[required], finish[required])
    return latency


def job_energy_nj(instance: Instance, schedule: Schedule) -> IntArray:
    """Per job: energy (nJ) of its executed ops, plus the context reloads its ops needed."""
    accelerator = schedule.op_accelerator
    executed = np.flatnonzero(accelerator >= 0)
    op_energy = np.zeros(instance.n_ops, dtype=np.int64)
    op_energy[executed] = instance.op_energy[executed, accelerator[executed]]
    if instance.settings.context_switch and len(executed):
        sequence = AcceleratorSequence.of(accelerator, schedule.op_start, schedule.op_end)
        reloading = sequence.ops[context_reloads(instance, sequence)]
        op_energy[reloading] += instance.context_reload_energy[
            instance.op_context[reloading], accelerator[reloading]
        ]
    energy = np.zeros(instance.n_jobs, dtype=np.int64)
    np.add.at(energy, instance.op_job[executed], op_energy[executed])
    return energy


# HET_process.hpp: FP_ERROR_MARGIN, 0.01 ms, by which an inference counts as finished early
XRBENCH_FINISH_MARGIN_NS = 10_000


def xrbench_window_close(instance: Instance, completion: IntArray) -> int:
    """When the XRBench harness stops (compat ``xrbench``), in time units.

    ``Runtime::RunWorkloads`` (``HET_runtime.hpp``) loops while some model has a frame not yet
    generated, so its last event is the one at which the latest frame is generated: the first
    event at or after the latest release, events being the ticks (multiples of the smallest
    task period, ``HET_timer.hpp``) and job completions. The latest release is taken from the
    jobs: a task whose final frames were not triggered closes earlier than in the harness
    (never the case in XRBench's scenarios, whose fastest task always runs).
    """
    if instance.n_jobs == 0:
        return 0
    last = int(instance.job_release.max())
    candidates = [int(c) for c in completion.tolist() if c >= last]
    periods = [task.period for task in instance.tasks if task.period]
    if periods:
        tick = min(periods)
        candidates.append(-(-last // tick) * tick)
    return min(candidates, default=last)


def xrbench_logged(instance: Instance, schedule: Schedule, completion: IntArray) -> np.ndarray:
    """Per job, whether the XRBench harness logs it; all True unless compat ``xrbench``.

    The harness logs an inference when it takes it off its accelerator
    (``RemoveFinishedProcesses``: at an event t once ``t + 0.01 ms`` reaches its completion)
    and a frame when it drops it (``DropLateFrames``: at the first event after its deadline),
    and stops at :func:`xrbench_window_close` t_end. So a completed job is logged iff
    ``C_j ≤ t_end + 0.01 ms`` and a dropped one iff ``d_j < t_end``; frames still queued or
    running at t_end are never logged (``HET_logger.hpp``).
    """
    if instance.settings.compat != "xrbench":
        return np.ones(instance.n_jobs, dtype=bool)
    close = xrbench_window_close(instance, completion)
    unit_ns = float(instance.time_unit_ns)
    completed = schedule.job_status == JobStatus.COMPLETED
    in_time = completion.astype(np.float64) * unit_ns <= close * unit_ns + XRBENCH_FINISH_MARGIN_NS
    return np.where(completed, in_time, instance.job_deadline < close)


def completion_times(instance: Instance, schedule: Schedule) -> IntArray:
    """Per job: the end of its last required op if completed, else -1 (vectorised)."""
    completed = schedule.job_status == JobStatus.COMPLETED
    required = required_op_mask(instance, schedule.job_variant)
    counted = (schedule.op_accelerator >= 0) & required & completed[instance.op_job]
    times = np.full(instance.n_jobs, -1, dtype=np.int64)
    np.maximum.at(times, instance.op_job[counted], schedule.op_end[counted])
    return times


@dataclass(frozen=True)
class _JobTable:
    """Per-job columns that the totals and the per-task breakdown are both summed from."""

    completed: np.ndarray
    dropped: np.ndarray
    late: np.ndarray
    tardiness: IntArray
    energy_nj: IntArray
    normalized_turnaround: FloatArray  # (C - R) / T_iso, completed jobs only
    normalized_progress: FloatArray  # T_iso / (C - R), completed jobs only
    xrbench_rt: FloatArray
    xrbench_en: FloatArray
    xrbench_logged: np.ndarray
    accuracy: FloatArray  # of the variant run, completed jobs only
    accuracy_loss: FloatArray  # best accuracy of the task minus that, completed jobs only


def job_accuracy(instance: Instance, job_variant: IntArray) -> tuple[FloatArray, FloatArray]:
    """Per job: the accuracy of ``job_variant`` and the loss against the task's best variant."""
    best = [max((v.accuracy for v in task.variants), default=1.0) for task in instance.tasks]
    table = [[v.accuracy for v in task.variants] or [1.0] for task in instance.tasks]
    accuracy = np.array(
        [
            table[task][max(0, int(variant))]
            for task, variant in zip(instance.job_task.tolist(), job_variant.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
    loss = np.array([best[task] for task in instance.job_task.tolist()]) - accuracy
    return accuracy, np.maximum(loss, 0.0)


def logistic(x: FloatArray) -> FloatArray:
    """1 / (1 + exp(−x)) per element, 0 where exp(−x) overflows (a very late job).

    Computed with the C library's ``exp`` (``math.exp``), as the XRBench harness and SciPy's
    ``expit`` compute it, so the scores agree with theirs to the bit; numpy's vectorised ``exp``
    may differ from it in the last bit.
    """
    values = []
    for value in x.tolist():
        try:
            values.append(1.0 / (1.0 + math.exp(-value)))
        except OverflowError:
            values.append(0.0)
    return np.array(values, np.float64).reshape(x.shape)


def _job_table(instance: Instance, schedule: Schedule, completion: IntArray) -> _JobTable:
    completed = schedule.job_status == JobStatus.COMPLETED
    dropped = ~completed
    deadline = instance.job_deadline
    late = completed & (completion > deadline)
    tardiness = np.where(completed, np.maximum(0, completion - deadline), 0)
    effective_release = instance.job_release.copy()
    downstream = np.repeat(
        np.arange(instance.n_jobs, dtype=np.int64), np.diff(instance.job_upstream_offsets)
    )
    np.maximum.at(effective_release, downstream, completion[instance.job_upstream])
    isolated = isolated_latencies(instance, schedule.job_variant)
    turnaround = np.maximum(completion - effective_release, 1)
    normalized = np.where(completed, turnaround / np.maximum(isolated, 1), 0.0)
    progress = np.where(completed, isolated / turnaround, 0.0)
    energy = job_energy_nj(instance, schedule)
    lateness_ms = (completion - deadline).astype(np.float64) * instance.time_unit_ns / NS_PER_MS
    rt = np.where(completed, logistic(-XRBENCH_RT_SLOPE_PER_MS * lateness_ms), 0.0)
    en = np.where(
        completed, (XRBENCH_ENERGY_BUDGET_MJ - energy / NJ_PER_MJ) / XRBENCH_ENERGY_BUDGET_MJ, 0.0
    )
    logged = xrbench_logged(instance, schedule, completion)
    accuracy, loss = job_accuracy(instance, schedule.job_variant)
    return _JobTable(
        completed,
        dropped,
        late,
        tardiness,
        energy,
        normalized,
        progress,
        rt,
        en,
        logged,
        np.where(completed, accuracy, 0.0),
        np.where(completed, loss, 0.0),
    )


def _fsum(values: np.ndarray) -> float:
    return math.fsum(values.tolist())


def _int_sum(values: np.ndarray) -> int:
    """An exact sum of integers (Python ints: an int64 sum of many large values could wrap)."""
    return sum(values.tolist())


def _task_metrics(table: _JobTable, mask: np.ndarray, time_unit_ns: float) -> TaskMetrics:
    jobs = int(mask.sum())
    completed_mask = mask & table.completed
    completed = int(completed_mask.sum())
    dropped = int((mask & table.dropped).sum())
    late = int((mask & table.late).sum())
    tardiness = _int_sum(table.tardiness[mask])
    normalized = table.normalized_turnaround[completed_mask]
    logged_mask = mask & table.xrbench_logged
    logged = int(logged_mask.sum())
    scored = logged_mask & table.completed
    rt, en = table.xrbench_rt[scored], table.xrbench_en[scored]
    logged_dropped = int((logged_mask & table.dropped).sum())
    ux = 1.0 - _ratio(logged_dropped, logged) if logged else 0.0
    return TaskMetrics(
        jobs=jobs,
        completed=completed,
        dropped=dropped,
        late=late,
        miss_rate=_ratio(dropped + late, jobs),
        drop_rate=_ratio(dropped, jobs),
        late_rate=_ratio(late, jobs),
        sla_rate=_ratio(completed - late, jobs),
        tardiness=tardiness,
        tardiness_ms=tardiness * time_unit_ns / NS_PER_MS,
        energy_mJ=_int_sum(table.energy_nj[mask]) / NJ_PER_MJ,
        antt=_ratio(_fsum(normalized), completed),
        stp=_fsum(table.normalized_progress[completed_mask]),
        accuracy=_ratio(_fsum(table.accuracy[completed_mask]), completed),
        accuracy_loss=_ratio(_fsum(table.accuracy_loss[completed_mask]), completed),
        xrbench_rt=_ratio(_fsum(rt), len(rt)),
        xrbench_en=_ratio(_fsum(en), len(en)),
        xrbench_ux=ux,
        xrbench_score=100.0 * _ratio(_fsum(rt * en), logged) * ux,
        xrbench_logged=logged,
    )


def accelerator_busy(instance: Instance, schedule: Schedule) -> tuple[list[int], int]:
    """Per accelerator the busy time (Σ end − start of the ops that ran there), and the window
    from the first release to the last end of any op (0 when nothing ran)."""
    ran = np.flatnonzero(schedule.op_accelerator >= 0)
    busy = np.zeros(instance.n_accelerators, dtype=np.int64)
    if not len(ran) or instance.n_jobs == 0:
        return busy.tolist(), 0
    spans = schedule.op_end[ran] - schedule.op_start[ran]
    np.add.at(busy, schedule.op_accelerator[ran], spans)
    window = int(schedule.op_end[ran].max()) - int(instance.job_release.min())
    return busy.tolist(), max(0, window)


def compute_metrics(instance: Instance, schedule: Schedule) -> Metrics:
    """All metrics (docs/design.md §3) of ``schedule`` on ``instance`` (the module docstring)."""
    completion = completion_times(instance, schedule)
    table = _job_table(instance, schedule, completion)
    unit_ns = instance.time_unit_ns
    everything = _task_metrics(table, np.ones(instance.n_jobs, dtype=bool), unit_ns)
    per_task = {
        task.name: _task_metrics(table, instance.job_task == index, unit_ns)
        for index, task in enumerate(instance.tasks)
    }
    tenants = list(dict.fromkeys(task.tenant for task in instance.tasks))  # first-seen order
    tenant_index = np.array([tenants.index(task.tenant) for task in instance.tasks], np.int64)
    job_tenant = tenant_index[instance.job_task] if len(tenant_index) else instance.job_task
    per_tenant = {
        tenant: _task_metrics(table, job_tenant == index, unit_ns)
        for index, tenant in enumerate(tenants)
    }
    busy, window = accelerator_busy(instance, schedule)
    per_accelerator = {
        name: _ratio(time, window) for name, time in zip(instance.accelerators, busy, strict=True)
    }
    scored = [task.xrbench_score for task in per_task.values() if task.xrbench_logged]
    makespan = 0
    if everything.completed:
        makespan = int(completion[table.completed].max() - instance.job_release.min())
    makespan_ms = makespan * unit_ns / NS_PER_MS
    energy_mj = _int_sum(table.energy_nj) / NJ_PER_MJ
    return Metrics(
        jobs=everything.jobs,
        completed=everything.completed,
        dropped=everything.dropped,
        late=everything.late,
        miss_rate=everything.miss_rate,
        drop_rate=everything.drop_rate,
        late_rate=everything.late_rate,
        tardiness=everything.tardiness,
        tardiness_ms=everything.tardiness_ms,
        energy_mJ=energy_mj,
        makespan=makespan,
        makespan_ms=makespan_ms,
        antt=everything.antt,
        throughput=_ratio(everything.completed * NS_PER_S, makespan * unit_ns),
        stp=everything.stp,
        sla_rate=everything.sla_rate,
        accuracy=everything.accuracy,
        accuracy_loss=everything.accuracy_loss,
        xrbench_score=_ratio(math.fsum(scored), len(scored)),
        uxcost=energy_mj * everything.miss_rate,
        per_task=per_task,
        utilisation=_ratio(sum(busy), window * instance.n_accelerators),
        utilisation_per_accelerator=per_accelerator,
        per_tenant=per_tenant,
    )

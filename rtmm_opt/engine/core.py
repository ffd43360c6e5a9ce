"""The compiled core: policies whose decisions follow a fixed rule, replayed whole in C.

A policy may describe itself to the core with ``compiled_rule()`` (called after ``reset``, like
``index_rule()`` of :mod:`rtmm_opt.engine.index`): a :class:`JobPickRule` for a job-picking
formula (PREMA, Planaria, SDRM3, the Dysta key), a :class:`HarnessRule` for the XRBench
harness replay or a :class:`DreamRule` for DREAM. :func:`~rtmm_opt.engine.loop.replay` then
runs the whole replay in the extension module ``rtmm_opt.engine.native`` (``native.c``):

* :func:`replay_dysta`: the Dysta loop (compat ``dysta``, :mod:`rtmm_opt.engine.dysta_compat`)
  with any of the four formulas;
* on the engine's event loop (wake-ups, drops, notices, any number of accelerators):
  :func:`replay_events` with the Dysta key, :func:`replay_harness` with the harness replay of
  ``xrbench`` (its float32 clock in C's ``float``), :func:`replay_dream` with DREAM (its
  weight tuner called back in Python when a window closes), :func:`replay_heap` with FCFS and
  EDF (a :class:`HeapRule`; elsewhere their index rules run in Python).

Each computes what the engine and the policy's ``decide`` compute, operation for operation:
the same schedule, bit for bit, and the same decision count. The policy's ``decide`` is not
called, so its own state (say PREMA's ``tokens``) is not advanced; the schedule is the result.

The core is used only where it describes the replay exactly; elsewhere these functions say
None and the policy's ``decide`` runs: jobs of one variant with at least one op and no early
exit, no contention or context switches, eligibility that the policy's predictions and the
engine agree on, and every integer that the formulas multiply, divide or turn into a float
below 2**52, where Python's ``int / int`` and the division of two doubles round alike. A
replay that the engine would reject (an illegal step, a stall, a stagnation) is left to the
stepped replay, which reports it.

The pure-Python path is the reference. The core is built by ``pip install`` where a C compiler
is present (``setup.py``; optional: without one the package installs without it), and
``RTMM_PURE_PYTHON=1`` turns it off. ``docs/engine.md`` ("The compiled core") has the figures.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
import weakref
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NamedTuple, Protocol

import numpy as np

from rtmm_opt.instance.instance import Instance

RULES = ("prema", "planaria", "sdrm3", "dysta")  # the core's rule numbers are their indices
EXACT = 2**53  # integers below this are exact doubles (the checks keep a factor 2 from it)
DROPPED_STATE = 3  # native.c's job state of a dropped job
PURE_PYTHON_VARIABLE = "RTMM_PURE_PYTHON"
SOURCE = Path(__file__).with_name("native.c")  # the core's source, in a checkout


@dataclass(frozen=True)
class JobPickRule:
    """A job-picking policy's formula, for the compiled core (the module docstring).

    ``rule``: one of :data:`RULES`, the formula of that policy (``dysta``: the key of
    ``dysta``, ``dysta_naive`` and ``dysta_oracle``). Per op: ``per_op``, the estimated work
    (``RemainingWork.per_op``, Dysta's E), or None for the realised durations (a clairvoyant
    rule). Per job: ``priority`` (the task's) and ``deadline``. ``alpha``: SDRM3's weight of
    fairness; ``seconds_per_unit``: Planaria's and Dysta's seconds per time unit; ``beta``:
    Dysta's β; ``sparsity_mean``: per op, the mean sparsity that Dysta's γ divides by, or None
    when γ is off (the realised sparsities are the instance's); ``accelerator``: the rule that
    places a picked op on several accelerators (``choose_accelerator``; the core has
    ``earliest_finish``).
    """

    rule: str
    per_op: Sequence[int] | None
    priority: Sequence[int]
    deadline: Sequence[int]
    alpha: float = 1.0
    seconds_per_unit: float = 1.0
    beta: float = 0.0
    sparsity_mean: Sequence[float] | None = None
    accelerator: str = "earliest_finish"

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")


def compiled() -> ModuleType | None:
    """The extension module, or None if it is not built, is stale, or ``RTMM_PURE_PYTHON`` is
    set (to anything but ``""`` or ``"0"``)."""
    if os.environ.get(PURE_PYTHON_VARIABLE, "") not in ("", "0"):
        return None
    return load()


@functools.cache
def load(source: Path = SOURCE) -> ModuleType | None:
    """The extension module if it imports and was built from ``source`` (checked where the
    source is there: in a checkout, not in a wheel)."""
    try:
        import rtmm_opt.engine.native as native
    except ImportError:
        return None
    if source.is_file():
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        if digest != native.SOURCE:
            warnings.warn(
                f"the compiled core was built from another version of {source}: the engine "
                "runs in pure Python until it is built again (pip install -e .)",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
    return native


def _clock_bounds(release: np.ndarray, work: float) -> tuple[int, int]:
    """Bounds of a replay's clock, which starts at 0 or a release and moves forward by at
    most ``work`` (in floats: no int64 wrap-around): the longest waited time, and the largest
    reading."""
    if not release.size:
        return 0, 0
    low = min(0, int(release.min()))
    high = max(0, int(release.max())) + int(min(work, 2.0**62))
    return high - low, max(abs(low), abs(high))


class _Inputs:
    """What the core reads of an instance, made once per instance (None fields: the core does
    not describe it)."""

    def __init__(self, instance: Instance) -> None:
        release = instance.job_release.astype(np.int64)
        offsets = instance.job_op_offsets.astype(np.int64)
        duration = instance.op_duration[:, 0].astype(np.int64)
        self.release = release
        self.offsets = offsets
        self.duration = duration
        # the loop's admission order: by release, then index (DystaLoop.arrivals)
        self.arrivals = np.lexsort((np.arange(instance.n_jobs), release)).astype(np.int64)
        self.supported = bool(
            instance.n_accelerators == 1
            and instance.n_jobs > 0
            and (np.diff(offsets) > 0).all()
            and (instance.job_exit_op < 0).all()
            and (duration >= 0).all()
            and (instance.op_predicted[:, 0] >= 0).all()  # each pick can be placed
        )
        self.span, self.reach = _clock_bounds(release, float(duration.sum(dtype=np.float64)))


class _EventInputs:
    """What the event loop of the core reads of an instance beyond :class:`_Inputs`, made once
    per instance (``supported`` false: the core does not describe it)."""

    def __init__(self, instance: Instance) -> None:
        settings = instance.settings
        n_jobs, n_ops = instance.n_jobs, instance.n_ops
        durations = np.ascontiguousarray(instance.op_duration, np.int64)
        predicted = np.ascontiguousarray(instance.op_predicted, np.int64)
        eligible = durations >= 0
        self.supported = bool(
            n_jobs > 0
            and not settings.contention
            and not settings.context_switch
            and settings.compat != "dysta"
            and (instance.op_variant == 0).all()
            and (instance.job_exit_op < 0).all()
            and (np.diff(instance.job_op_offsets) > 0).all()
            and (eligible == (predicted >= 0)).all()  # placed and run by the same eligibility
            and eligible.any(axis=1).all()
        )
        self.durations, self.predicted = durations, predicted
        offsets = instance.job_upstream_offsets.astype(np.int64)
        self.n_upstream = np.diff(offsets)
        downstream = instance.job_downstream
        self.down_offsets = np.zeros(n_jobs + 1, np.int64)
        np.cumsum([len(down) for down in downstream], out=self.down_offsets[1:])
        self.downs = np.fromiter((d for down in downstream for d in down), np.int64)
        self.op_job = np.repeat(np.arange(n_jobs, dtype=np.int64), np.diff(instance.job_op_offsets))
        n_preds = np.diff(instance.op_pred_offsets).astype(np.int64)
        self.n_preds = n_preds
        # successors per op, in op order (Engine: the only successor or ``many``)
        edge_op = np.repeat(np.arange(n_ops, dtype=np.int64), n_preds)
        edge_pred = instance.op_preds.astype(np.int64)
        by_pred = np.argsort(edge_pred, kind="stable")
        self.succs = np.ascontiguousarray(edge_op[by_pred])
        self.succ_offsets = np.zeros(n_ops + 1, np.int64)
        np.cumsum(np.bincount(edge_pred, minlength=n_ops), out=self.succ_offsets[1:])
        # every op is eligible somewhere (supported), so a row's max is its longest duration
        longest = float(durations.max(axis=1).sum(dtype=np.float64)) if n_ops else 0.0
        self.span, self.reach = _clock_bounds(instance.job_release, longest)
        self._instance_ref = weakref.ref(instance)

    @functools.cached_property
    def model_latency(self) -> np.ndarray:
        """Per job and accelerator, the summed predicted latency of its ops, -1 where one is
        ineligible (``xrbench.summed_latency``); made when the harness replay first asks."""
        instance = self._instance_ref()
        assert instance is not None
        predicted, starts = self.predicted, instance.job_op_offsets[:-1]
        if not (len(predicted) and self.supported):
            return np.zeros((instance.n_jobs, instance.n_accelerators), np.int64)
        summed = np.add.reduceat(np.maximum(predicted, 0), starts, axis=0)
        blocked = np.add.reduceat((predicted < 0).astype(np.int64), starts, axis=0) > 0
        return np.ascontiguousarray(np.where(blocked, -1, summed), np.int64)

    @functools.cached_property
    def harness_supported(self) -> bool:
        """The harness replay also needs every job runnable whole on some accelerator."""
        latency = self.model_latency
        return bool(
            self.supported
            and (latency >= 0).any(axis=1).all()
            and float(np.abs(latency).max(initial=0)) < EXACT / 2
        )


_INPUTS: weakref.WeakKeyDictionary[Instance, _Inputs] = weakref.WeakKeyDictionary()
_EVENT_INPUTS: weakref.WeakKeyDictionary[Instance, _EventInputs] = weakref.WeakKeyDictionary()


def _inputs(instance: Instance) -> _Inputs:
    inputs = _INPUTS.get(instance)
    if inputs is None:
        inputs = _INPUTS[instance] = _Inputs(instance)
    return inputs


def _event_inputs(instance: Instance) -> _EventInputs:
    inputs = _EVENT_INPUTS.get(instance)
    if inputs is None:
        inputs = _EVENT_INPUTS[instance] = _EventInputs(instance)
    return inputs


class _RuleArrays(NamedTuple):
    """A rule's inputs as the core reads them."""

    per_op: np.ndarray
    priority: np.ndarray
    deadline: np.ndarray
    gamma: bool
    sparsity: np.ndarray
    sparsity_mean: np.ndarray


def _rule_arrays(
    instance: Instance, rule: JobPickRule, realised: np.ndarray, span: int, reach: int
) -> _RuleArrays | None:
    """The rule's arrays (``realised``: the durations a clairvoyant rule's ``per_op`` stands
    for), or None if an integer could leave the range of exact doubles: ``span`` bounds every
    waited time and ``reach`` every clock reading."""
    per_op = realised if rule.per_op is None else np.asarray(rule.per_op, np.int64)
    priority = np.asarray(rule.priority, np.int64)
    deadline = np.asarray(rule.deadline, np.int64)
    if len(per_op) != instance.n_ops or not len(priority) == len(deadline) == instance.n_jobs:
        raise ValueError("JobPickRule: per_op needs a value per op, priority and deadline per job")
    if (
        (per_op < 0).any()
        or float(per_op.sum(dtype=np.float64)) >= EXACT / 2  # in floats: no int64 wrap-around
        or int(np.abs(priority).max()) * span >= EXACT / 2
        or int(np.abs(deadline).max()) + reach >= EXACT / 2
    ):
        return None
    gamma = rule.sparsity_mean is not None
    if gamma:
        sparsity = np.ascontiguousarray(instance.op_sparsity, np.float64)
        sparsity_mean = np.asarray(rule.sparsity_mean, np.float64)
    else:
        sparsity = sparsity_mean = np.zeros(0)
    return _RuleArrays(per_op, priority, deadline, gamma, sparsity, sparsity_mean)


OpTimes = tuple["array[int]", "array[int]"]  # per op its start and end, -1 where not run


def _op_outputs(n_ops: int, op_times: OpTimes | None) -> tuple[array[int], array[int]]:
    """The start and end buffers a replay fills: the caller's (``op_times``, every entry -1:
    the engine's own, so that a replay does not hold two sets) or new ones."""
    if op_times is not None:
        return op_times
    return array("q", [-1]) * n_ops, array("q", [-1]) * n_ops


def replay_dysta(
    instance: Instance, rule: JobPickRule, *, chains_only: bool, op_times: OpTimes | None = None
) -> CoreReplay | None:
    """The Dysta loop under ``rule`` in the core; None where the core is off or does not
    describe the instance (the caller then steps the policy). ``chains_only``: every job is a
    chain of one variant (the engine knows it)."""
    core = compiled()
    if core is None or not chains_only or instance.settings.compat != "dysta":
        return None
    inputs = _inputs(instance)
    if not inputs.supported:
        return None
    arrays = _rule_arrays(instance, rule, inputs.duration, inputs.span, inputs.reach)
    if arrays is None:
        return None
    n_ops = instance.n_ops
    op_start, op_end = _op_outputs(n_ops, op_times)
    buffers = (
        inputs.release, arrays.deadline, arrays.priority, inputs.offsets, inputs.arrivals,
        inputs.duration, arrays.per_op, arrays.sparsity, arrays.sparsity_mean, op_start, op_end,
    )  # fmt: skip
    decisions, clock = core.dysta_job_picks(
        RULES.index(rule.rule), float(rule.alpha), float(rule.seconds_per_unit),
        float(rule.beta), arrays.gamma, instance.n_jobs, n_ops, buffers,
    )  # fmt: skip
    n_jobs = instance.n_jobs
    last_ops = inputs.offsets[1:] - 1
    return CoreReplay(
        op_start, op_end, array("q", bytes(8 * n_ops)), inputs.release.tolist(),
        np.frombuffer(op_end, np.int64)[last_ops].tolist(), [0] * n_jobs, [False] * n_jobs,
        decisions, decisions, clock,
    )  # fmt: skip


class CoreReplay(NamedTuple):
    """What a replay in the core leaves: per op its start, end and accelerator (-1 for what
    never ran), per job its effective release, completion (-1 if dropped), drop time (0 if it
    was not dropped) and whether it was dropped, the decision and dispatch counts, the final
    clock."""

    op_start: array[int]
    op_end: array[int]
    op_accelerator: Sequence[int]
    job_visible_at: list[int]
    job_completion: list[int]
    job_drop_time: list[int]
    job_dropped: list[bool]
    decisions: int
    dispatches: int
    clock: int


def _engine_outputs(n_jobs: int, n_ops: int, op_times: OpTimes | None) -> list[array[int]]:
    """The engine's outputs a replay on the core's event loop fills: per op its start, end and
    accelerator, per job its effective release, completion, drop time and final state."""
    return [
        *_op_outputs(n_ops, op_times), array("q", [-1]) * n_ops,
        *(array("q", [-1]) * n_jobs for _ in range(3)), array("q", bytes(8 * n_jobs)),
    ]  # fmt: skip


def _event_call(
    instance: Instance, inputs: _EventInputs, deadline: np.ndarray, outputs: list[array[int]]
) -> tuple[object, ...]:
    """The buffers every replay on the core's event loop takes first (native.c,
    ``ENGINE_SPECS``): the engine's inputs, then its outputs."""
    loop_inputs = _inputs(instance)
    return (
        loop_inputs.release, deadline, loop_inputs.offsets, inputs.n_upstream,
        inputs.down_offsets, inputs.downs, inputs.op_job, inputs.n_preds, inputs.succ_offsets,
        inputs.succs, inputs.durations, *outputs,
    )  # fmt: skip


def _collect(
    outputs: list[array[int]], code: int, decisions: int, dispatches: int, clock: int
) -> CoreReplay | None:
    """The replay the core's event loop left in ``outputs``; None unless it ended (code 0: a
    stall or a step the engine rejects is left to the stepped replay, which reports it)."""
    if code != 0:
        return None
    op_start, op_end, op_accelerator, visible_at, completion, drop_time, states = outputs
    dropped = [state == DROPPED_STATE for state in states]
    return CoreReplay(
        op_start, op_end, op_accelerator, visible_at.tolist(), completion.tolist(),
        [time if gone else 0 for time, gone in zip(drop_time, dropped, strict=True)], dropped,
        decisions, dispatches, clock,
    )  # fmt: skip


EVENT_RULES = ("dysta",)  # the job-picking rules the core's event loop has


def replay_events(
    instance: Instance, rule: JobPickRule, *, op_times: OpTimes | None = None
) -> CoreReplay | None:
    """The engine's event loop under ``rule`` in the core (no compat mode, contention or context
    switches; jobs of one variant without early exits); None where the core is off or does not
    describe the instance (the caller then steps the policy)."""
    core = compiled()
    if core is None or rule.rule not in EVENT_RULES or rule.accelerator != "earliest_finish":
        return None
    inputs = _event_inputs(instance)
    if not inputs.supported:
        return None
    realised = inputs.durations.min(axis=1, initial=2**62, where=inputs.durations >= 0)
    arrays = _rule_arrays(instance, rule, realised, inputs.span, inputs.reach)
    if arrays is None:
        return None
    outputs = _engine_outputs(instance.n_jobs, instance.n_ops, op_times)
    buffers = (
        *_event_call(instance, inputs, arrays.deadline, outputs), inputs.predicted,
        arrays.per_op, arrays.sparsity, arrays.sparsity_mean,
    )  # fmt: skip
    result = core.event_job_picks(
        RULES.index(rule.rule), float(rule.seconds_per_unit), float(rule.beta), arrays.gamma,
        instance.n_jobs, instance.n_ops, instance.n_accelerators, buffers,
    )  # fmt: skip
    return _collect(outputs, *result)


@dataclass(frozen=True)
class HarnessRule:
    """The XRBench harness replay (``XRBench`` with ``compat: harness``,
    ``rtmm_opt/schedulers/xrbench.py``) for the compiled core: ``tick``, the smallest task
    period in time units (0: no periodic task, no ticks); ``task_order``, the tasks in the
    harness's visiting order (alphabetical by name); ``upstreams``, per task the tasks its
    dependency gate counts. The rest (model latencies, frames, releases and deadlines in the
    harness's float32 milliseconds) the core reads from the instance."""

    tick: int
    task_order: Sequence[int]
    upstreams: Sequence[Sequence[int]]


class WindowTuner(Protocol):
    """What the core needs of DREAM's weight tuner (``schedulers.dream_tuning.WeightTuner``)."""

    @property
    def weights(self) -> tuple[float, float]: ...

    def add(self, energy_nj: int, ended: int, missed: int) -> None: ...

    def observe(self, now: int) -> None: ...


@dataclass(frozen=True)
class DreamRule:
    """DREAM (``rtmm_opt/schedulers/dream.py``) for the compiled core, tasks of one variant:
    per op and accelerator ``op_latency`` and ``op_energy`` (``Dream._op_latency``,
    ``_op_energy``), per job ``period`` (τ), ``epsilon`` (the smallest slack, in time units),
    ``lam`` (0, 0.5, 1 or 2: the exponents numpy computes exactly), ``proactive_drop``, and the
    weight tuner with its ``window`` in time units. The core keeps the tuner's open window and
    hands it to ``tuner`` when it closes (``add``, then ``observe``), which gives the weights;
    the tuner's read-outs are then those of the stepped replay."""

    op_latency: np.ndarray
    op_energy: np.ndarray
    period: np.ndarray
    epsilon: float
    lam: float
    proactive_drop: bool
    window: int
    tuner: WindowTuner


@dataclass(frozen=True)
class HeapRule:
    """FCFS (``edf`` false: keys (release, job)) or EDF (keys (deadline, release, job)) as
    ``base.ReadyHeapPolicy`` applies them, with the ``earliest_finish`` accelerator rule, for
    the compiled core's event loop (``rtmm_opt/schedulers/classic.py``)."""

    edf: bool


CompiledRule = JobPickRule | HarnessRule | DreamRule | HeapRule


def replay_harness(
    instance: Instance, rule: HarnessRule, *, op_times: OpTimes | None = None
) -> CoreReplay | None:
    """The XRBench harness replay on the engine's event loop in the core (no compat
    ``dysta``, contention or context switches; jobs of one variant without early exits, each
    runnable whole on some accelerator); None where the core is off or does not describe the
    instance, or the replay fails (the caller then steps the policy, which reports it)."""
    core = compiled()
    if core is None:
        return None
    inputs = _event_inputs(instance)
    if not inputs.harness_supported:
        return None
    deadline = instance.job_deadline.astype(np.int64)
    if int(np.abs(deadline).max()) + inputs.reach >= EXACT / 2 or abs(rule.tick) >= EXACT / 2:
        return None
    n_tasks = len(instance.tasks)
    up_offsets = np.zeros(n_tasks + 1, np.int64)
    np.cumsum([len(ups) for ups in rule.upstreams], out=up_offsets[1:])
    ups = np.fromiter((up for task in rule.upstreams for up in task), np.int64)
    outputs = _engine_outputs(instance.n_jobs, instance.n_ops, op_times)
    buffers = (
        *_event_call(instance, inputs, deadline, outputs), inputs.model_latency,
        instance.job_task.astype(np.int64), instance.job_frame.astype(np.int64),
        np.asarray(rule.task_order, np.int64), up_offsets, ups,
    )  # fmt: skip
    result = core.harness_replay(
        instance.n_jobs, instance.n_ops, instance.n_accelerators, n_tasks,
        float(instance.time_unit_ns), instance.settings.drops == "allowed", rule.tick > 0,
        rule.tick, buffers,
    )  # fmt: skip
    return _collect(outputs, *result)


def replay_dream(
    instance: Instance, rule: DreamRule, *, op_times: OpTimes | None = None
) -> CoreReplay | None:
    """DREAM on the engine's event loop in the core (no compat ``dysta``, contention or context
    switches; jobs of one variant without early exits, tasks of one variant); None where the
    core is off or does not describe the instance, or the replay fails (the caller then steps
    the policy, after a ``reset``: the tuner may have seen windows)."""
    core = compiled()
    if core is None or rule.lam not in (0.0, 0.5, 1.0, 2.0):
        return None
    inputs = _event_inputs(instance)
    if not inputs.supported or any(len(task.variants) > 1 for task in instance.tasks):
        return None
    deadline = instance.job_deadline.astype(np.int64)
    op_energy_nj = np.ascontiguousarray(instance.op_energy, np.int64)
    if (
        int(np.abs(deadline).max()) + inputs.reach >= EXACT / 2
        or float(np.abs(rule.op_latency).sum()) >= EXACT / 2  # the rests stay exact sums
        or float(np.abs(rule.op_energy).sum()) >= EXACT / 2
        or float(np.abs(op_energy_nj).sum(dtype=np.float64)) >= 2.0**62
    ):
        return None
    tuner = rule.tuner

    def on_window(now: int, energy_nj: int, ended: int, missed: int) -> tuple[float, float]:
        tuner.add(energy_nj, ended, missed)
        tuner.observe(now)
        return tuner.weights

    outputs = _engine_outputs(instance.n_jobs, instance.n_ops, op_times)
    window_left = array("q", bytes(24))  # the window still open at the end
    buffers = (
        *_event_call(instance, inputs, deadline, outputs), inputs.predicted,
        np.ascontiguousarray(rule.op_latency, np.float64),
        np.ascontiguousarray(rule.op_energy, np.float64), op_energy_nj,
        np.ascontiguousarray(rule.period, np.float64), window_left,
    )  # fmt: skip
    alpha, beta = tuner.weights
    result = core.dream_replay(
        instance.n_jobs, instance.n_ops, instance.n_accelerators, float(rule.epsilon),
        float(rule.lam), float(alpha), float(beta), bool(rule.proactive_drop),
        instance.settings.drops == "allowed", int(rule.window), on_window, buffers,
    )  # fmt: skip
    replayed = _collect(outputs, *result)
    if replayed is not None:
        tuner.add(*window_left)
    return replayed


def replay_heap(
    instance: Instance, rule: HeapRule, *, op_times: OpTimes | None = None
) -> CoreReplay | None:
    """FCFS or EDF on the engine's event loop in the core (the conditions of
    :func:`replay_events`); None where the core is off or does not describe the instance, or
    the replay fails (the caller then replays the policy in Python, which reports it)."""
    core = compiled()
    if core is None:
        return None
    inputs = _event_inputs(instance)
    if not inputs.supported:
        return None
    outputs = _engine_outputs(instance.n_jobs, instance.n_ops, op_times)
    deadline = instance.job_deadline.astype(np.int64)
    buffers = (*_event_call(instance, inputs, deadline, outputs), inputs.predicted)
    result = core.heap_replay(
        instance.n_jobs, instance.n_ops, instance.n_accelerators, rule.edf, buffers
    )
    return _collect(outputs, *result)

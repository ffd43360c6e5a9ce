"""The policy contract: what an online scheduler sees, when it is asked, and what it may answer.

This module is all a scheduler author needs (the event loop that drives it is
:mod:`rtmm_opt.engine.loop`; ``docs/engine.md`` says the same in prose).

**When a policy is called.** A :class:`Policy` is replayed over one instance at a time.

* :meth:`Policy.reset` is called once per replay, before anything runs, with the
  :class:`StaticInfo` of the instance: what is known in advance.
* :meth:`Policy.decide` is called at every **decision point**. After the engine has handled
  every event at a time t (op completions first, then job releases, then wake-ups), it stops
  there if at least one released job is unfinished and either an accelerator is idle or the
  policy asked to be woken at t. A decision that drops jobs or changes variants but dispatches
  nothing gets another decision point at the same t (the ready set has changed) if an
  accelerator is idle. Under ``settings.compat == "dysta"`` there is a decision point after
  every op instead (:mod:`rtmm_opt.engine.dysta_compat`).

**What a policy may see** (docs/design.md §2, as ``docs/engine.md`` states it): the :class:`View` of
the decision point, and :class:`StaticInfo`. Only released jobs; predicted op durations until an op
has run, its realised duration and measured sparsity after; the :class:`Notice` list of what
happened since the previous decision. Realised outcomes (durations, sparsities, early exits,
triggered cascades) are revealed only when they happen. ``StaticInfo`` holds every job's row,
so future releases could be read from it; by contract a policy looks only at released jobs.
A policy that reads realised outcomes in advance sets ``clairvoyant = True`` and may call
:meth:`View.clairvoyant`; its results are baselines, not online results. The View is a window
onto the engine's live state: read-only, and valid only during the ``decide`` call it was
passed to.

**What a policy may answer**: a :class:`Decision` (or None, the empty decision). The engine
applies its variant choices first, then its drops, then its dispatches, and raises
:class:`SchedulingError`, naming the policy and the time, for anything illegal (the list is in
:class:`Decision`'s docstring). A replay also fails with ``SchedulingError`` when released
jobs are left unfinished with nothing left to happen, and when a policy keeps asking to be
woken while nothing else happens and it decides nothing (``STAGNATION_LIMIT`` decision points
in a row).

**Running ahead** (optional). Under ``compat == "dysta"`` a decision point follows every op, and
while nothing is admitted the op that just ended usually makes the next layer of the same job
ready. A policy that can tell, faster than by ``decide``, how long it keeps choosing that job
overrides :meth:`Policy.hold`; :func:`~rtmm_opt.engine.loop.replay` then offers it each such
:class:`Run` of decision points and records the layers it keeps, without a View, notices or a
Decision per layer. ``hold`` must answer exactly what ``decide`` would; the scheduler tests
replay every such policy both ways.
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import Any, ClassVar, Protocol

import numpy as np

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.instance.instance import Instance, IntArray
from rtmm_opt.io.strict import suggest


class SchedulingError(Exception):
    """An illegal decision by a policy (a bug in the policy, not bad input)."""


class Notice(IntEnum):
    """What a policy is told happened since its last decision (``View.notices``).

    Each notice is a pair ``(kind, item)``, in the order the events happened.
    """

    RELEASED = 0  # (RELEASED, job)
    OP_DONE = 1  # (OP_DONE, op): realised duration and sparsity are now visible
    JOB_DONE = 2  # (JOB_DONE, job)
    JOB_DROPPED = 3  # (JOB_DROPPED, job): by a policy, or cascaded from an upstream drop
    OP_READY = 4  # (OP_READY, op): its job is released and its predecessors are done


# The name of ``op_predicted`` among the prediction matrices (StaticInfo.estimates).
PREDICTED = "predicted"

# A policy that keeps asking to be woken while nothing else happens and decides nothing is
# stuck (e.g. waiting for an accelerator that can never take its job).
STAGNATION_LIMIT = 100_000

# Op states, as the engine keeps them (plain ints: the engine compares them in its hot loop).
# An op of a job's variant is WAITING for its predecessors, READY to start, RUNNING, FINISHED;
# SKIPPED ops never run (their job completed early, was dropped, or runs another variant).
WAITING, READY, RUNNING, FINISHED, SKIPPED = 0, 1, 2, 3, 4
OP_STATE_NAMES = ("waiting", "ready", "running", "finished", "skipped")


@dataclass(slots=True)
class Decision:
    """A policy's answer at a decision point.

    * ``dispatches``: ``(op, accelerator)`` pairs. The op starts now (after a context reload
      if ``settings.context_switch`` asks for one) and runs to its end: ops are not preempted.
    * ``drops``: jobs to drop now; their cascaded downstream jobs are dropped with them.
    * ``variants``: ``{job: variant}``, the variant a job runs (default 0).
    * ``wake_at``: a time at which to get a decision point even if nothing happens then.

    The engine applies variants, then drops, then dispatches. A decision is illegal
    (:class:`SchedulingError`) when it

    * dispatches an op that is not ready (unknown, waiting, running, finished, or skipped,
      e.g. because this decision dropped its job or changed its variant);
    * dispatches to an accelerator that is unknown or busy (two ops to one accelerator
      included), or where the op is not eligible (a negative predicted duration);
    * drops a job that is not released and unfinished, or drops anything when the instance
      says ``drops: never``;
    * chooses a variant for a job that is not released and unfinished, or that has started
      (an op of it was dispatched), or a variant its task does not have;
    * asks to be woken at a time that is not after the current time.
    """

    dispatches: list[tuple[int, int]] = field(default_factory=list)
    drops: list[int] = field(default_factory=list)
    variants: dict[int, int] = field(default_factory=dict)
    wake_at: int | None = None


def shared_values(values: IntArray) -> list[int]:
    """``values.tolist()`` with one int object per distinct value: a list element then costs
    its pointer alone (8 bytes), where a fresh int above 256 costs 32 more. Per-op columns
    repeat a few values many times (the job of each op, a layer's cost in every frame)."""
    if values.size == 0:
        return []
    distinct, index = np.unique(values, return_inverse=True)
    objects = distinct.tolist()
    return [objects[i] for i in index.reshape(-1).tolist()]


def shared_rows(matrix: IntArray) -> list[list[int]]:
    """``matrix.tolist()`` (rows of a 2-D array) with equal rows as one list object: the ops of
    one layer in every frame share their row of costs. The rows must be treated as read-only."""
    if matrix.shape[0] == 0:
        return []
    # Rows grouped by a hash of their values (1-D np.unique is much faster than axis=0); a
    # collision, checked for, falls back to comparing whole rows.
    weights = np.array([0x9E3779B97F4A7C15 >> (3 * k) | 1 for k in range(matrix.shape[1])],
                       np.uint64).view(np.int64)  # fmt: skip
    keys = (matrix.astype(np.int64) * weights).sum(axis=1)  # wraps around, as a hash may
    _, first, index = np.unique(keys, return_index=True, return_inverse=True)
    index = index.reshape(-1)
    distinct = matrix[first]
    if not np.array_equal(distinct[index], matrix):
        distinct, index = np.unique(matrix, axis=0, return_inverse=True)
        index = index.reshape(-1)
    rows = distinct.tolist()
    return [rows[i] for i in index.tolist()]


# StaticInfo per instance, so that a policy's ``static`` and every ``view.static`` of a replay
# are one object (its list copies are made once).
_STATIC_INFO: weakref.WeakKeyDictionary[Instance, StaticInfo] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class StaticInfo:
    """What an online policy knows before anything runs: tasks, accelerators, predictions.

    Realised values (``op_duration``, ``op_sparsity``, ``job_exit_op``) are not here. Each op's
    DRAM traffic per accelerator (``op_dram_bytes``) and the shared DRAM bandwidth are: they are
    properties of the layer and the system, known before anything runs. The arrays
    are the instance's own read-only arrays; the field names are the instance's (see
    :class:`~rtmm_opt.instance.instance.Instance`). One StaticInfo exists per instance
    (:meth:`of`).
    """

    accelerators: tuple[str, ...]
    tasks: tuple[Any, ...]
    job_task: IntArray
    job_frame: IntArray
    job_release: IntArray
    job_deadline: IntArray
    job_weight: IntArray
    job_op_offsets: IntArray
    op_job: IntArray
    op_variant: IntArray
    op_segment: IntArray
    op_predicted: IntArray
    op_energy: IntArray
    op_dram_bytes: IntArray
    op_sparsity_mean: Any
    op_pred_offsets: IntArray
    op_preds: IntArray
    drops_allowed: bool
    time_unit_ns: float
    dram_bandwidth: float = 0.0  # Settings.dram_bandwidth, bytes per time unit (0: not modelled)
    op_estimates: Mapping[str, IntArray] = field(default_factory=dict)
    compat: str = "none"  # Settings.compat: whose simulator's quirks to reproduce

    @staticmethod
    def of(instance: Instance) -> StaticInfo:
        """The StaticInfo of ``instance`` (made once per instance)."""
        cached = _STATIC_INFO.get(instance)
        if cached is None:
            cached = StaticInfo(
                accelerators=instance.accelerators,
                tasks=instance.tasks,
                job_task=instance.job_task,
                job_frame=instance.job_frame,
                job_release=instance.job_release,
                job_deadline=instance.job_deadline,
                job_weight=instance.job_weight,
                job_op_offsets=instance.job_op_offsets,
                op_job=instance.op_job,
                op_variant=instance.op_variant,
                op_segment=instance.op_segment,
                op_predicted=instance.op_predicted,
                op_energy=instance.op_energy,
                op_dram_bytes=instance.op_dram_bytes,
                op_sparsity_mean=instance.op_sparsity_mean,
                op_pred_offsets=instance.op_pred_offsets,
                op_preds=instance.op_preds,
                drops_allowed=instance.settings.drops == "allowed",
                time_unit_ns=instance.time_unit_ns,
                dram_bandwidth=instance.settings.dram_bandwidth,
                op_estimates=instance.op_estimates,
                compat=instance.settings.compat,
            )
            _STATIC_INFO[instance] = cached
        return cached

    def ops_of(self, job: int) -> range:
        """The job's ops, every variant's, in op order."""
        return range(int(self.job_op_offsets[job]), int(self.job_op_offsets[job + 1]))

    def estimates(self, name: str = PREDICTED) -> IntArray:
        """A prediction matrix by name: ``"predicted"`` is ``op_predicted``, any other name an
        estimate set of the instance (``Instance.op_estimates``). Unknown names are input
        errors naming the scheduler parameter ``estimates``."""
        if name == PREDICTED:
            return self.op_predicted
        if name not in self.op_estimates:
            known = [PREDICTED, *self.op_estimates]
            raise InputError(
                f"unknown estimate set {excerpt(name)}{suggest(name, known)}; this instance has "
                f"{', '.join(known)}",
                field="params.estimates",
            )
        return self.op_estimates[name]

    # Python-list copies for hot loops: indexing a list is several times faster than a numpy
    # scalar look-up. Equal values and rows are shared objects (shared_values, shared_rows), so
    # that a list costs about a pointer per op.
    @cached_property
    def predicted_rows(self) -> list[list[int]]:
        """``op_predicted`` as lists (one row per op, -1 where ineligible; equal rows are one
        list, read-only)."""
        return shared_rows(self.op_predicted)

    @cached_property
    def op_job_list(self) -> list[int]:
        return shared_values(self.op_job)

    @cached_property
    def op_variant_list(self) -> list[int]:
        return shared_values(self.op_variant)

    @cached_property
    def variant_free(self) -> bool:
        """Whether every op is of variant 0 (every job has one variant, all its ops)."""
        return not self.op_variant.any()

    def variant_ops(self, job: int, variant: int) -> list[int]:
        """The job's ops of ``variant``, in op order."""
        ops = self.ops_of(job)
        if self.variant_free:
            return list(ops) if variant == 0 else []
        variants = self.op_variant_list
        return [op for op in ops if variants[op] == variant]

    @cached_property
    def job_deadline_list(self) -> list[int]:
        return self.job_deadline.tolist()


class EngineState(Protocol):
    """The engine's live state that a :class:`View` reads (all read-only).

    :class:`~rtmm_opt.engine.loop.Engine` provides it; any other driver of policies (a
    Gymnasium environment, a test double) may too.
    """

    @property
    def instance(self) -> Instance: ...
    @property
    def static(self) -> StaticInfo: ...
    @property
    def now(self) -> int: ...
    @property
    def n_accelerators(self) -> int: ...
    @property
    def notices(self) -> Sequence[tuple[int, int]]: ...
    @property
    def running(self) -> Sequence[int]: ...  # per accelerator, its op or -1
    @property
    def active(self) -> Mapping[int, None]: ...  # released, unfinished jobs, in release order
    @property
    def ready(self) -> Mapping[int, None]: ...  # ready ops, in the order they became ready
    @property
    def op_state(self) -> Sequence[int]: ...  # WAITING, READY, ...
    @property
    def op_start(self) -> Sequence[int]: ...
    @property
    def op_end(self) -> Sequence[int]: ...
    @property
    def op_variant(self) -> Sequence[int]: ...
    @property
    def job_ops(self) -> Sequence[range]: ...
    @property
    def job_visible_at(self) -> Sequence[int]: ...
    @property
    def job_last_progress(self) -> Sequence[int]: ...
    @property
    def job_variant(self) -> Sequence[int]: ...
    @property
    def job_started(self) -> Sequence[bool]: ...


class View:
    """What an online policy may see at a decision point (docs/design.md §2; the module docstring).

    Released jobs only; predicted op durations until an op has run, realised ones after; the
    notices of what happened since the last decision. Policies must treat it as read-only and
    must not keep it past the decision (it is a window onto the engine's live state).
    """

    __slots__ = ("_engine", "instance_name", "n_accelerators", "now")

    def __init__(self, engine: EngineState) -> None:
        self._engine = engine
        self.now = engine.now
        self.n_accelerators = engine.n_accelerators
        self.instance_name = engine.instance.name

    # -- what is happening -----------------------------------------------------------------------
    @property
    def notices(self) -> Sequence[tuple[int, int]]:
        """``(Notice, item)`` pairs for what happened since the last decision, in order."""
        return self._engine.notices

    @property
    def idle_accelerators(self) -> list[int]:
        """The accelerators with nothing running, lowest index first (a fresh list)."""
        return [acc for acc, op in enumerate(self._engine.running) if op < 0]

    def running_op(self, accelerator: int) -> int:
        """The op running on ``accelerator``, or -1."""
        return self._engine.running[accelerator]

    @property
    def active_jobs(self) -> Iterable[int]:
        """Released, unfinished jobs, in release order."""
        return self._engine.active.keys()

    @property
    def ready_ops(self) -> Iterable[int]:
        """Ops that could start now, in the order they became ready."""
        return self._engine.ready.keys()

    def is_ready(self, op: int) -> bool:
        return self._engine.op_state[op] == READY

    def ready_ops_of(self, job: int) -> list[int]:
        state = self._engine.op_state
        return [op for op in self._engine.job_ops[job] if state[op] == READY]

    # -- static, visible facts ---------------------------------------------------------------------
    @property
    def static(self) -> StaticInfo:
        return self._engine.static

    def job_release(self, job: int) -> int:
        """When the job became visible (its frame release, or its upstream's completion)."""
        return self._engine.job_visible_at[job]

    def job_last_progress(self, job: int) -> int:
        """The end of the job's last finished op, or its release."""
        return self._engine.job_last_progress[job]

    def job_variant(self, job: int) -> int:
        return self._engine.job_variant[job]

    def job_started(self, job: int) -> bool:
        """Whether an op of the job has been dispatched (its variant is then fixed)."""
        return self._engine.job_started[job]

    def remaining_ops(self, job: int) -> list[int]:
        """The job's ops of its variant that have not finished (including running ones)."""
        engine = self._engine
        variant = engine.job_variant[job]
        state = engine.op_state
        op_variant = engine.op_variant
        return [
            op
            for op in engine.job_ops[job]
            if op_variant[op] == variant and state[op] in (WAITING, READY, RUNNING)
        ]

    def op_finished(self, op: int) -> bool:
        return self._engine.op_state[op] == FINISHED

    def op_start(self, op: int) -> int:
        """When a dispatched op started (after any context reload), or -1."""
        return self._engine.op_start[op]

    # -- realised outcomes, once they happened ----------------------------------------------
    def actual_duration(self, op: int) -> int:
        """The realised duration of a finished op (its end minus its start)."""
        engine = self._engine
        if engine.op_state[op] != FINISHED:
            raise SchedulingError(f"op {op} has not finished; its realised duration is unknown")
        return engine.op_end[op] - engine.op_start[op]

    def measured_sparsity(self, op: int) -> float:
        """The sparsity measured while a finished op ran (NaN if the instance has none)."""
        if self._engine.op_state[op] != FINISHED:
            raise SchedulingError(f"op {op} has not run; its sparsity is not measured yet")
        return float(self._engine.instance.op_sparsity[op])

    def clairvoyant(self) -> Instance:
        """The whole instance, realised outcomes included: for oracle-style baselines only
        (e.g. ``dysta_oracle``); their results are not online results."""
        return self._engine.instance


class Run:
    """A run of decision points along one job's chain of layers, offered to :meth:`Policy.hold`.

    Boundary ``i`` (0 ≤ i < ``len(times) - 1``) is at ``times[i]``: op ``first + i - 1`` of
    ``job`` has just finished (its realised sparsity is :meth:`measured_sparsity`), op ``first
    + i`` has become ready (the notices would be ``(OP_DONE, first + i - 1), (OP_READY, first +
    i)``), nothing is released or finishes, and the one accelerator (0) is idle. If the policy
    dispatches op ``first + i`` there, it runs from ``times[i]`` to ``times[i + 1]``. Every
    other active job is as ``view`` (at boundary 0) shows it, and stays so along the run.
    Read-only.
    """

    __slots__ = ("first", "job", "sparsity", "times", "view")

    def __init__(
        self, view: View, job: int, first: int, times: Sequence[int], sparsity: Sequence[float]
    ) -> None:
        self.view = view
        self.job = job
        self.first = first
        self.times = times
        self.sparsity = sparsity  # realised sparsity per op (the instance's op_sparsity)

    def measured_sparsity(self, boundary: int) -> float:
        """The measured sparsity of the op that finished at ``boundary``."""
        return float(self.sparsity[self.first + boundary - 1])

    def view_at(self, boundary: int) -> View:
        """What ``decide`` would see at ``boundary``, but for the ops of the run and the
        notices (those of boundary 0): the clock, and the job's last progress, are
        ``times[boundary]``."""
        return _RunView(self.view, self.job, self.times[boundary])


class _RunView(View):
    """:meth:`Run.view_at`: a View moved along a run."""

    __slots__ = ("_job",)

    def __init__(self, view: View, job: int, now: int) -> None:
        self._engine = view._engine
        self.n_accelerators = view.n_accelerators
        self.instance_name = view.instance_name
        self.now = now
        self._job = job

    def job_last_progress(self, job: int) -> int:
        return self.now if job == self._job else self._engine.job_last_progress[job]


class Policy(ABC):
    """An online scheduler: one decision method, called at every decision point.

    ``reset`` is called once per replay with what is known before anything runs. ``decide``
    gets the :class:`View` of the current decision point and returns a :class:`Decision` (or
    None for "nothing now"); the module docstring says when it is called, what it may see and
    what makes a decision illegal. A policy that reads realised outcomes in advance sets
    ``clairvoyant = True`` (it may then call ``view.clairvoyant()``); its results are
    baselines, not online results. ``name`` is set by the scheduler registry.
    """

    name: ClassVar[str] = ""
    clairvoyant: ClassVar[bool] = False

    def reset(self, static: StaticInfo) -> None:  # noqa: B027 - optional hook
        """Prepare for a new replay (build the per-replay state here)."""

    @abstractmethod
    def decide(self, view: View) -> Decision | None:
        """The decision at this decision point."""

    def hold(self, run: Run) -> int:
        """How many leading boundaries of ``run`` this policy dispatches the job's next op at
        (the module docstring, "Running ahead").

        Returning n means: at boundaries 0 … n-1, ``decide`` would have taken in that
        boundary's notices and dispatched op ``run.first + i`` to accelerator 0, and the
        policy's state is now what those n calls would have left; boundary n (if n is less
        than the run's length) has not been seen, and the engine shows it to ``decide`` with
        its notices. The default, 0, runs ``decide`` at every boundary.
        """
        return 0

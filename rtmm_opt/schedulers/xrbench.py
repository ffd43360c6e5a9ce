"""The XRBench harness policy (Kwon et al., "XRBench: An Extended Reality (XR) Machine Learning
Benchmark Suite for the Metaverse", MLSys 2023; harness XRBench-MLSys2023 commit 89156663, whose
observed behaviour ``shared/xrbench/README.md`` records under "Behaviour of the harness").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from rtmm_opt.engine.engine import Decision, Notice, StaticInfo, View
from rtmm_opt.engine.policy import Policy
from rtmm_opt.schedulers.common import choose_accelerator
from rtmm_opt.schedulers.registry import register

COMPAT_MODES = ("off",)
_RELEASED, _OP_READY, _OP_DONE = Notice.RELEASED, Notice.OP_READY, Notice.OP_DONE
_JOB_DONE, _JOB_DROPPED = Notice.JOB_DONE, Notice.JOB_DROPPED


@register("xrbench")
@dataclass
class XRBench(Policy):
    """Whole-model, non-preemptive, latency-greedy serving of per-model FIFO queues.

    **Harness events.** The harness looks at its queues only at *events*: ticks at the
    multiples of the fastest task's period (the smallest ``TaskInfo.period``; the harness's
    ``1000/max FPS`` ms), and job completions. At an event, every job released since the last
    event enters its task's FIFO queue; a job released between events waits for the next one
    (its deadline does not move). The policy asks to be woken at the next tick (``wake_at``)
    while any job waits. An instance without periodic tasks has no ticks: every decision point
    is an event.

    **Drops.** At an event, each queued job (entered, not started) whose deadline has come
    (d_j ≤ t: it cannot start in time; the harness never dispatches a frame at or after its
    deadline) is dropped; the engine drops its cascaded dependents. A job that has started is
    never dropped. Nothing is dropped when the instance says ``drops: never``.

    **Dispatch.** At an event, the tasks are visited in alphabetical order of their names; each
    task's head request (its oldest queued job, one per task per event) takes the *fastest idle
    accelerator*: the smallest summed predicted latency of the job's ops (of its variant) on
    it, among the idle accelerators where all of them are eligible (ties: lower index). A head
    with no such accelerator waits. Requests are never preempted.

    **Finer granularity.** The harness runs whole models (use ``--granularity model``). At
    ``block:N`` or ``layer`` granularity a job keeps every op on the accelerator its first op
    ran on and runs them back to back (in the order they become ready), so that accelerator is
    the job's until it completes; only the first op waits for an event.

    ``compat`` is reserved for an exact reproduction of the harness's timelines (its injection
    of dependent frames, its end-of-window logging); only ``off`` exists now.
    """

    compat: str = "off"

    _static: StaticInfo | None = field(default=None, init=False, repr=False)
    _tick: int = field(default=0, init=False, repr=False)  # 0: no periodic task, no ticks
    _tick_task: int = field(default=-1, init=False, repr=False)  # the task whose period ticks
    _task_order: list[int] = field(default_factory=list, init=False, repr=False)
    _queues: list[deque[int]] = field(default_factory=list, init=False, repr=False)
    _waiting: list[int] = field(default_factory=list, init=False, repr=False)  # not yet queued
    _gone: set[int] = field(default_factory=set, init=False, repr=False)
    _owner: list[int] = field(default_factory=list, init=False, repr=False)  # acc -> job, -1
    _home: dict[int, int] = field(default_factory=dict, init=False, repr=False)  # job -> acc
    # jobs in service that no single accelerator can run whole: each op goes where it can
    _roaming: dict[int, None] = field(default_factory=dict, init=False, repr=False)
    _ready: dict[int, dict[int, None]] = field(default_factory=dict, init=False, repr=False)
    _latency: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False)
    _event_time: int = field(default=-1, init=False, repr=False)
    _op_job: list[int] = field(default_factory=list, init=False, repr=False)
    _job_task: list[int] = field(default_factory=list, init=False, repr=False)
    _deadline: list[int] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.compat not in COMPAT_MODES:
            raise ValueError(
                f"compat must be one of {', '.join(COMPAT_MODES)} (exact reproduction of the "
                f"XRBench harness is not implemented yet), got {self.compat!r}"
            )

    def reset(self, static: StaticInfo) -> None:
        self._static = static
        periods = [(task.period, index) for index, task in enumerate(static.tasks) if task.period]
        self._tick, self._tick_task = min(periods) if periods else (0, -1)
        self._task_order = sorted(range(len(static.tasks)), key=lambda t: static.tasks[t].name)
        self._queues = [deque() for _ in static.tasks]
        self._waiting = []
        self._gone = set()
        self._owner = [-1] * len(static.accelerators)
        self._home = {}
        self._roaming = {}
        self._ready = {}
        self._latency = {}
        self._event_time = -1
        self._op_job = static.op_job_list
        self._job_task = static.job_task.tolist()
        self._deadline = static.job_deadline_list

    def model_latency(self, view: View, job: int) -> list[int]:
        """Per accelerator, the job's summed predicted op latency; -1 where an op is ineligible."""
        latency = self._latency.get(job)
        if latency is None:
            static = self._static
            assert static is not None
            ops = np.asarray(static.ops_of(job))
            ops = ops[static.op_variant[ops] == view.job_variant(job)]
            rows = static.op_predicted[ops]
            summed = np.where((rows < 0).any(axis=0), -1, rows.sum(axis=0))
            latency = self._latency[job] = [int(value) for value in summed]
        return latency

    def _observe(self, view: View) -> bool:
        """Take in the notices; True at a harness event: a job completed at this very time, or
        the tick task released a frame."""
        now, op_job = view.now, self._op_job
        ended_now: set[int] = set()
        completed_now = False
        for kind, item in view.notices:
            if kind == _OP_READY:
                self._ready.setdefault(op_job[item], {})[item] = None
            elif kind == _OP_DONE:
                if view.op_start(item) + view.actual_duration(item) == now:
                    ended_now.add(op_job[item])
            elif kind == _RELEASED:
                self._waiting.append(item)
                # The fastest task's frames are the harness's ticks. Its releases sit on the
                # exact frame grid, which a whole-unit period need not hit (e.g. 30 FPS in ns).
                completed_now |= self._job_task[item] == self._tick_task
            elif kind in (_JOB_DONE, _JOB_DROPPED):
                completed_now |= kind == _JOB_DONE and item in ended_now
                self._gone.add(item)
                self._ready.pop(item, None)
                self._latency.pop(item, None)
                acc = self._home.pop(item, -1)
                if acc >= 0:
                    self._owner[acc] = -1
                self._roaming.pop(item, None)
        return completed_now

    def decide(self, view: View) -> Decision | None:
        static = self._static
        assert static is not None
        now = view.now
        if self._observe(view) or not self._tick or now % self._tick == 0:
            self._event_time = now
        decision = Decision()
        free = []
        for acc in view.idle_accelerators:
            job = self._owner[acc]
            if job < 0:
                free.append(acc)
                continue
            ready = self._ready.get(job)
            if ready:  # the job's next op, back to back on its accelerator
                op = next(iter(ready))
                del ready[op]
                decision.dispatches.append((op, acc))
        self._roam(decision, free)
        if self._event_time == now:
            self._serve(view, decision, free)
        if self._tick and (self._waiting or any(self._queues)):
            decision.wake_at = (now // self._tick + 1) * self._tick
        return decision

    def _roam(self, decision: Decision, free: list[int]) -> None:
        """Dispatch the ready ops of roaming jobs, each to its fastest free eligible accelerator."""
        static = self._static
        assert static is not None
        for job in self._roaming:
            ready = self._ready.get(job)
            for op in list(ready or ()):
                acc = choose_accelerator(static, op, free)
                if acc < 0:
                    continue
                del ready[op]  # type: ignore[union-attr]
                decision.dispatches.append((op, acc))
                free.remove(acc)

    def _serve(self, view: View, decision: Decision, free: list[int]) -> None:
        """A harness event: queue new requests, drop expired ones, serve the heads."""
        static = self._static
        assert static is not None
        now, gone, queues = view.now, self._gone, self._queues
        for job in self._waiting:
            if job not in gone:
                queues[self._job_task[job]].append(job)
        self._waiting = []
        if static.drops_allowed:
            deadline = self._deadline
            for index, queue in enumerate(queues):
                if any(deadline[job] <= now for job in queue):
                    expired = [job for job in queue if deadline[job] <= now and job not in gone]
                    decision.drops.extend(expired)
                    gone.update(expired)
                    queues[index] = deque(job for job in queue if job not in gone)
        for task in self._task_order:
            if not free:
                break
            queue = queues[task]
            while queue and queue[0] in gone:
                queue.popleft()
            if not queue:
                continue
            job = queue[0]
            latency = self.model_latency(view, job)
            acc = min(
                (acc for acc in free if latency[acc] >= 0),
                key=lambda acc: (latency[acc], acc),
                default=-1,
            )
            if acc < 0:
                if any(value >= 0 for value in latency):
                    continue  # wait for an accelerator that runs the whole model
                queue.popleft()  # none can: its ops go to whichever accelerator runs each
                self._roaming[job] = None
                self._roam(decision, free)
                continue
            queue.popleft()
            ready = self._ready[job]
            op = next(iter(ready))
            del ready[op]
            decision.dispatches.append((op, acc))
            free.remove(acc)
            self._owner[acc] = job
            self._home[job] = acc

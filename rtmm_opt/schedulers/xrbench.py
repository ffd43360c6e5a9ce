"""The XRBench harness policy (Kwon et al., "XRBench: An Extended Reality (XR) Machine Learning
Benchmark Suite for the Metaverse", MLSys 2023; harness XRBench-MLSys2023 commit 89156663,
``XRBench-MAESTRO.cpp`` and ``lib/include/heterogeneous-space-exploration/HET_*.hpp``).

Two ways to run it (parameter ``compat``): the project's clean reading of the policy, and an
exact replay of the harness's event loop with its quirks (:class:`XRBench` lists both).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from rtmm_opt.engine.contract import Decision, Notice, Policy, StaticInfo, View
from rtmm_opt.engine.core import HarnessRule
from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.units import NS_PER_MS
from rtmm_opt.schedulers.base import choose_accelerator
from rtmm_opt.schedulers.registry import register

COMPAT_MODES = ("auto", "none", "harness")
# HET_process.hpp, InferenceProcess::IsFinished: a process counts as finished once
# current_time + FP_ERROR_MARGIN >= its completion time, with FP_ERROR_MARGIN = 1e-2f ms.
HARNESS_FINISH_MARGIN_MS = np.float32(1e-2)
_RELEASED, _OP_READY, _OP_DONE = Notice.RELEASED, Notice.OP_READY, Notice.OP_DONE
_JOB_DONE, _JOB_DROPPED = Notice.JOB_DONE, Notice.JOB_DROPPED


def summed_latency(static: StaticInfo, ops: list[int]) -> list[int]:
    """Per accelerator, the summed predicted latency of ``ops``; -1 where one is ineligible."""
    rows = static.predicted_rows
    summed = [0] * len(static.accelerators)
    for op in ops:
        for acc, value in enumerate(rows[op]):
            if value < 0 or summed[acc] < 0:
                summed[acc] = -1
            else:
                summed[acc] += value
    return summed


@register("xrbench")
@dataclass
class XRBench(Policy):
    """Whole-model, non-preemptive, latency-greedy serving of per-model FIFO queues.

    ``compat``: ``none`` runs the clean policy below; ``harness`` replays the harness exactly,
    quirks included (below); ``auto`` (default) replays the harness on instances built with
    ``settings.compat == "xrbench"`` (every XRBench ``.m`` scenario, and scenarios that say
    ``compat: xrbench``) and runs the clean policy otherwise.

    **Clean policy** (``compat: none``).

    * *Events.* The harness looks at its queues only at *events*: ticks at the multiples of the
      fastest task's period (the smallest ``TaskInfo.period``; the harness's ``1000/max FPS``
      ms), and job completions. At an event, every job released since the last event enters its
      task's FIFO queue; a job released between events waits for the next one (its deadline
      does not move). The policy asks to be woken at the next tick while any job waits. An
      instance without periodic tasks has no ticks: every decision point is an event.
    * *Drops.* At an event, each queued job (entered, not started) whose deadline has come
      (d_j ≤ t: it can no longer start in time) is dropped; the engine drops its cascaded
      dependents. A job that has started is never dropped. Nothing is dropped under
      ``drops: never``.
    * *Dispatch.* At an event, the tasks are visited in alphabetical order of their names; each
      task's head request (its oldest queued job, one per task per event) takes the *fastest
      idle accelerator*: the smallest summed predicted latency of the job's ops (of its variant)
      on it, among the idle accelerators where all of them are eligible (ties: lower index). A
      head with no such accelerator waits. Requests are never preempted.
    * *Finer granularity.* The harness runs whole models (``--granularity model``). At
      ``block:N`` or ``layer`` a job keeps every op on the accelerator its first op ran on and
      runs them back to back (in the order they become ready), so that accelerator is the job's
      until it completes; only the first op waits for an event. A job that no single
      accelerator can run whole sends each op to the fastest idle accelerator that can run it.

    **Harness replay** (``compat: harness``). The policy keeps the harness's own state and
    clock and replays its event loop (``HET_runtime.hpp``, ``Runtime::RunWorkloads``); each
    harness event is processed at the first decision point at or after it, and each dispatch
    it decides is carried out there. The quirks it reproduces, each from the harness source:

    1. *float32 time* (``HET_runtime.hpp``, ``HET_process.hpp``, ``HET_timer.hpp``): the clock,
       dispatch and completion times are single-precision milliseconds; a completion is
       ``dispatch + float(cycles)/1e6``, so rounding accumulates along chains of dispatches
       (microseconds by the end of the window), and the order of near-simultaneous events
       follows the float32 values.
    2. *Early finish* (``HET_process.hpp``, ``InferenceProcess::IsFinished``): at an event t a
       running inference counts as finished if ``t + 0.01 ms`` reaches its completion; its
       accelerator is free and its completion counted from t on. The engine starts the next
       job on that accelerator when the previous one has actually ended (at most 0.01 ms
       later), and an inference whose completion was absorbed this way is no event itself.
    3. *Events* (``HET_timer.hpp``, ``Timer::GetNextEventTime``): the next event is the
       earliest of the next base tick (``(k+1)·(1000/max FPS)`` ms) and the running
       inferences' completions.
    4. *Injection* (``HET_load-generator.hpp``, ``GetNewInferenceRequests``): a frame enters its
       model's queue at the first event at or after its release.
    5. *Drop rule* (``HET_runtime.hpp``, ``DropLateFrames``): a queued frame is dropped at an
       event t with ``deadline < t`` (strictly: a frame may still start at its deadline). The
       harness's code to drop dependents' frames compares each dependent's model name with
       its own dependency list and never fires, so nothing is cascaded by the harness. A
       cascaded job that the engine releases only after the harness would have dropped it
       (its upstream finished late) is dropped at once.
    6. *Dependency gate* (``HET_runtime.hpp``, ``DispatchJobs``/``RemoveFinishedProcesses``):
       frame f of a dependent model may start only once its upstream model has *completed*
       f + 1 inferences in all. The gate counts completions, not frame ids, so after one
       dropped upstream frame each later dependent frame waits for an upstream frame released
       at its own deadline and is dropped: the dependent starves for the rest of the run
       (GE_FBNet_C on ``Single_4K``/``OS`` runs frame 0 only).
    7. *Dispatch passes* (``DispatchJobs``): models are visited in alphabetical order
       (``std::map``), the head of each queue taking the fastest idle accelerator (summed
       cycles, ties to the lower index), and the visit is repeated until nothing more starts,
       so a model may start several frames at one event.

    Scope of the replay: exact for static costs (the harness has no others) and for dependent
    tasks with the same period as their upstream (every XRBench scenario). The engine keeps
    the project's cascade (a dependent frame is released when its upstream frame completes
    and dropped with it); with equal periods that never changes what the harness does, since a
    dependent frame whose upstream frame was dropped cannot pass the gate before its own
    deadline. The harness's window (what it logs) is applied by the metrics under
    ``settings.compat == "xrbench"`` (``rtmm_opt.metrics.metrics``). A model that no single
    accelerator can run whole is served as in the clean policy, outside the replay.
    """

    compat: str = "auto"

    def __post_init__(self) -> None:
        if self.compat not in COMPAT_MODES:
            raise ValueError(
                f"compat must be one of {', '.join(COMPAT_MODES)} (auto: replay the harness on "
                f"instances with settings.compat 'xrbench'), got {excerpt(self.compat)}"
            )

    def reset(self, static: StaticInfo) -> None:
        self.static = static
        periods: list[tuple[int, int]] = [
            (task.period, index) for index, task in enumerate(static.tasks) if task.period
        ]
        # the fastest task's period and index; (0, -1): no periodic task, no ticks
        self._tick, self._tick_task = min(periods) if periods else (0, -1)
        self._task_order = sorted(range(len(static.tasks)), key=lambda t: static.tasks[t].name)
        self._queues: list[deque[int]] = [deque() for _ in static.tasks]
        self._waiting: list[int] = []  # released, not yet queued (waiting for an event)
        self._event_time = -1
        self._job_task: list[int] = static.job_task.tolist()
        self._deadline = static.job_deadline_list
        self._service = _Service(static)
        harness = self.compat == "harness" or (self.compat == "auto" and static.compat == "xrbench")
        if harness and static.compat == "dysta":
            # The harness waits for its next event; the Dysta loop must run an op at every
            # decision. One run cannot reproduce both simulators.
            raise InputError(
                "compat 'harness' replays the XRBench harness, which waits for its events, but "
                "this instance reproduces the Dysta simulator (settings.compat 'dysta'), where "
                "every decision runs an op; use compat 'none' or 'auto'",
                field="params.compat",
            )
        self._replay = _HarnessReplay(static, self._service, self._task_order) if harness else None

    def compiled_rule(self) -> HarnessRule | None:
        """The harness replay for the compiled core (:mod:`rtmm_opt.engine.core`), after
        ``reset``; the clean policy has none."""
        if type(self) is not XRBench or self._replay is None:
            return None
        return HarnessRule(
            self._tick if self._tick_task >= 0 else 0, self._task_order, self._replay.upstreams
        )

    @property
    def replays_harness(self) -> bool:
        """True when this replay follows the harness's event loop (set by ``reset``)."""
        return self._replay is not None

    def _observe(self, view: View) -> bool:
        """Take in the notices; True at a harness event: a job completed at this very time, or
        the tick task released a frame."""
        now, service = view.now, self._service
        ended_now: set[int] = set()
        completed_now = False
        for kind, item in view.notices:
            if kind == _OP_READY:
                service.op_ready(item)
            elif kind == _OP_DONE:
                if view.op_start(item) + view.actual_duration(item) == now:
                    ended_now.add(service.op_job[item])
            elif kind == _RELEASED:
                self._waiting.append(item)
                # The fastest task's frames are the harness's ticks. Its releases sit on the
                # exact frame grid, which a whole-unit period need not hit (e.g. 30 FPS in ns).
                completed_now |= self._job_task[item] == self._tick_task
            elif kind in (_JOB_DONE, _JOB_DROPPED):
                completed_now |= kind == _JOB_DONE and item in ended_now
                service.forget(item)
        return completed_now

    def decide(self, view: View) -> Decision | None:
        if self._replay is not None:
            return self._replay.decide(view)
        now = view.now
        if self._observe(view) or not self._tick or now % self._tick == 0:
            self._event_time = now
        decision = Decision()
        free = self._service.continue_jobs(view, decision)
        self._service.roam(decision, free)
        if self._event_time == now:
            self._serve(view, decision, free)
        if self._tick and (self._waiting or any(self._queues)):
            decision.wake_at = (now // self._tick + 1) * self._tick
        return decision

    def _serve(self, view: View, decision: Decision, free: list[int]) -> None:
        """A harness event: queue new requests, drop expired ones, serve the heads."""
        service = self._service
        now, gone, queues = view.now, service.gone, self._queues
        for job in self._waiting:
            if job not in gone:
                queues[self._job_task[job]].append(job)
        self._waiting = []
        if self.static.drops_allowed:
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
            latency = service.model_latency(view, job)
            acc = min(
                (acc for acc in free if latency[acc] >= 0),
                key=lambda acc: (latency[acc], acc),
                default=-1,
            )
            if acc < 0:
                if any(value >= 0 for value in latency):
                    continue  # wait for an accelerator that runs the whole model
                queue.popleft()  # none can: its ops go to whichever accelerator runs each
                service.start_roaming(job, decision, free)
                continue
            queue.popleft()
            service.start(job, acc, decision, free)


class _Service:
    """The jobs in service and their ready ops, for one replay: the dispatch bookkeeping of the
    clean policy (a job keeps its accelerator until it completes; roaming jobs), which the
    harness replay shares."""

    def __init__(self, static: StaticInfo) -> None:
        self.static = static
        self.op_job = static.op_job_list
        self.ready: dict[int, dict[int, None]] = {}  # job -> its ready, undispatched ops
        self.gone: set[int] = set()  # completed or dropped jobs
        self.owner = [-1] * len(static.accelerators)  # accelerator -> the job it serves, or -1
        self.home: dict[int, int] = {}  # job -> the accelerator it holds
        # jobs in service that no single accelerator can run whole: each op goes where it can
        self.roaming: dict[int, None] = {}
        self.latency: dict[int, list[int]] = {}  # job -> model latency (summed_latency)

    def op_ready(self, op: int) -> None:
        self.ready.setdefault(self.op_job[op], {})[op] = None

    def model_latency(self, view: View, job: int) -> list[int]:
        """Per accelerator, the job's summed predicted op latency; -1 where an op is ineligible."""
        latency = self.latency.get(job)
        if latency is None:
            static = self.static
            ops = static.variant_ops(job, view.job_variant(job))
            latency = self.latency[job] = summed_latency(static, ops)
        return latency

    def forget(self, job: int) -> None:
        """A job completed or was dropped: free its accelerator and its bookkeeping."""
        self.gone.add(job)
        self.ready.pop(job, None)
        self.latency.pop(job, None)
        acc = self.home.pop(job, -1)
        if acc >= 0:
            self.owner[acc] = -1
        self.roaming.pop(job, None)

    def continue_jobs(self, view: View, decision: Decision) -> list[int]:
        """Start the next op of each job in service on its own idle accelerator (back to back);
        return the idle accelerators that no job holds."""
        free = []
        for acc in view.idle_accelerators:
            job = self.owner[acc]
            if job < 0:
                free.append(acc)
                continue
            ready = self.ready.get(job)
            if ready:
                op = next(iter(ready))
                del ready[op]
                decision.dispatches.append((op, acc))
        return free

    def roam(self, decision: Decision, free: list[int]) -> None:
        """Dispatch the ready ops of roaming jobs, each to its fastest free eligible accelerator."""
        for job in self.roaming:
            ready = self.ready.get(job)
            for op in list(ready or ()):
                acc = choose_accelerator(self.static, op, free)
                if acc < 0:
                    continue
                del ready[op]  # type: ignore[union-attr]
                decision.dispatches.append((op, acc))
                free.remove(acc)

    def start_roaming(self, job: int, decision: Decision, free: list[int]) -> None:
        """Serve a job that no single accelerator can run whole, op by op."""
        self.roaming[job] = None
        self.roam(decision, free)

    def start(self, job: int, acc: int, decision: Decision, free: list[int]) -> None:
        """Start the job's first ready op on ``acc``, which becomes the job's home."""
        ready = self.ready[job]
        op = next(iter(ready))
        del ready[op]
        decision.dispatches.append((op, acc))
        free.remove(acc)
        self.owner[acc] = job
        self.home[job] = acc


@dataclass
class _Running:
    """An inference the harness has on an accelerator: its job and float32 completion (ms)."""

    job: int
    completion: np.float32


class _HarnessReplay:
    """The harness's event loop in its own float32 clock (``HET_runtime.hpp``,
    ``Runtime::RunWorkloads``: fetch, remove finished, drop late, dispatch, next event), driving
    the engine. See :class:`XRBench` for the quirks; the dispatch bookkeeping for finer
    granularity and roaming jobs is the clean policy's (``service``)."""

    def __init__(self, static: StaticInfo, service: _Service, task_order: list[int]) -> None:
        self.static = static
        self.service = service
        self.task_order = task_order  # alphabetical by model name (std::map)
        self.unit_ns = float(static.time_unit_ns)
        n_tasks = len(static.tasks)
        names = [task.name for task in static.tasks]
        self.upstreams = [
            [names.index(up) for up in task.depends_on if up in names] for task in static.tasks
        ]
        periods = [task.period for task in static.tasks if task.period]
        # HET_timer.hpp: base_tick_ = 1000/max FPS ms, the smallest period
        self.tick = self._ms(min(periods)) if periods else None
        self.base_frame = 0
        self.next_event: np.float32 | None = np.float32(0.0)
        self.last_event: np.float32 | None = None
        self.job_frame = static.job_frame.tolist()
        self.job_task = static.job_task.tolist()
        self.release_ms = [self._ms(units) for units in static.job_release.tolist()]
        self.deadline_ms = [self._ms(units) for units in static.job_deadline_list]
        self.pending: list[list[tuple[int, int]]] = [[] for _ in range(n_tasks)]  # released
        self.queues: list[list[tuple[int, int]]] = [[] for _ in range(n_tasks)]  # (frame, job)
        self.completions = [0] * n_tasks  # HET_runtime.hpp completion_list_ + 1
        self.running: list[_Running | None] = [None] * len(static.accelerators)
        self.done: set[int] = set()

    def _ms(self, units: int) -> np.float32:
        """Whole time units as the harness's float32 milliseconds."""
        return np.float32(units * self.unit_ns / NS_PER_MS)

    def _units_at_or_after(self, time_ms: np.float32) -> int:
        """The first time unit at or after a harness time."""
        return math.ceil(float(time_ms) * NS_PER_MS / self.unit_ns - 1e-9)

    def _latency_ms(self, units: int) -> np.float32:
        """``static_cast<float>(total_latency)/1000000`` (``DispatchJobs``), cycles = ns."""
        return np.float32(np.float32(units * self.unit_ns) / np.float32(NS_PER_MS))

    # -- the engine side ----------------------------------------------------------------------
    def decide(self, view: View) -> Decision:
        service = self.service
        decision = Decision()
        self._observe(view, decision)
        free = service.continue_jobs(view, decision)
        service.roam(decision, free)
        while self.next_event is not None and self._due(self.next_event, view.now):
            self._event(self.next_event, view, decision, free)
        if self.next_event is not None and (
            any(self.pending) or any(self.queues) or any(self.running)
        ):
            wake = self._units_at_or_after(self.next_event)
            if wake > view.now:
                decision.wake_at = wake
        return decision

    def _observe(self, view: View, decision: Decision) -> None:
        service = self.service
        for kind, item in view.notices:
            if kind == _OP_READY:
                service.op_ready(item)
            elif kind == _RELEASED:
                late = self.last_event is not None and self.deadline_ms[item] < self.last_event
                if late and self.static.drops_allowed:
                    # released (upstream done) after the harness dropped it from its queue
                    decision.drops.append(item)
                    service.gone.add(item)
                else:
                    bisect.insort(self.pending[self.job_task[item]], (self.job_frame[item], item))
                    if self.next_event is None:  # no ticks and nothing running: an event now
                        self.next_event = self._ms(view.now)
            elif kind in (_JOB_DONE, _JOB_DROPPED):
                if kind == _JOB_DONE:
                    self.done.add(item)
                service.forget(item)

    def _due(self, time_ms: np.float32, now: int) -> bool:
        """Whether the event at ``time_ms`` can be processed at ``now``: its time has come and
        every inference the harness takes off an accelerator then has really finished."""
        if self._units_at_or_after(time_ms) > now:
            return False
        limit = np.float32(time_ms + HARNESS_FINISH_MARGIN_MS)
        return all(
            run is None or run.completion > limit or run.job in self.done for run in self.running
        )

    # -- the harness side ---------------------------------------------------------------------
    def _event(self, time_ms: np.float32, view: View, decision: Decision, free: list[int]) -> None:
        gone = self.service.gone
        # GetNewInferenceRequests: frames released by now enter their model's queue
        for task, pending in enumerate(self.pending):
            while pending and self.release_ms[pending[0][1]] <= time_ms:
                entry = pending.pop(0)
                if entry[1] not in gone:
                    bisect.insort(self.queues[task], entry)
        # RemoveFinishedProcesses, with IsFinished's margin
        limit = np.float32(time_ms + HARNESS_FINISH_MARGIN_MS)
        for acc, run in enumerate(self.running):
            if run is not None and limit >= run.completion:
                self.completions[self.job_task[run.job]] += 1
                self.running[acc] = None
        # DropLateFrames: expired heads, strictly past their deadline; nothing cascades
        for queue in self.queues:
            while queue and (
                queue[0][1] in gone
                or (self.static.drops_allowed and self.deadline_ms[queue[0][1]] < time_ms)
            ):
                job = queue.pop(0)[1]
                if job not in gone:
                    decision.drops.append(job)
                    gone.add(job)
        self._dispatch(time_ms, view, decision, free)
        # Timer::GetNextEventTime
        self.last_event = time_ms
        completions = [run.completion for run in self.running if run is not None]
        if self.tick is None:
            self.next_event = min(completions) if completions else None
            return
        tick = np.float32(np.float32(self.base_frame + 1) * self.tick)
        next_event = min([tick, *completions])
        if next_event == tick:
            self.base_frame += 1
        self.next_event = next_event

    def _dispatch(
        self, time_ms: np.float32, view: View, decision: Decision, free: list[int]
    ) -> None:
        """DispatchJobs: passes over the models in alphabetical order until nothing starts."""
        service = self.service
        started = True
        while started:
            started = False
            for task in self.task_order:
                queue = self.queues[task]
                if not queue:
                    continue
                while queue and queue[0][1] in service.gone:  # cascaded by the engine
                    queue.pop(0)
                if not queue:
                    continue
                frame, job = queue[0]
                if any(self.completions[up] <= frame for up in self.upstreams[task]):
                    continue  # the gate: f + 1 upstream completions
                idle = [acc for acc in free if self.running[acc] is None]
                if not idle:
                    continue
                latency = service.model_latency(view, job)
                eligible = [acc for acc in idle if latency[acc] >= 0]
                if not eligible:
                    if all(value < 0 for value in latency):  # no accelerator runs it whole
                        queue.pop(0)
                        service.start_roaming(job, decision, free)
                    continue
                acc = min(eligible, key=lambda a: (latency[a], a))
                completion = np.float32(time_ms + self._latency_ms(latency[acc]))
                self.running[acc] = _Running(job, completion)
                queue.pop(0)
                service.start(job, acc, decision, free)
                started = True

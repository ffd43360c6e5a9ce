"""The event-driven replay engine: an Instance, an online policy, a Schedule.

The engine owns time. Events sit in a heap keyed by ``(time, class, sequence)`` (SimPy's
scheme): at one timestamp, op completions come first, so the accelerators they free are
available to the jobs released at that moment; releases come next, then the wake-ups schedulers
asked for. The sequence number makes the order of equal keys deterministic.

After processing every event at a time ``t``, the engine stops at a **decision point** if at
least one accelerator is idle and at least one released job is unfinished, or if the policy asked
to be woken at ``t``. It then exposes a :class:`View`, which is what the policy may see
(SPEC §2). The policy answers with a :class:`Decision`: dispatches (op → idle accelerator),
drops and variant choices, and optionally a time to be woken. The engine checks every
decision and raises :class:`SchedulingError`, naming the policy, for an illegal one.

The loop is steppable::

    engine = Engine(instance, policy_name="mine")
    view = engine.reset()
    while view is not None:
        view = engine.step(my_policy(view))
    schedule = engine.schedule()

:func:`replay` is that loop for a :class:`~rtmm_opt.engine.policy.Policy` object.

Dynamic behaviour, all realised by the engine from the instance's trace and revealed only when
it happens:

* ops take their *realised* duration (``op_duration``); a policy sees only ``op_predicted``
  until the op has run, then the realised duration and the measured sparsity;
* a realised early exit completes the job when its exit op ends;
* a cascaded job is released when all its upstream jobs complete (and not before its own frame
  release); dropping a job drops its downstream jobs;
* variants: a job runs the ops of the variant chosen before its first op starts (default 0);
* context switches (``settings.context_switch``): an op whose ``op_context`` differs from the
  accelerator's current one starts after ``context_reload_time`` (the first op on an
  accelerator loads for free, as the validator says);
* bandwidth contention (``settings.contention``): running ops share the DRAM bandwidth in
  proportion to their demand (:class:`~rtmm_opt.schedule.contention.BandwidthShare`, the model
  the validator recomputes), so completion times move whenever an op starts or ends.

**Compatibility mode ``dysta``** (``settings.compat == "dysta"``, set by the Dysta importer;
``docs/dysta.md``). The engine then runs the Dysta simulator's loop instead of the event heap
(``shared/dysta/README.md`` §3.4), for one accelerator without contention, context switches or
cascades:

* requests are admitted only at op (layer) boundaries: after each op, every job whose release
  is *strictly* before the clock joins the queue;
* when the queue is empty, the next job (by release, then index) is admitted alone and the
  clock is set to its release. If that release lies before the end of the op that just
  finished, the clock moves backwards and the job's first op overlaps that op: the simulator's
  clock-rewind quirk, reproduced on purpose (the validator accepts exactly these overlaps under
  this mode, :mod:`rtmm_opt.schedule.validator`). Only an op completion can rewind the clock;
  a queue emptied by drops (which the simulator does not have) takes the next job at
  ``max(now, release)``;
* a job's release time and last progress are its release (the simulator's t_last = a_j), not
  its admission time;
* every decision point must dispatch an op (the simulator is work-conserving); wake-up
  requests are ignored, as there is a decision point after every op anyway.

The default path does not look at this mode beyond choosing the loop.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import Any

import numpy as np

from rtmm_opt.errors import InputError
from rtmm_opt.instance.instance import Instance, IntArray
from rtmm_opt.io.strict import suggest
from rtmm_opt.schedule.contention import BandwidthShare, check_time
from rtmm_opt.schedule.schedule import JobStatus, Schedule


class SchedulingError(Exception):
    """An illegal decision by a policy (a bug in the policy, not bad input)."""


class EventClass(IntEnum):
    """Order of events at one timestamp."""

    COMPLETION = 0
    RELEASE = 1
    WAKE = 2


class Notice(IntEnum):
    """What a policy is told happened since its last decision (``View.notices``)."""

    RELEASED = 0  # (RELEASED, job)
    OP_DONE = 1  # (OP_DONE, op): realised duration and sparsity are now visible
    JOB_DONE = 2  # (JOB_DONE, job)
    JOB_DROPPED = 3  # (JOB_DROPPED, job): by a policy, or cascaded from an upstream drop
    OP_READY = 4  # (OP_READY, op): its job is released and its predecessors are done


# The name of ``op_predicted`` among the prediction matrices (StaticInfo.estimates).
PREDICTED = "predicted"

# A policy that keeps asking to be woken while nothing else happens and it decides nothing is
# stuck (e.g. waiting for an accelerator that can never take its job).
STAGNATION_LIMIT = 100_000

# Job states
PENDING, ACTIVE, DONE, DROPPED = 0, 1, 2, 3
# Op states
WAITING, READY, RUNNING, FINISHED, SKIPPED = 0, 1, 2, 3, 4


@dataclass(slots=True)
class Decision:
    """A policy's answer at a decision point.

    ``dispatches``: ``(op, accelerator)`` pairs, each op ready and each accelerator idle (at most
    one op per accelerator). ``drops``: jobs to drop now (with their downstream jobs).
    ``variants``: ``{job: variant}`` for jobs that have not started. ``wake_at``: a later time
    at which to get a decision point even if nothing happens then.
    """

    dispatches: list[tuple[int, int]] = field(default_factory=list)
    drops: list[int] = field(default_factory=list)
    variants: dict[int, int] = field(default_factory=dict)
    wake_at: int | None = None


class Engine:
    """Replays one instance under one online policy (see the module docstring)."""

    def __init__(self, instance: Instance, *, policy_name: str = "policy") -> None:
        self.instance = instance
        self.policy_name = policy_name
        n_jobs, n_ops, n_acc = instance.n_jobs, instance.n_ops, instance.n_accelerators
        self.n_accelerators = n_acc
        # Static data as Python lists: scalar access to lists is several times faster than to
        # numpy arrays in this loop.
        self._duration: list[list[int]] = instance.op_duration.tolist()
        self._op_job: list[int] = instance.op_job.tolist()
        self._op_variant: list[int] = instance.op_variant.tolist()
        self._op_context: list[int] = instance.op_context.tolist()
        self._job_release: list[int] = instance.job_release.tolist()
        self._job_exit: list[int] = instance.job_exit_op.tolist()
        offsets = instance.job_op_offsets.tolist()
        self._job_ops: list[range] = [range(offsets[j], offsets[j + 1]) for j in range(n_jobs)]
        pred_offsets = instance.op_pred_offsets.tolist()
        preds = instance.op_preds.tolist()
        self._n_preds: list[int] = [pred_offsets[o + 1] - pred_offsets[o] for o in range(n_ops)]
        succs: list[list[int]] = [[] for _ in range(n_ops)]
        for op in range(n_ops):
            for pred in preds[pred_offsets[op] : pred_offsets[op + 1]]:
                succs[pred].append(op)
        self._succs = succs
        self._upstream: list[list[int]] = [instance.upstream_of(j).tolist() for j in range(n_jobs)]
        self._downstream = instance.job_downstream
        self._reload_time: list[list[int]] = instance.context_reload_time.tolist()
        self._switching = instance.settings.context_switch
        self._contention = instance.settings.contention
        if self._switching and self._contention:
            raise InputError(
                "the engine does not replay context switches together with bandwidth "
                "contention yet; enable one of them",
                field="settings",
            )
        self._dysta = instance.settings.compat == "dysta"
        if self._dysta:
            _check_dysta_compat(instance)
        # Jobs in the order the Dysta loop admits them (compat "dysta" only): by release, then
        # index. The next one to admit is ``_arrivals[_next_arrival]``.
        self._arrivals: list[int] = (
            sorted(range(n_jobs), key=lambda j: (self._job_release[j], j)) if self._dysta else []
        )
        self.reset_state()

    # -- state --------------------------------------------------------------------------------
    def reset_state(self) -> None:
        instance = self.instance
        n_jobs, n_ops, n_acc = instance.n_jobs, instance.n_ops, instance.n_accelerators
        self.now = 0
        self._heap: list[tuple[int, int, int, int]] = []
        self._sequence = 0
        self.job_state: list[int] = [PENDING] * n_jobs
        self.job_variant: list[int] = [0] * n_jobs
        self.job_visible_at: list[int] = [-1] * n_jobs  # effective release time
        self.job_last_progress: list[int] = [-1] * n_jobs
        self.job_started: list[bool] = [False] * n_jobs
        self.job_completion: list[int] = [-1] * n_jobs
        self._job_drop_time: list[int] = [0] * n_jobs
        self._job_todo: list[int] = [0] * n_jobs  # required ops still to finish
        self._required: dict[int, set[int]] = {}  # jobs whose variant has a realised exit
        self._upstream_left: list[int] = [len(up) for up in self._upstream]
        self.op_state: list[int] = [WAITING] * n_ops
        self._preds_left: list[int] = list(self._n_preds)
        self.op_accelerator: list[int] = [-1] * n_ops
        self.op_start: list[int] = [-1] * n_ops
        self.op_end: list[int] = [-1] * n_ops
        self.running: list[int] = [-1] * n_acc  # op on each accelerator, -1 if idle
        self._context: list[int] = [-1] * n_acc
        self.active: dict[int, None] = {}  # released, unfinished jobs, in release order
        self.ready: dict[int, None] = {}  # ready ops, in the order they became ready
        self.notices: list[tuple[int, int]] = []
        self._wake_pending: set[int] = set()
        self._share = BandwidthShare(instance.settings.dram_bandwidth) if self._contention else None
        self._contention_check = -1  # time of the pending contention completion check
        self.decisions = 0
        self.dispatches = 0
        self._stagnant = 0  # decision points in a row with only wake-ups and empty decisions
        self._next_arrival = 0  # compat "dysta": the next job of _arrivals to admit
        if self._dysta:
            return  # the compat loop admits jobs itself
        for job in range(n_jobs):
            if not self._upstream[job]:
                self._push(self._job_release[job], EventClass.RELEASE, job)

    def _push(self, time: int, event_class: int, item: int) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (time, event_class, self._sequence, item))

    # -- stepping -------------------------------------------------------------------------------
    def reset(self) -> View | None:
        """Start over; advance to the first decision point."""
        self.reset_state()
        return self._advance_dysta() if self._dysta else self._advance()

    @property
    def done(self) -> bool:
        return (
            not self._heap
            and not self.active
            and all(op < 0 for op in self.running)
            and self._next_arrival >= len(self._arrivals)
        )

    def step(self, decision: Decision | None) -> View | None:
        """Apply ``decision`` at the current decision point; advance to the next one.

        Returns None when the replay is over.
        """
        self.decisions += 1
        self.notices = []
        if decision is None or not (decision.dispatches or decision.drops or decision.variants):
            self._stagnant += 1
            if self._stagnant > STAGNATION_LIMIT:
                raise SchedulingError(
                    f"{self.policy_name}: {STAGNATION_LIMIT} decision points in a row at which "
                    f"nothing happened but wake-ups and nothing was decided (t={self.now}, "
                    f"{len(self.active)} unfinished jobs)"
                )
        else:
            self._stagnant = 0
        # Drops and variant changes alter the ready set: decide again at the same time.
        changed = decision is not None and self._apply(decision)
        if decision is not None and decision.variants:
            # ops a variant change made ready may already have been dispatched by this decision
            state = self.op_state
            self.notices = [
                (kind, item)
                for kind, item in self.notices
                if kind != Notice.OP_READY or state[item] == READY
            ]
        if changed and self.active and -1 in self.running:
            return View(self)
        return self._advance_dysta() if self._dysta else self._advance()

    def _advance(self) -> View | None:
        heap = self._heap
        while True:
            if not heap:
                if self.active:
                    self._stalled()
                return None
            time = heap[0][0]
            self.now = time
            woken = False
            while heap and heap[0][0] == time:
                _, event_class, _, item = heapq.heappop(heap)
                if event_class == EventClass.COMPLETION:
                    if self._contention:
                        if item == time == self._contention_check:
                            self._contention_completions(time)
                    else:
                        self._complete(item, time)
                elif event_class == EventClass.RELEASE:
                    self._release(item, time)
                else:
                    self._wake_pending.discard(time)
                    woken = True
                if event_class != EventClass.WAKE:
                    self._stagnant = 0
            if self.active and (woken or -1 in self.running):
                return View(self)

    def _advance_dysta(self) -> View | None:
        """The Dysta simulator's loop (README §3.4; the module docstring): run the op the last
        decision dispatched, admit arrivals at its end, return the next decision point."""
        heap = self._heap
        ran_op = False
        while heap:  # the op dispatched by the last decision; wake-ups are dropped
            time, event_class, _, item = heapq.heappop(heap)
            if event_class == EventClass.COMPLETION:
                self.now = time
                self._complete(item, time)
                ran_op = True
        self._wake_pending.clear()
        if self.active and not ran_op and self.decisions:
            raise SchedulingError(
                f"{self.policy_name} at t={self.now}: dispatched nothing while "
                f"{len(self.active)} jobs are queued; under compat 'dysta' every decision "
                "must dispatch an op (the Dysta simulator is work-conserving)"
            )
        arrivals, release = self._arrivals, self._job_release
        k, count = self._next_arrival, len(arrivals)
        if k < count:
            if not self.active:
                job = arrivals[k]
                k += 1
                # README §3.4: the clock is set to the arrival, also when that is earlier
                # than the end of the op that just ran (the clock-rewind quirk).
                self.now = release[job] if ran_op else max(self.now, release[job])
                self._release(job, release[job])
            else:
                now = self.now
                while k < count and release[arrivals[k]] < now:  # strict, as in the simulator
                    self._release(arrivals[k], release[arrivals[k]])
                    k += 1
            self._next_arrival = k
        return View(self) if self.active else None

    def _stalled(self) -> None:
        ready = len(self.ready)
        raise SchedulingError(
            f"{self.policy_name}: nothing left to happen at t={self.now} but "
            f"{len(self.active)} released jobs are unfinished ({ready} ready ops, "
            f"{self.running.count(-1)} idle accelerators); a policy must dispatch or drop them"
        )

    # -- events ---------------------------------------------------------------------------------
    def _release(self, job: int, time: int) -> None:
        if self.job_state[job] != PENDING:
            return
        self.job_state[job] = ACTIVE
        self.job_visible_at[job] = time
        self.job_last_progress[job] = time
        self.active[job] = None
        self.notices.append((Notice.RELEASED, job))
        self._open_variant(job)

    def _open_variant(self, job: int) -> None:
        """Mark the ops of the job's variant with no predecessors ready; count required ops."""
        variant = self.job_variant[job]
        ops = [op for op in self._job_ops[job] if self._op_variant[op] == variant]
        exit_op = self._job_exit[job]
        if exit_op >= 0 and self._op_variant[exit_op] == variant:
            required = set(self.instance.required_ops(job, variant))
            self._required[job] = required
            self._job_todo[job] = len(required)
        else:
            self._required.pop(job, None)
            self._job_todo[job] = len(ops)
        for op in ops:
            if self._preds_left[op] == 0 and self.op_state[op] == WAITING:
                self.op_state[op] = READY
                self.ready[op] = None
                self.notices.append((Notice.OP_READY, op))

    def _complete(self, op: int, time: int) -> None:
        acc = self.op_accelerator[op]
        self.running[acc] = -1
        self.op_end[op] = time
        self.op_state[op] = FINISHED
        job = self._op_job[op]
        self.notices.append((Notice.OP_DONE, op))
        if self.job_state[job] != ACTIVE:
            return  # the job was dropped (or exited) while this op ran
        self.job_last_progress[job] = time
        if self._is_required(job, op):
            self._job_todo[job] -= 1
        if self._job_todo[job] == 0:
            self._finish_job(job, time)
            return
        for succ in self._succs[op]:
            self._preds_left[succ] -= 1
            if self._preds_left[succ] == 0 and self.op_state[succ] == WAITING:
                self.op_state[succ] = READY
                self.ready[succ] = None
                self.notices.append((Notice.OP_READY, succ))

    def _is_required(self, job: int, op: int) -> bool:
        if self._op_variant[op] != self.job_variant[job]:
            return False
        required = self._required.get(job)
        return required is None or op in required

    def _finish_job(self, job: int, time: int) -> None:
        self.job_state[job] = DONE
        self.job_completion[job] = time
        del self.active[job]
        for op in self._job_ops[job]:
            if self.op_state[op] == READY:
                del self.ready[op]
                self.op_state[op] = SKIPPED
            elif self.op_state[op] == WAITING:
                self.op_state[op] = SKIPPED
        self.notices.append((Notice.JOB_DONE, job))
        for down in self._downstream[job]:
            self._upstream_left[down] -= 1
            if self._upstream_left[down] == 0 and self.job_state[down] == PENDING:
                release = self._job_release[down]
                if release <= time:
                    self._release(down, time)
                else:
                    self._push(release, EventClass.RELEASE, down)

    def _drop(self, job: int, time: int) -> None:
        stack = [job]
        while stack:
            current = stack.pop()
            state = self.job_state[current]
            if state in (DONE, DROPPED):
                continue
            self.job_state[current] = DROPPED
            self._job_drop_time[current] = max(time, self._job_release[current])
            if state == ACTIVE:
                del self.active[current]
            for op in self._job_ops[current]:
                if self.op_state[op] == READY:
                    del self.ready[op]
                if self.op_state[op] in (READY, WAITING):
                    self.op_state[op] = SKIPPED
            self.notices.append((Notice.JOB_DROPPED, current))
            stack.extend(self._downstream[current])

    # -- contention -----------------------------------------------------------------------------
    def _contention_completions(self, time: int) -> None:
        assert self._share is not None
        for op, end in self._share.finish_until(time):
            self._complete(op, end)
        self._schedule_contention_check()

    def _schedule_contention_check(self) -> None:
        assert self._share is not None
        exact = self._share.next_end()
        if exact is None:
            self._contention_check = -1
            return
        check = check_time(exact)
        if check != self._contention_check:
            self._contention_check = check
            self._push(check, EventClass.COMPLETION, check)

    # -- decisions ------------------------------------------------------------------------------
    def _apply(self, decision: Decision) -> bool:
        """Apply a decision; True if it changed the ready set without dispatching anything."""
        now = self.now
        changed = False
        for job, variant in decision.variants.items():
            changed |= self._set_variant(job, variant)
        for job in decision.drops:
            if not 0 <= job < len(self.job_state) or self.job_state[job] != ACTIVE:
                self._illegal(f"drop of job {job}, which is not a released, unfinished job")
            if self.instance.settings.drops == "never":
                self._illegal(f"drop of job {job}, but the instance says drops: never")
            self._drop(job, now)
            changed = True
        for op, acc in decision.dispatches:
            self._dispatch(op, acc, now)
        if self._contention:
            self._schedule_contention_check()
        wake = decision.wake_at
        if wake is not None:
            if wake <= now:
                self._illegal(f"wake-up at {wake}, not after the current time {now}")
            if wake not in self._wake_pending:
                self._wake_pending.add(wake)
                self._push(wake, EventClass.WAKE, 0)
        return changed and not decision.dispatches

    def _set_variant(self, job: int, variant: int) -> bool:
        if not 0 <= job < len(self.job_state) or self.job_state[job] != ACTIVE:
            self._illegal(f"variant for job {job}, which is not a released, unfinished job")
        if self.job_started[job]:
            self._illegal(f"variant change for job {job} after its first op started")
        task = self.instance.tasks[int(self.instance.job_task[job])]
        if not 0 <= variant < len(task.variants):
            self._illegal(
                f"variant {variant} for job {job}; task {task.name} has {len(task.variants)}"
            )
        if variant == self.job_variant[job]:
            return False
        for op in self._job_ops[job]:
            if self.op_state[op] == READY:
                del self.ready[op]
                self.op_state[op] = WAITING
        self.job_variant[job] = variant
        self._open_variant(job)
        return True

    def _dispatch(self, op: int, acc: int, now: int) -> None:
        if not 0 <= op < len(self.op_state) or self.op_state[op] != READY:
            state = "unknown" if not 0 <= op < len(self.op_state) else _OP_STATE[self.op_state[op]]
            self._illegal(f"dispatch of op {op}, which is not ready (it is {state})")
        if not 0 <= acc < self.n_accelerators or self.running[acc] >= 0:
            self._illegal(f"dispatch of op {op} to accelerator {acc}, which is not idle")
        duration = self._duration[op][acc]
        if duration < 0:
            self._illegal(f"dispatch of op {op} to accelerator {acc}, where it is not eligible")
        start = now
        if self._switching:
            context = self._op_context[op]
            if self._context[acc] >= 0 and self._context[acc] != context:
                start = now + self._reload_time[context][acc]
            self._context[acc] = context
        del self.ready[op]
        self.op_state[op] = RUNNING
        self.op_accelerator[op] = acc
        self.op_start[op] = start
        self.running[acc] = op
        self.job_started[self._op_job[op]] = True
        self.dispatches += 1
        if self._share is not None:
            self._share.start(op, start, duration, int(self.instance.op_dram_bytes[op, acc]))
        else:
            self._push(start + duration, EventClass.COMPLETION, op)

    def _illegal(self, what: str) -> None:
        raise SchedulingError(f"{self.policy_name} at t={self.now}: illegal {what}")

    # -- results --------------------------------------------------------------------------------
    def schedule(self) -> Schedule:
        """The schedule so far (complete once the replay is over)."""
        status = [
            JobStatus.COMPLETED if state == DONE else JobStatus.DROPPED for state in self.job_state
        ]
        return Schedule(
            op_accelerator=np.array(self.op_accelerator, np.int64),
            op_start=np.array(self.op_start, np.int64),
            op_end=np.array(self.op_end, np.int64),
            job_status=np.array(status, np.int64),
            job_variant=np.array(self.job_variant, np.int64),
            job_drop_time=np.array(
                [
                    self._job_drop_time[j] if s == DROPPED else 0
                    for j, s in enumerate(self.job_state)
                ],
                np.int64,
            ),
            producer=self.policy_name,
            info={"decisions": self.decisions, "dispatches": self.dispatches},
        )


def _check_dysta_compat(instance: Instance) -> None:
    """Reject instances that the Dysta simulator's loop cannot describe (InputError)."""
    settings = instance.settings
    problems = [
        what
        for what, present in (
            (f"{instance.n_accelerators} accelerators", instance.n_accelerators != 1),
            ("bandwidth contention", settings.contention),
            ("context switches", settings.context_switch),
            ("cascaded jobs", len(instance.job_upstream) > 0),
        )
        if present
    ]
    if problems:
        raise InputError(
            "compat 'dysta' reproduces the Dysta simulator, which has one accelerator and no "
            f"contention, context switches or cascades; this instance has {', '.join(problems)}",
            field="settings.compat",
        )


_OP_STATE = {
    WAITING: "waiting",
    READY: "ready",
    RUNNING: "running",
    FINISHED: "finished",
    SKIPPED: "skipped",
}


class View:
    """What an online policy may see at a decision point (SPEC §2).

    Released jobs only; predicted op durations until an op has run, realised ones after; the
    notices of what happened since the last decision. Policies must treat it as read-only and
    must not keep it past the decision (it is a window onto the engine's live state).
    """

    __slots__ = ("_engine", "instance_name", "n_accelerators", "now")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.now = engine.now
        self.n_accelerators = engine.n_accelerators
        self.instance_name = engine.instance.name

    # -- what is happening -----------------------------------------------------------------------
    @property
    def notices(self) -> Sequence[tuple[int, int]]:
        return self._engine.notices

    @property
    def idle_accelerators(self) -> list[int]:
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
        return [op for op in self._engine._job_ops[job] if state[op] == READY]

    # -- static, visible facts ---------------------------------------------------------------------
    @property
    def static(self) -> StaticInfo:
        return StaticInfo.of(self._engine.instance)

    def job_release(self, job: int) -> int:
        """When the job became visible (its frame release, or its upstream's completion)."""
        return self._engine.job_visible_at[job]

    def job_last_progress(self, job: int) -> int:
        """The end of the job's last finished op, or its release."""
        return self._engine.job_last_progress[job]

    def job_variant(self, job: int) -> int:
        return self._engine.job_variant[job]

    def job_started(self, job: int) -> bool:
        return self._engine.job_started[job]

    def remaining_ops(self, job: int) -> list[int]:
        """The job's ops of its variant that have not finished (including running ones)."""
        engine = self._engine
        variant = engine.job_variant[job]
        state = engine.op_state
        return [
            op
            for op in engine._job_ops[job]
            if engine._op_variant[op] == variant and state[op] in (WAITING, READY, RUNNING)
        ]

    def op_finished(self, op: int) -> bool:
        return self._engine.op_state[op] == FINISHED

    def op_start(self, op: int) -> int:
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


@dataclass(frozen=True)
class StaticInfo:
    """What an online policy knows before anything runs: tasks, accelerators, predictions.

    Realised values (``op_duration``, ``op_sparsity``, ``job_exit_op``) are not here. The arrays
    are the instance's own read-only arrays; it is cached per instance.
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
    op_sparsity_mean: Any
    op_pred_offsets: IntArray
    op_preds: IntArray
    drops_allowed: bool
    time_unit_ns: float
    op_estimates: Mapping[str, IntArray] = field(default_factory=dict)
    compat: str = "none"  # Settings.compat: whose simulator's quirks to reproduce

    @staticmethod
    def of(instance: Instance) -> StaticInfo:
        cached: StaticInfo | None = instance.__dict__.get("_static_info")
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
                op_sparsity_mean=instance.op_sparsity_mean,
                op_pred_offsets=instance.op_pred_offsets,
                op_preds=instance.op_preds,
                drops_allowed=instance.settings.drops == "allowed",
                time_unit_ns=instance.time_unit_ns,
                op_estimates=instance.op_estimates,
                compat=instance.settings.compat,
            )
            instance.__dict__["_static_info"] = cached
        return cached

    def ops_of(self, job: int) -> range:
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
                f"unknown estimate set {name!r}{suggest(name, known)}; this instance has "
                f"{', '.join(known)}",
                field="params.estimates",
            )
        return self.op_estimates[name]

    # Python-list copies for hot loops: indexing a list is several times faster than a numpy
    # scalar look-up.
    @cached_property
    def predicted_rows(self) -> list[list[int]]:
        return self.op_predicted.tolist()

    @cached_property
    def op_job_list(self) -> list[int]:
        return self.op_job.tolist()

    @cached_property
    def job_deadline_list(self) -> list[int]:
        return self.job_deadline.tolist()

"""The event-driven replay engine: an Instance, an online policy, a Schedule.

The engine owns time. Events sit in a heap keyed by ``(time, class, sequence)`` (SimPy's
scheme): at one timestamp, op completions come first, so the accelerators they free are
available to the jobs released at that moment; releases come next, then the wake-ups schedulers
asked for. The sequence number makes the order of equal keys deterministic.

After processing every event at a time ``t``, the engine stops at a **decision point** if at
least one accelerator is idle and at least one released job is unfinished, or if the policy asked
to be woken at ``t``. It then exposes a :class:`~rtmm_opt.engine.contract.View` and takes a
:class:`~rtmm_opt.engine.contract.Decision`, which it checks; what a policy sees, may answer and
must not answer is the contract of :mod:`rtmm_opt.engine.contract`.

The loop is steppable::

    engine = Engine(instance, policy_name="mine")
    view = engine.reset()
    while view is not None:
        view = engine.step(my_policy(view))
    schedule = engine.schedule()

:func:`replay` is that loop for a :class:`~rtmm_opt.engine.contract.Policy` object, or, for a
policy that offers an index rule (:mod:`rtmm_opt.engine.index`), :meth:`Engine.run_index`.

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

Under ``settings.compat == "dysta"`` the engine runs the Dysta simulator's loop instead of the
event heap (:mod:`rtmm_opt.engine.dysta_compat`); the default path does not look at that mode
beyond choosing the loop.
"""

from __future__ import annotations

import weakref
from array import array
from bisect import bisect_right, insort
from collections.abc import Callable
from enum import IntEnum
from heapq import heapify, heappop, heappush
from itertools import repeat
from operator import sub

import numpy as np

from rtmm_opt.engine.contract import (
    FINISHED,
    OP_STATE_NAMES,
    READY,
    RUNNING,
    SKIPPED,
    STAGNATION_LIMIT,
    WAITING,
    Decision,
    Notice,
    Policy,
    Run,
    SchedulingError,
    StaticInfo,
    View,
    shared_rows,
)
from rtmm_opt.engine.core import (
    CompiledRule,
    CoreReplay,
    DreamRule,
    HarnessRule,
    HeapRule,
    replay_dream,
    replay_dysta,
    replay_events,
    replay_harness,
    replay_heap,
)
from rtmm_opt.engine.dysta_compat import DystaLoop
from rtmm_opt.engine.index import IndexRule
from rtmm_opt.errors import InputError
from rtmm_opt.instance.instance import Instance
from rtmm_opt.schedule.contention import BandwidthShare, check_time
from rtmm_opt.schedule.schedule import JobStatus, Schedule
from rtmm_opt.schedule.validator import validate


class EventClass(IntEnum):
    """Order of events at one timestamp."""

    COMPLETION = 0
    RELEASE = 1
    WAKE = 2


# Event classes and notice kinds as plain ints or bound members: class-attribute look-ups on an
# enum cost more than the rest of an event's handling.
COMPLETION, RELEASE, WAKE = (int(kind) for kind in EventClass)
_RELEASED, _OP_DONE, _JOB_DONE, _JOB_DROPPED, _OP_READY = (
    Notice.RELEASED, Notice.OP_DONE, Notice.JOB_DONE, Notice.JOB_DROPPED, Notice.OP_READY
)  # fmt: skip

OP_READY, JOB_DONE = int(Notice.OP_READY), int(Notice.JOB_DONE)
MANY = -2  # Engine._successor: the op has several successors
MAX_PAUSE = 64  # Engine._run_ahead: the longest pause in offering runs after declines

# _StaticTables per instance
_STATIC_TABLES: weakref.WeakKeyDictionary[Instance, _StaticTables] = weakref.WeakKeyDictionary()

# Job states
PENDING, ACTIVE, DONE, DROPPED = 0, 1, 2, 3


class _StaticTables:
    """What the engine reads about an instance in its loop, made once per instance (replays
    of one instance share it; it is read-only)."""

    def __init__(self, instance: Instance, static: StaticInfo) -> None:
        n_jobs, n_ops = instance.n_jobs, instance.n_ops
        # Static data as Python lists: scalar access to lists is several times faster than to
        # numpy arrays in this loop. Equal values and rows are shared objects, so a per-op list
        # costs about a pointer per op (contract.shared_values, shared_rows).
        self.duration: list[list[int]] = shared_rows(instance.op_duration)
        self.op_job: list[int] = static.op_job_list
        self.op_variant: list[int] = instance.op_variant.tolist()
        self.op_context: list[int] = instance.op_context.tolist()
        self.job_release: list[int] = instance.job_release.tolist()
        self.job_exit: list[int] = instance.job_exit_op.tolist()
        offsets = instance.job_op_offsets.tolist()
        self.job_ops: list[range] = [range(offsets[j], offsets[j + 1]) for j in range(n_jobs)]
        n_preds = np.diff(instance.op_pred_offsets)
        self.n_preds: list[int] = n_preds.tolist()
        # Successors: per op its only successor (-1: none, MANY: several, listed in _many in
        # op order), 8 bytes per op instead of a list.
        edge_op = np.repeat(np.arange(n_ops, dtype=np.int64), n_preds)
        edge_pred = instance.op_preds
        n_succs = np.bincount(edge_pred, minlength=n_ops)
        successor = np.full(n_ops, -1, np.int64)
        single = n_succs[edge_pred] == 1
        successor[edge_pred[single]] = edge_op[single]
        successor[n_succs > 1] = MANY
        self.successor = array("q", successor.tobytes())
        self.many: dict[int, list[int]] = {}
        for pred, op in zip(edge_pred[~single].tolist(), edge_op[~single].tolist(), strict=True):
            self.many.setdefault(pred, []).append(op)
        self.upstream: list[list[int]] = [instance.upstream_of(j).tolist() for j in range(n_jobs)]
        self.runs: tuple[array[int], ...] | None = None  # Engine._chain_runs, once asked for
        self.sparsity: array[float] | None = None  # realised sparsity per op, for runs
        # every job a chain of one variant: op k + 1 of a job's ops has op k as its predecessor
        first = np.zeros(n_ops, bool)
        first[instance.job_op_offsets[:-1][np.diff(instance.job_op_offsets) > 0]] = True
        self.chains_only = bool(
            static.variant_free
            and (n_preds == ~first).all()
            and (instance.op_preds == np.flatnonzero(~first) - 1).all()
        )

    @staticmethod
    def of(instance: Instance, static: StaticInfo) -> _StaticTables:
        tables = _STATIC_TABLES.get(instance)
        if tables is None:
            tables = _STATIC_TABLES[instance] = _StaticTables(instance, static)
        return tables


class Engine:
    """Replays one instance under one online policy (see the module docstring).

    :meth:`reset` starts a replay and returns the first :class:`View`; :meth:`step` applies a
    decision and returns the next View, or None once the replay is over; :meth:`schedule` is
    the result. Its public attributes are read-only for everyone but the engine: the
    :class:`~rtmm_opt.engine.contract.EngineState` a View reads (``now``, ``notices``,
    ``running``, ``active``, ``ready``, ``op_state``, ``op_start``, ``op_end``,
    ``op_accelerator``, ``op_variant``, ``job_ops``, ``job_state``, ``job_variant``,
    ``job_visible_at``, ``job_last_progress``, ``job_started``, ``job_completion``, ``static``)
    and the counters ``decisions`` and ``dispatches``.
    """

    def __init__(self, instance: Instance, *, policy_name: str = "policy") -> None:
        self.instance = instance
        self.static = StaticInfo.of(instance)
        self.policy_name = policy_name
        self.n_accelerators = instance.n_accelerators
        self._tables = tables = _StaticTables.of(instance, self.static)
        self._duration = tables.duration
        self._op_job = tables.op_job
        self.op_variant = tables.op_variant
        self._op_context = tables.op_context
        self._job_release = tables.job_release
        self._job_exit = tables.job_exit
        self.job_ops = tables.job_ops
        self._n_preds = tables.n_preds
        self._successor = tables.successor
        self._many = tables.many
        self._upstream = tables.upstream
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
        self._dysta = DystaLoop(instance) if instance.settings.compat == "dysta" else None
        # Policy.hold, once offered (offer_runs); with the op prefix sums and runs it reads
        self._hold: Callable[[Run], int] | None = None
        self._reset_state()

    # -- state --------------------------------------------------------------------------------
    def _reset_state(self) -> None:
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
        # times as 8-byte integers, not int objects
        self.op_start: array[int] = array("q", [-1]) * n_ops
        self.op_end: array[int] = array("q", [-1]) * n_ops
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
        self._declined = False  # the policy's hold declined the boundary about to come
        self._backoff = self._pause = 0  # runs not to offer after declines (_run_ahead)
        if self._dysta is not None:
            self._dysta.reset()
            return  # the compat loop admits jobs itself
        for job in range(n_jobs):
            if not self._upstream[job]:
                self._push(self._job_release[job], RELEASE, job)

    def _push(self, time: int, event_class: int, item: int) -> None:
        self._sequence += 1
        heappush(self._heap, (time, event_class, self._sequence, item))

    # -- stepping -------------------------------------------------------------------------------
    def reset(self) -> View | None:
        """Start over; advance to the first decision point."""
        self._reset_state()
        return self._advance_dysta() if self._dysta else self._advance()

    @property
    def done(self) -> bool:
        return (
            not self._heap
            and not self.active
            and all(op < 0 for op in self.running)
            and (self._dysta is None or self._dysta.exhausted)
        )

    def step(self, decision: Decision | None) -> View | None:
        """Apply ``decision`` at the current decision point; advance to the next one.

        Returns None when the replay is over.
        """
        self.decisions += 1
        self.notices = []
        if decision is None or not (decision.dispatches or decision.drops or decision.variants):
            self._stagnate()
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

    @property
    def takes_index_rules(self) -> bool:
        """Whether :meth:`run_index` can replay this instance: the plain event loop, or the
        Dysta loop (which has neither context switches nor contention)."""
        return not self._switching and not self._contention

    def run_index(self, rule: IndexRule) -> None:
        """Replay to the end under an index rule (:mod:`rtmm_opt.engine.index`), keeping the
        ready queue here instead of asking a policy at every decision point.

        The schedule, the counters and every error are those of replaying the policy whose
        rule it is with :meth:`reset` and :meth:`step`: this is :meth:`_next_point`,
        :meth:`_complete` and :meth:`_dispatch` inlined, with the ready queue of
        :class:`~rtmm_opt.schedulers.base.ReadyHeapPolicy` (an op's key is its job's key, then
        the op, so the queue's order does not depend on the order of pushes). Rare events (job
        releases and completions) go through the usual methods, and their notices feed the
        queue.
        """
        if not self.takes_index_rules:
            raise ValueError("index rules need an event loop without context switches or "
                             "contention")  # fmt: skip
        self._reset_state()
        if self._dysta is not None:
            self._run_index_dysta(rule)
            return
        place, rank = rule.place, rule.op_rank
        eligible = self.static.predicted_rows
        queue: list[tuple[int, ...]] = []  # (*key, op) of ready ops; stale entries skipped
        keys: dict[int, tuple[int, ...]] = {}  # per released, unfinished job: its key
        heap, notices, active, ready = self._heap, self.notices, self.active, self.ready
        op_state, op_job, op_variant = self.op_state, self._op_job, self.op_variant
        op_start, op_end, op_accelerator = self.op_start, self.op_end, self.op_accelerator
        job_state, job_variant, job_todo = self.job_state, self.job_variant, self._job_todo
        last_progress, required = self.job_last_progress, self._required
        job_started, running, duration = self.job_started, self.running, self._duration
        successor, many, preds_left = self._successor, self._many, self._preds_left
        idle: list[int] = list(range(self.n_accelerators))  # kept sorted
        # Counters as locals, stored back at the end (and the sequence around the calls that
        # push events). An index rule asks for no wake-ups, so every decision point follows an
        # event and the stagnation count never grows past one.
        decisions = dispatches = 0
        sequence = self._sequence
        # The first op made ready by a completion at this time, held out of the queue: when it
        # is the smallest key and one accelerator is idle (a job's next layer, typically), it
        # is dispatched without going through the queue.
        fresh = -1  # its op (-1: none), and the op's job
        fresh_job = -1
        # An op dispatched that way whose completion is the very next event, alone at its time
        # (the heap's next event is later): it is not pushed, and completes at the next turn.
        inline = -1
        inline_end = 0
        while heap or inline >= 0:
            time = inline_end if inline >= 0 else heap[0][0]
            self.now = time
            while True:
                if inline >= 0:
                    item, inline, event_class = inline, -1, COMPLETION
                elif heap and heap[0][0] == time:
                    _, event_class, _, item = heappop(heap)
                else:
                    break
                if event_class != COMPLETION:  # a release (an index rule asks for no wake-ups)
                    self._release(item, time)
                    continue
                op = item
                acc = op_accelerator[op]
                running[acc] = -1
                insort(idle, acc)
                op_end[op] = time
                op_state[op] = FINISHED
                job = op_job[op]
                if job_state[job] != ACTIVE:
                    continue
                last_progress[job] = time
                if op_variant[op] == job_variant[job] and (
                    not required or job not in required or op in required[job]
                ):
                    job_todo[job] -= 1
                if job_todo[job] == 0:
                    self._sequence = sequence
                    self._finish_job(job, time)  # may push the releases of cascaded jobs
                    sequence = self._sequence
                    continue
                nxt = successor[op]
                if fresh < 0 and nxt >= 0 and preds_left[nxt] == 1 and op_state[nxt] == WAITING:
                    # the common case of the loop below: a chain's next op, held out as fresh
                    preds_left[nxt] = 0
                    op_state[nxt] = READY
                    ready[nxt] = None
                    fresh, fresh_job = nxt, job
                    continue
                for succ in (nxt,) if nxt >= 0 else many.get(op, ()):
                    left = preds_left[succ] - 1
                    preds_left[succ] = left
                    if left == 0 and op_state[succ] == WAITING:
                        op_state[succ] = READY
                        ready[succ] = None
                        if fresh < 0:
                            fresh, fresh_job = succ, job
                        else:
                            heappush(
                                queue,
                                (*keys[job], succ)
                                if rank is None
                                else (rank[succ], *keys[job], succ),
                            )
            if notices:  # from releases and job completions
                self._queue_notices(rule, queue, keys)
            if fresh >= 0:
                op = fresh
                fresh = -1
                fresh_key = None  # made only when compared
                if active and len(idle) == 1:
                    acc = idle[0]
                    if (
                        op_state[op] == READY
                        and eligible[op][acc] >= 0
                        and duration[op][acc] >= 0
                        and (
                            not queue
                            or (
                                fresh_key := (*keys[fresh_job], op)
                                if rank is None
                                else (rank[op], *keys[fresh_job], op)
                            )
                            < queue[0]
                        )
                    ):  # the decision below, without the queue
                        decisions += 1
                        del ready[op]
                        op_state[op] = RUNNING
                        op_accelerator[op] = acc
                        op_start[op] = time
                        running[acc] = op
                        job_started[fresh_job] = True
                        dispatches += 1
                        sequence += 1
                        end = time + duration[op][acc]
                        if heap and heap[0][0] <= end:
                            heappush(heap, (end, COMPLETION, sequence, op))
                        else:
                            inline, inline_end = op, end
                        idle.clear()
                        continue
                if fresh_key is None:
                    fresh_key = (
                        (*keys[fresh_job], op) if rank is None else (rank[op], *keys[fresh_job], op)
                    )
                heappush(queue, fresh_key)
            if not active or not idle:
                continue
            # a decision point: ReadyHeapPolicy.fill
            decisions += 1
            skipped = None
            while queue and idle:
                entry = heappop(queue)
                op = entry[-1]
                if op_state[op] != READY:
                    continue  # stale: its job finished early
                if len(idle) == 1:
                    acc = idle[0] if eligible[op][idle[0]] >= 0 else -1
                else:
                    acc = place(op, idle)
                if acc < 0:
                    if skipped is None:
                        skipped = [entry]
                    else:
                        skipped.append(entry)
                    continue
                op_duration = duration[op][acc]
                if op_duration < 0:
                    self._illegal(
                        f"dispatch of op {op} to accelerator {acc}, where it is not eligible"
                    )
                del ready[op]
                op_state[op] = RUNNING
                op_accelerator[op] = acc
                op_start[op] = time
                running[acc] = op
                job_started[op_job[op]] = True
                dispatches += 1
                sequence += 1
                heappush(heap, (time + op_duration, COMPLETION, sequence, op))
                idle.remove(acc)
            if skipped is not None:
                for entry in skipped:
                    heappush(queue, entry)
        self.decisions, self.dispatches, self._sequence = decisions, dispatches, sequence
        if active:
            self._stalled()

    def run_compiled(self, rule: CompiledRule) -> bool:
        """Replay the whole instance under a policy's ``rule`` in the compiled core
        (:mod:`rtmm_opt.engine.core`), from a fresh engine, leaving the state the stepped replay
        would leave; False (nothing done) where the core is off or does not describe this
        replay."""
        # the core fills the engine's own start and end arrays (all -1 on a fresh engine)
        times = (self.op_start, self.op_end)
        result: CoreReplay | None
        if isinstance(rule, HarnessRule | DreamRule | HeapRule) and self._dysta is not None:
            return False  # the event loop's policies, not the Dysta loop's
        if isinstance(rule, HeapRule):
            result = replay_heap(self.instance, rule, op_times=times)
        elif isinstance(rule, HarnessRule):
            result = replay_harness(self.instance, rule, op_times=times)
        elif isinstance(rule, DreamRule):
            result = replay_dream(self.instance, rule, op_times=times)
        elif self._dysta is not None:
            chains_only = self._tables.chains_only
            result = replay_dysta(self.instance, rule, chains_only=chains_only, op_times=times)
        else:
            result = replay_events(self.instance, rule, op_times=times)
        if result is None:
            return False
        n_jobs = self.instance.n_jobs
        # per-op lists refilled in place, not copied: a replay holds one set of them
        self.op_accelerator *= 0
        self.op_accelerator.extend(result.op_accelerator)
        self.op_state *= 0
        if -1 in result.op_end:  # ops of dropped jobs never ran
            self.op_state.extend(FINISHED if end >= 0 else SKIPPED for end in result.op_end)
        else:
            self.op_state.extend(repeat(FINISHED, len(result.op_end)))
        self._preds_left *= 0
        self._preds_left.extend(repeat(0, self.instance.n_ops))
        self.job_state = [DROPPED if dropped else DONE for dropped in result.job_dropped]
        self._job_drop_time = result.job_drop_time
        self.job_visible_at = result.job_visible_at
        self.job_completion = result.job_completion
        self.job_last_progress = list(result.job_completion)
        self.job_started = [completion >= 0 for completion in result.job_completion]
        self._job_todo = [0] * n_jobs
        self._upstream_left = [0] * n_jobs
        self.decisions, self.dispatches = result.decisions, result.dispatches
        self.now = result.clock
        self._heap.clear()
        self._sequence += result.dispatches
        if self._dysta is not None:
            self._dysta.next_arrival = n_jobs
        return True

    def _run_index_dysta(self, rule: IndexRule) -> None:
        """:meth:`run_index` under ``compat: dysta``: :meth:`_advance_dysta` and the index
        rule's decision, inlined, on the one accelerator.

        While nothing is admitted, a running job whose key stays the smallest keeps the
        accelerator, so its run of consecutive chain ops (each op its successor's only
        predecessor, :meth:`_run_last`) is recorded by slices, one decision point per layer, as
        the stepped replay counts them. The run stops before the job's last required op, at the
        first boundary where the Dysta loop admits a request, and where the run of consecutive
        ops ends; that op completes through the general code.
        """
        dysta = self._dysta
        assert dysta is not None
        rank = rule.op_rank
        release = dysta.release
        eligible = self.static.predicted_rows
        duration = [row[0] for row in self._duration]
        _, _, cum = self._chain_runs()
        queue: list[tuple[int, ...]] = []
        keys: dict[int, tuple[int, ...]] = {}
        notices, active, ready = self.notices, self.active, self.ready
        op_state, op_job, op_variant = self.op_state, self._op_job, self.op_variant
        op_start, op_end, op_accelerator = self.op_start, self.op_end, self.op_accelerator
        job_variant, job_todo, required = self.job_variant, self._job_todo, self._required
        last_progress, job_started = self.job_last_progress, self.job_started
        successor, many, preds_left = self._successor, self._many, self._preds_left
        decisions = dispatches = 0
        now = 0
        ran_op = False
        fresh: tuple[int, ...] | None = None  # as in run_index
        while True:
            # an op boundary (or the start): the Dysta loop's admission and clock
            self.now = now
            dysta.check_dispatched(self.policy_name, now, len(active), ran_op, decisions)
            now, admitted = dysta.admit(now, queue_empty=not active, ran_op=ran_op)
            self.now = now
            for job in admitted:
                self._release(job, release[job])
            if notices:
                self._queue_notices(rule, queue, keys)
            if not active:
                break
            decisions += 1  # a decision point: ReadyHeapPolicy.fill on one accelerator
            ran_op = False
            if fresh is not None and (not queue or fresh < queue[0]):
                op = fresh[-1]
                fresh = None
                if eligible[op][0] < 0:
                    key = keys[op_job[op]]
                    queue.append(
                        (*key, op) if rank is None else (rank[op], *key, op)
                    )  # as skipped by fill
                    heapify(queue)
                    continue
            else:
                if fresh is not None:
                    heappush(queue, fresh)
                    fresh = None
                op = -1
                skipped = []
                while queue:
                    entry = heappop(queue)
                    if op_state[entry[-1]] != READY:
                        continue  # stale
                    if eligible[entry[-1]][0] < 0:
                        skipped.append(entry)
                        continue
                    op = entry[-1]
                    break
                for entry in skipped:
                    heappush(queue, entry)
                if op < 0:
                    continue  # nothing dispatched: the next boundary raises
            start = now
            if duration[op] < 0:
                self._illegal(f"dispatch of op {op} to accelerator 0, where it is not eligible")
            job = op_job[op]
            del ready[op]
            job_started[job] = True
            end = start + duration[op]
            # the job's layers while nothing is admitted and its key stays the smallest
            if job not in required and (
                not queue
                or ((*keys[job], op) if rank is None else (rank[op], *keys[job], op)) < queue[0]
            ):
                last = self._run_last(op, job, start)
                if last > op:  # a run of consecutive ops: recorded by slices
                    kept = last - op
                    times = list(map(sub, cum[op : last + 1], repeat(cum[op] - start)))
                    op_state[op:last] = [FINISHED] * kept
                    op_accelerator[op:last] = [0] * kept
                    op_start[op:last] = array("q", times[:kept])
                    op_end[op:last] = array("q", times[1:])
                    preds_left[op + 1 : last + 1] = [0] * kept
                    job_todo[job] -= kept
                    dispatches += kept
                    decisions += kept
                    op, start = last, times[kept]
                    end = start + duration[op]
            # op runs from start to end, then completes (as in _complete)
            op_accelerator[op] = 0
            op_start[op] = start
            dispatches += 1
            ran_op = True
            now = end
            self.now = now
            op_end[op] = now
            op_state[op] = FINISHED
            last_progress[job] = now
            if op_variant[op] == job_variant[job] and (
                not required or job not in required or op in required[job]
            ):
                job_todo[job] -= 1
            if job_todo[job] == 0:
                self._finish_job(job, now)
                continue
            nxt = successor[op]
            for succ in (nxt,) if nxt >= 0 else many.get(op, ()):
                left = preds_left[succ] - 1
                preds_left[succ] = left
                if left == 0 and op_state[succ] == WAITING:
                    op_state[succ] = READY
                    ready[succ] = None
                    if fresh is None:
                        fresh = (
                            (*keys[job], succ) if rank is None else (rank[succ], *keys[job], succ)
                        )
                    else:
                        heappush(
                            queue,
                            (*keys[job], succ) if rank is None else (rank[succ], *keys[job], succ),
                        )
        self.decisions, self.dispatches = decisions, dispatches
        self._sequence += dispatches

    def _queue_notices(
        self, rule: IndexRule, queue: list[tuple[int, ...]], keys: dict[int, tuple[int, ...]]
    ) -> None:
        """The index loops' intake of the notices of releases and job completions: ready ops
        into ``queue`` under their keys (a job's key made at its first ready op), finished jobs'
        keys forgotten; the notices are then cleared."""
        op_job, visible_at, rank = self._op_job, self.job_visible_at, rule.op_rank
        for kind, item in self.notices:
            if kind == OP_READY:
                job = op_job[item]
                if job not in keys:
                    keys[job] = rule.job_key(job, visible_at[job])
                heappush(
                    queue, (*keys[job], item) if rank is None else (rank[item], *keys[job], item)
                )
            elif kind == JOB_DONE:
                keys.pop(item, None)
        self.notices.clear()

    def _chain_runs(self) -> tuple[array[int], array[int], array[int]]:
        """Per op, its only successor if the op is that successor's only predecessor in the
        same variant and the successor is eligible on accelerator 0, else -1 (the chains); per
        op the last op of its run of consecutive chain ops (op, op + 1, ...); the prefix sums
        of the durations on accelerator 0 (op x of a run that starts at time t with op a
        starts at ``t + cum[x] - cum[a]``). Made once per instance."""
        runs = self._tables.runs
        if runs is None:
            n_ops = self.instance.n_ops
            successor = np.frombuffer(self._successor, np.int64)
            duration = self.instance.op_duration[:, 0]
            eligible = np.asarray(self.static.op_predicted)[:, 0] >= 0
            n_preds = np.asarray(self._n_preds, np.int64)
            variant = self.instance.op_variant
            nxt = np.where(successor >= 0, successor, 0)
            chain = np.where(
                (successor >= 0)
                & (n_preds[nxt] == 1)
                & (variant[nxt] == variant)
                & eligible[nxt]
                & (duration[nxt] >= 0),
                successor,
                -1,
            ).astype(np.int64)
            breaks = np.flatnonzero(chain != np.arange(1, n_ops + 1))
            run_end = breaks[np.searchsorted(breaks, np.arange(n_ops))]
            cum = np.zeros(n_ops + 1, np.int64)
            np.cumsum(np.maximum(duration, 0), out=cum[1:])
            runs = tuple(array("q", column.tobytes()) for column in (chain, run_end, cum))
            self._tables.runs = runs
        return runs  # type: ignore[return-value]

    def _run_last(self, first: int, job: int, now: int) -> int:
        """The last op of the run of decision points that starts at ``now`` with op ``first``
        of ``job`` ready (:class:`~rtmm_opt.engine.contract.Run`): along its consecutive chain
        ops, before the job's last op, while the Dysta loop admits nothing."""
        _, run_end, cum = self._chain_runs()
        last = min(run_end[first], first + self._job_todo[job] - 1)
        dysta = self._dysta
        assert dysta is not None
        k = dysta.next_arrival
        if k < len(dysta.arrivals) and last > first:  # admission at a boundary: release < time
            limit = dysta.release[dysta.arrivals[k]] - now + cum[first]
            last = min(last, bisect_right(cum, limit, first, last + 1) - 1)
        return last

    def _advance(self) -> View | None:
        return View(self) if self._next_point() else None

    def _next_point(self) -> bool:
        """Handle events up to the next decision point: True there, False at the end."""
        heap, running, active = self._heap, self.running, self.active
        contention, complete = self._contention, self._complete
        while True:
            if not heap:
                if active:
                    self._stalled()
                return False
            time = heap[0][0]
            self.now = time
            woken = False
            while heap and heap[0][0] == time:
                _, event_class, _, item = heappop(heap)
                if event_class == COMPLETION:
                    self._stagnant = 0
                    if not contention:
                        complete(item, time)
                    elif item == time == self._contention_check:
                        self._contention_completions(time)
                elif event_class == RELEASE:
                    self._stagnant = 0
                    self._release(item, time)
                else:
                    self._wake_pending.discard(time)
                    woken = True
            if active and (woken or -1 in running):
                return True

    def _stagnate(self) -> None:
        """Count a decision point at which nothing was decided."""
        self._stagnant += 1
        if self._stagnant > STAGNATION_LIMIT:
            raise SchedulingError(
                f"{self.policy_name}: {STAGNATION_LIMIT} decision points in a row at which "
                f"nothing happened but wake-ups and nothing was decided (t={self.now}, "
                f"{len(self.active)} unfinished jobs)"
            )

    def _advance_dysta(self) -> View | None:
        """compat "dysta": run the op the last decision dispatched to its end, then let the
        Dysta loop admit arrivals and set the clock (:mod:`rtmm_opt.engine.dysta_compat`)."""
        dysta = self._dysta
        assert dysta is not None
        heap = self._heap
        while True:
            ran_op = False
            while heap:  # the op dispatched by the last decision; wake-ups are dropped
                time, event_class, _, item = heappop(heap)
                if event_class == COMPLETION:
                    self.now = time
                    self._complete(item, time)
                    ran_op = True
            if self._wake_pending:
                self._wake_pending.clear()
            if ran_op and self.active:
                # the common case: no request arrived before now, so the Dysta loop admits
                # nothing and keeps the clock (DystaLoop.admit)
                k = dysta.next_arrival
                if k >= len(dysta.arrivals) or not dysta.release[dysta.arrivals[k]] < self.now:
                    if self._hold is not None:  # offer a run of layers (Policy.hold)
                        if self._declined:  # the hold answered for this boundary already
                            self._declined = False
                        elif self._pause > 0:  # recent runs were declined at once
                            self._pause -= 1
                        elif self._run_ahead():
                            continue  # the run's last kept op is running
                    return View(self)
            dysta.check_dispatched(
                self.policy_name, self.now, len(self.active), ran_op, self.decisions
            )
            self.now, admitted = dysta.admit(self.now, queue_empty=not self.active, ran_op=ran_op)
            for job in admitted:
                self._release(job, self._job_release[job])
            return View(self) if self.active else None

    # -- running ahead (compat "dysta", Policy.hold) ---------------------------------------
    def offer_runs(self, hold: Callable[[Run], int]) -> None:
        """Offer the runs of decision points along a job's chain to ``hold`` (a policy's
        :meth:`~rtmm_opt.engine.contract.Policy.hold`) under compat "dysta"; elsewhere this
        does nothing. Call before :meth:`reset`."""
        if self._dysta is None:
            return
        tables = self._tables
        if tables.sparsity is None:
            sparsity = np.asarray(self.instance.op_sparsity, np.float64)
            tables.sparsity = array("d", sparsity.tobytes())
        self._sparsity = tables.sparsity
        self._hold = hold

    def _run_ahead(self) -> bool:
        """At a boundary where the op that ended made its chain successor ready, offer the run
        of boundaries up to the next admission or the job's last op to the policy's hold and
        record the ops it keeps (as :meth:`step` and :meth:`_complete` would, layer by layer).
        True if it kept any: the last one is then running and its completion is in the heap."""
        notices = self.notices
        if len(notices) != 2 or notices[0][0] != _OP_DONE or notices[1][0] != OP_READY:
            return False
        first = notices[1][1]
        chain, _, cum = self._chain_runs()
        if notices[0][1] != first - 1 or chain[first - 1] != first:
            return False  # not the same run of chain ops
        job = self._op_job[first]
        if job in self._required:
            return False
        now = self.now
        last = self._run_last(first, job, now)
        if last <= first:
            return False
        times = list(map(sub, cum[first : last + 2], repeat(cum[first] - now)))
        assert self._hold is not None
        kept = self._hold(Run(View(self), job, first, times, self._sparsity))
        if not 0 <= kept < len(times):
            raise SchedulingError(
                f"{self.policy_name} at t={now}: hold kept {kept} boundaries of a run of "
                f"{len(times) - 1}"
            )
        if kept == 0:
            # A policy that switches jobs at every layer answers 0 to every run, so asking costs
            # more than it saves: each 0 in a row doubles a pause (up to 64 runs) during which
            # no run is offered. The schedule does not depend on when runs are offered.
            self._backoff = min(2 * self._backoff + 1, MAX_PAUSE)
            self._pause = self._backoff
            return False
        self._backoff = 0
        # ops first .. first + kept - 1 were dispatched; all but the last have finished
        end = first + kept - 1  # the op that is running now
        self._declined = kept < len(times) - 1
        op_state = self.op_state
        op_state[first:end] = [FINISHED] * (kept - 1)
        op_state[end] = RUNNING
        self.op_accelerator[first : end + 1] = [0] * kept
        self.op_start[first : end + 1] = array("q", times[:kept])
        self.op_end[first:end] = array("q", times[1:kept])
        self._preds_left[first + 1 : end + 1] = [0] * (kept - 1)
        del self.ready[first]
        self.running[0] = end
        self.job_started[job] = True
        self.job_last_progress[job] = times[kept - 1]
        self._job_todo[job] -= kept - 1
        self.decisions += kept
        self.dispatches += kept
        self._stagnant = 0
        self.notices = []
        self._sequence += kept
        heappush(self._heap, (times[kept], COMPLETION, self._sequence, end))
        return True

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
        self.notices.append((_RELEASED, job))
        self._open_variant(job)

    def _open_variant(self, job: int) -> None:
        """Mark the ops of the job's variant with no predecessors ready; count required ops."""
        variant = self.job_variant[job]
        ops = self.static.variant_ops(job, variant)
        exit_op = self._job_exit[job]
        if exit_op >= 0 and self.op_variant[exit_op] == variant:
            required = set(self.instance.required_ops(job, variant))
            self._required[job] = required
            self._job_todo[job] = len(required)
        else:
            self._required.pop(job, None)
            self._job_todo[job] = len(ops)
        if self._tables.chains_only:
            ops = ops[:1]  # the only op without predecessors
        for op in ops:
            if self._preds_left[op] == 0 and self.op_state[op] == WAITING:
                self.op_state[op] = READY
                self.ready[op] = None
                self.notices.append((_OP_READY, op))

    def _complete(self, op: int, time: int) -> None:
        self.running[self.op_accelerator[op]] = -1
        self.op_end[op] = time
        op_state = self.op_state
        op_state[op] = FINISHED
        job = self._op_job[op]
        notices = self.notices
        notices.append((_OP_DONE, op))
        if self.job_state[job] != ACTIVE:
            return  # the job was dropped (or exited) while this op ran
        self.job_last_progress[job] = time
        todo = self._job_todo
        if self._is_required(job, op):
            todo[job] -= 1
        if todo[job] == 0:
            self._finish_job(job, time)
            return
        preds_left = self._preds_left
        nxt = self._successor[op]
        for succ in (nxt,) if nxt >= 0 else self._many.get(op, ()):
            left = preds_left[succ] - 1
            preds_left[succ] = left
            if left == 0 and op_state[succ] == WAITING:
                op_state[succ] = READY
                self.ready[succ] = None
                notices.append((_OP_READY, succ))

    def _is_required(self, job: int, op: int) -> bool:
        if self.op_variant[op] != self.job_variant[job]:
            return False
        if not self._required:
            return True
        required = self._required.get(job)
        return required is None or op in required

    def _finish_job(self, job: int, time: int) -> None:
        self.job_state[job] = DONE
        self.job_completion[job] = time
        del self.active[job]
        # every op of a job with one variant and no realised exit has finished
        skipped = not self.static.variant_free or job in self._required
        for op in self.job_ops[job] if skipped else ():
            if self.op_state[op] == READY:
                del self.ready[op]
                self.op_state[op] = SKIPPED
            elif self.op_state[op] == WAITING:
                self.op_state[op] = SKIPPED
        self.notices.append((_JOB_DONE, job))
        for down in self._downstream[job]:
            self._upstream_left[down] -= 1
            if self._upstream_left[down] == 0 and self.job_state[down] == PENDING:
                release = self._job_release[down]
                if release <= time:
                    self._release(down, time)
                else:
                    self._push(release, RELEASE, down)

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
            for op in self.job_ops[current]:
                if self.op_state[op] == READY:
                    del self.ready[op]
                if self.op_state[op] in (READY, WAITING):
                    self.op_state[op] = SKIPPED
            self.notices.append((_JOB_DROPPED, current))
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
            self._push(check, COMPLETION, check)

    # -- decisions ------------------------------------------------------------------------------
    def _apply(self, decision: Decision) -> bool:
        """Apply a decision; True if it changed the ready set without dispatching anything."""
        now = self.now
        changed = False
        if decision.variants:
            for job, variant in decision.variants.items():
                changed |= self._set_variant(job, variant)
        if decision.drops:
            for job in decision.drops:
                if not 0 <= job < len(self.job_state) or self.job_state[job] != ACTIVE:
                    self._illegal(f"drop of job {job}, which is not a released, unfinished job")
                if self.instance.settings.drops == "never":
                    self._illegal(f"drop of job {job}, but the instance says drops: never")
                self._drop(job, now)
                changed = True
        dispatch = self._dispatch
        for op, acc in decision.dispatches:
            dispatch(op, acc, now)
        if self._contention:
            self._schedule_contention_check()
        wake = decision.wake_at
        if wake is not None:
            if wake <= now:
                self._illegal(f"wake-up at {wake}, not after the current time {now}")
            if wake not in self._wake_pending:
                self._wake_pending.add(wake)
                self._push(wake, WAKE, 0)
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
        for op in self.job_ops[job]:
            if self.op_state[op] == READY:
                del self.ready[op]
                self.op_state[op] = WAITING
        self.job_variant[job] = variant
        self._open_variant(job)
        return True

    def _dispatch(self, op: int, acc: int, now: int) -> None:
        op_state, running = self.op_state, self.running
        if not 0 <= op < len(op_state) or op_state[op] != READY:
            known = 0 <= op < len(op_state)
            state = OP_STATE_NAMES[op_state[op]] if known else "unknown"
            self._illegal(f"dispatch of op {op}, which is not ready (it is {state})")
        if not 0 <= acc < self.n_accelerators or running[acc] >= 0:
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
        op_state[op] = RUNNING
        self.op_accelerator[op] = acc
        self.op_start[op] = start
        running[acc] = op
        self.job_started[self._op_job[op]] = True
        self.dispatches += 1
        if self._share is not None:
            self._share.start(op, start, duration, int(self.instance.op_dram_bytes[op, acc]))
        else:
            self._sequence += 1
            heappush(self._heap, (start + duration, COMPLETION, self._sequence, op))

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


def replay(instance: Instance, policy: Policy, *, check: bool = True) -> Schedule:
    """Run ``policy`` over ``instance`` to the end and return the (validated) Schedule.

    A policy that offers a rule for the compiled core (``compiled_rule()``,
    :mod:`rtmm_opt.engine.core`) is replayed by the core where it describes the replay
    (:meth:`Engine.run_compiled`); otherwise one that offers an index rule (``index_rule()``,
    :mod:`rtmm_opt.engine.index`) by :meth:`Engine.run_index`. Both give the same schedule as
    stepping it."""
    engine = Engine(instance, policy_name=policy.name or type(policy).__name__)
    policy.reset(engine.static)
    if type(policy).hold is not Policy.hold:
        engine.offer_runs(policy.hold)
    compiled_rule = getattr(policy, "compiled_rule", None)
    compiled = compiled_rule() if compiled_rule is not None and engine.takes_index_rules else None
    if compiled is not None and engine.run_compiled(compiled):
        pass  # replayed by the compiled core
    else:
        if isinstance(compiled, DreamRule):  # its tuner may have closed windows before the
            policy.reset(engine.static)  # core declined: start the policy afresh
        index_rule = getattr(policy, "index_rule", None)
        rule = index_rule() if index_rule is not None and engine.takes_index_rules else None
        if rule is not None:
            engine.run_index(rule)
        else:
            view = engine.reset()
            while view is not None:
                view = engine.step(policy.decide(view))
    schedule = engine.schedule()
    if check:
        validate(instance, schedule).raise_if_invalid()
    return schedule

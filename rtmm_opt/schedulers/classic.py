"""Textbook list schedulers: FCFS, EDF, round robin (RR), least laxity (LLF), shortest job (SJF).

FCFS and EDF keep a heap of ready ops fed by the view's ``OP_READY`` notices, so a decision
costs O(log n) in the number of queued ops. Entries go stale when an op stops being ready (its
job was dropped or changed variant); they are skipped when popped.

RR, LLF and SJF, like PREMA, Planaria and SDRM3 (their own modules), are rules that pick a
*job*, not an op. They share :class:`JobPickPolicy`: at a decision, the jobs that can run now
(released, unfinished, with a ready op eligible on an idle accelerator) form the *pool*, in
release order; the rule picks one job, its first ready op (in the order its ops became ready)
goes to an idle accelerator by the ``accelerator`` rule (earliest finish by default,
:func:`~rtmm_opt.schedulers.common.choose_accelerator`), and this repeats with the jobs that can
still run on the remaining idle accelerators. A job whose ops form a chain has one ready op at
a time, so it takes at most one accelerator; a job with parallel branches may take several.
Jobs are preempted at op boundaries: every decision re-ranks the pool.

Predicted remaining work (SJF, LLF) is :class:`~rtmm_opt.schedulers.common.RemainingWork`:
each op counts its shortest predicted duration over the accelerators it is eligible on, and an
op counts as remaining until it has finished. The rules that read predictions (LLF, SJF, PREMA,
SDRM3: :class:`PredictingJobPick`) take a parameter ``estimates`` naming the prediction set
(``op_predicted`` by default; :mod:`~rtmm_opt.schedulers.common`).

A job with a running op is *not waiting*: its waited time (PREMA, SDRM3) is 0; otherwise it is
``now − job_last_progress`` (the end of its last finished op, or its release).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from rtmm_opt.engine.contract import PREDICTED, Decision, Notice, Policy, StaticInfo, View
from rtmm_opt.schedulers.common import (
    ACCELERATOR_RULES,
    RemainingWork,
    check_estimates_name,
    choose_accelerator,
    resolve_estimates,
)
from rtmm_opt.schedulers.registry import register

OP_READY = Notice.OP_READY.value
OP_DONE = Notice.OP_DONE.value
RELEASED = Notice.RELEASED.value
JOB_GONE = (Notice.JOB_DONE.value, Notice.JOB_DROPPED.value)


def check_accelerator_rule(rule: str) -> None:
    if rule not in ACCELERATOR_RULES:
        raise ValueError(f"accelerator must be one of {', '.join(ACCELERATOR_RULES)}, got {rule!r}")


@dataclass
class _HeapPolicy(Policy):
    """Ready ops in a heap keyed by :meth:`key`; idle accelerators take the smallest keys."""

    accelerator: str = "earliest_finish"
    _static: StaticInfo | None = field(default=None, init=False, repr=False)
    _heap: list[tuple[int, ...]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        check_accelerator_rule(self.accelerator)

    def reset(self, static: StaticInfo) -> None:
        self._static = static
        self._heap = []
        self._prepare(static)

    def _prepare(self, static: StaticInfo) -> None:
        """Precompute per-job or per-op keys."""

    def key(self, view: View, op: int) -> tuple[int, ...]:
        raise NotImplementedError

    def decide(self, view: View) -> Decision | None:
        self.absorb(view)
        return self.fill(view)

    def absorb(self, view: View) -> None:
        """Queue the ops that became ready since the last decision."""
        heap = self._heap
        key = self.key
        for kind, item in view.notices:
            if kind == OP_READY:
                heapq.heappush(heap, (*key(view, item), item))

    def fill(self, view: View) -> Decision | None:
        """Give idle accelerators the smallest-key ready ops."""
        heap = self._heap
        idle = view.idle_accelerators
        if not idle or not heap:
            return None
        static = self._static
        assert static is not None
        decision = Decision()
        skipped: list[tuple[int, ...]] = []
        while heap and idle:
            entry = heapq.heappop(heap)
            op = entry[-1]
            if not view.is_ready(op):
                continue  # stale: dropped, finished or variant changed
            acc = choose_accelerator(static, op, idle, self.accelerator)
            if acc < 0:
                skipped.append(entry)
                continue
            decision.dispatches.append((op, acc))
            idle.remove(acc)
        for entry in skipped:
            heapq.heappush(heap, entry)
        return decision


@register("fcfs")
@dataclass
class FCFS(_HeapPolicy):
    """First come, first served: ready ops in order of their job's release, then job, then op.

    Non-preemptive at op boundaries like every policy here; with one op per job it is plain
    FCFS. Accelerator choice: ``accelerator`` rule (earliest finish by default).
    """

    def key(self, view: View, op: int) -> tuple[int, ...]:
        job = self._static.op_job_list[op]  # type: ignore[union-attr]
        return (view.job_release(job), job)


@register("edf")
@dataclass
class EDF(_HeapPolicy):
    """Earliest deadline first (Liu & Layland, JACM 1973): smallest absolute deadline d_j first.

    Ties by release, then job and op index. ``drop_expired``: drop a job as soon as a decision
    finds it past its deadline (off by default: late jobs still run).
    """

    drop_expired: bool = False

    def key(self, view: View, op: int) -> tuple[int, ...]:
        static = self._static
        assert static is not None
        job = static.op_job_list[op]
        return (static.job_deadline_list[job], view.job_release(job), job)

    def decide(self, view: View) -> Decision | None:
        self.absorb(view)
        if self.drop_expired and self._static is not None and self._static.drops_allowed:
            deadline = self._static.job_deadline_list
            expired = [job for job in view.active_jobs if deadline[job] < view.now]
            if expired:
                return Decision(drops=expired)  # the engine decides again at the same time
        return self.fill(view)


@dataclass
class JobPickPolicy(Policy):
    """A rule that picks jobs; the base of RR, LLF, SJF, PREMA, Planaria and SDRM3.

    Subclasses implement :meth:`select` (one job of the pool) and may override :meth:`prepare`
    (score the pool once per decision) and :meth:`dispatched` (after a pick). See the module
    docstring for the pool, the op and the accelerator that a pick gets.
    """

    accelerator: str = "earliest_finish"
    _static: StaticInfo | None = field(default=None, init=False, repr=False)
    _work: RemainingWork | None = field(default=None, init=False, repr=False)
    # job -> its ready ops not yet dispatched, in the order they became ready
    _ready: dict[int, dict[int, None]] = field(default_factory=dict, init=False, repr=False)
    _running: dict[int, int] = field(default_factory=dict, init=False, repr=False)  # job -> ops
    _rows: list[list[int]] = field(default_factory=list, init=False, repr=False)
    _op_job: list[int] = field(default_factory=list, init=False, repr=False)
    _deadline: list[int] = field(default_factory=list, init=False, repr=False)
    _priority: list[int] = field(default_factory=list, init=False, repr=False)
    _everywhere: bool = field(default=False, init=False, repr=False)  # every op eligible on all

    def __post_init__(self) -> None:
        check_accelerator_rule(self.accelerator)

    def reset(self, static: StaticInfo) -> None:
        self._static = static
        self._work = RemainingWork(static, estimates=self.estimate_set(static))
        self._ready = {}
        self._running = {}
        self._rows = static.predicted_rows
        self._op_job = static.op_job_list
        self._deadline = static.job_deadline_list
        priorities = [int(task.priority) for task in static.tasks]
        self._priority = [priorities[task] for task in static.job_task.tolist()]
        self._everywhere = bool((static.op_predicted >= 0).all())

    # -- hooks ------------------------------------------------------------------------------------
    def estimate_set(self, static: StaticInfo) -> str:
        """The prediction set behind :attr:`work` (``op_predicted`` unless overridden)."""
        return PREDICTED

    def prepare(self, view: View, pool: list[int]) -> None:
        """Score the pool (jobs that can run now, in release order); once per decision."""

    def select(self, view: View, pool: list[int]) -> int:
        """The job to serve next among ``pool`` (non-empty, in release order)."""
        raise NotImplementedError

    def dispatched(self, job: int) -> None:
        """Called after one op of ``job`` was dispatched."""

    # -- shared state ---------------------------------------------------------------------------
    @property
    def work(self) -> RemainingWork:
        assert self._work is not None, "reset() first"
        return self._work

    def next_op(self, job: int, idle: list[int]) -> int:
        """The job's first ready, undispatched op that is eligible on an idle accelerator."""
        rows = self._rows
        for op in self._ready.get(job, ()):
            row = rows[op]
            for acc in idle:
                if row[acc] >= 0:
                    return op
        return -1

    def _observe(self, view: View) -> None:
        self.work.observe(view)
        ready, running, op_job = self._ready, self._running, self._op_job
        for kind, item in view.notices:
            if kind == OP_READY:
                job = op_job[item]
                if job in ready:
                    ready[job][item] = None
                else:
                    ready[job] = {item: None}
            elif kind == OP_DONE:
                job = op_job[item]
                count = running.get(job, 0)
                if count > 1:
                    running[job] = count - 1
                elif count == 1:
                    del running[job]
            elif kind in JOB_GONE:
                ready.pop(item, None)
                running.pop(item, None)

    # -- decision -------------------------------------------------------------------------------
    def decide(self, view: View) -> Decision | None:
        self._observe(view)
        idle = view.idle_accelerators
        if not idle:
            return None
        next_op, ready = self.next_op, self._ready
        if self._everywhere:  # any ready op can run on any idle accelerator
            pool = [job for job in view.active_jobs if ready.get(job)]
        else:
            pool = [job for job in view.active_jobs if next_op(job, idle) >= 0]
        if not pool:
            return None
        static = self._static
        assert static is not None
        self.prepare(view, pool)
        decision = Decision()
        while True:
            job = self.select(view, pool)
            op = next_op(job, idle)
            acc = choose_accelerator(static, op, idle, self.accelerator)
            decision.dispatches.append((op, acc))
            idle.remove(acc)
            del self._ready[job][op]
            self._running[job] = self._running.get(job, 0) + 1
            self.dispatched(job)
            if not idle:
                break
            pool = [j for j in pool if next_op(j, idle) >= 0]
            if not pool:
                break
        return decision


@dataclass
class PredictingJobPick(JobPickPolicy):
    """A job-picking rule that reads predicted durations (LLF, SJF, PREMA, SDRM3).

    ``estimates``: the prediction set its formula reads (:attr:`work`): ``"predicted"``
    (``op_predicted``, the default), ``"auto"`` (the same here), or the name of an estimate set
    of the instance (``Instance.op_estimates``, e.g. the Dysta importer's ``"pattern"``).
    """

    estimates: str = PREDICTED

    def __post_init__(self) -> None:
        super().__post_init__()
        check_estimates_name(self.estimates)

    def estimate_set(self, static: StaticInfo) -> str:
        return resolve_estimates(static, self.estimates)


@register("rr")
@dataclass
class RoundRobin(JobPickPolicy):
    """Round robin over the active jobs, one op per turn (time sharing with a quantum of one op;
    e.g. Silberschatz et al., *Operating System Concepts*, "Round-Robin Scheduling").

    The jobs form a rotation in release order; a job released later joins at the back. A pick
    serves the first job of the rotation that can run now (it has a ready op eligible on an idle
    accelerator) and moves it to the back; jobs that cannot run keep their place. With several
    idle accelerators the picks go on down the rotation. Accelerator: the ``accelerator`` rule
    (earliest finish by default).
    """

    _rotation: dict[int, None] = field(default_factory=dict, init=False, repr=False)

    def reset(self, static: StaticInfo) -> None:
        super().reset(static)
        self._rotation = {}

    def _observe(self, view: View) -> None:
        super()._observe(view)
        rotation = self._rotation
        for kind, item in view.notices:
            if kind == RELEASED:
                rotation[item] = None
            elif kind in JOB_GONE:
                rotation.pop(item, None)

    def select(self, view: View, pool: list[int]) -> int:
        can_run = set(pool)
        return next(job for job in self._rotation if job in can_run)

    def dispatched(self, job: int) -> None:
        del self._rotation[job]
        self._rotation[job] = None


@register("llf")
@dataclass
class LLF(PredictingJobPick):
    """Least laxity first (Mok, MIT PhD thesis 1983): the smallest laxity runs first,

        laxity_j = d_j − t − R_j,

    with d_j the absolute deadline, t now and R_j the predicted remaining work
    (:class:`RemainingWork`: each unfinished op at its fastest predicted duration, from the
    ``estimates`` set). Ties go to the job released first. Preemptive at op boundaries;
    accelerator by the ``accelerator`` rule (earliest finish by default).
    """

    _laxity: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    def prepare(self, view: View, pool: list[int]) -> None:
        now, deadline, remaining = view.now, self._deadline, self.work.remaining
        self._laxity = {job: deadline[job] - now - remaining[job] for job in pool}

    def select(self, view: View, pool: list[int]) -> int:
        return min(pool, key=self._laxity.__getitem__)  # min keeps the first of equals


@register("sjf")
@dataclass
class SJF(PredictingJobPick):
    """Shortest predicted remaining work first (shortest remaining processing time, Schrage
    1968; Dysta's ``sjf``, ``shared/dysta/README.md`` §4.2): argmin R_j, the predicted
    remaining work (:class:`RemainingWork`, from the ``estimates`` set: ``op_predicted`` by
    default, which on a Dysta import holds the per-architecture averages that the simulator's
    ``sjf`` uses). Ties go to the job released first. Preemptive at op boundaries; accelerator
    by the ``accelerator`` rule (earliest finish by default).
    """

    def select(self, view: View, pool: list[int]) -> int:
        return min(pool, key=self.work.remaining.__getitem__)

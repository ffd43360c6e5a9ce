"""What the schedulers share: base policies, accelerator choice, predicted remaining work, the
choice of estimate set, and the selection fold of Dysta's Planaria and SDRM3.

A scheduler module imports this module, the engine's contract and the registry, never a sibling
scheduler. Parameters are dataclass fields (parsed and checked by the registry); the state of
one replay is built in ``reset``.

**Base policies.**

* :class:`ReadyHeapPolicy` (FCFS, EDF): ready ops in a heap fed by the view's ``OP_READY``
  notices, so a decision costs O(log n) in the number of queued ops. Entries go stale when an
  op stops being ready (its job was dropped or changed variant); they are skipped when popped.
  An op's key is its job's, fixed from the job's release on, so the policy is an index rule
  (:mod:`rtmm_opt.engine.index`): :func:`~rtmm_opt.engine.loop.replay` lets the engine keep the
  heap and dispatch without calling ``decide``.
* :class:`JobPickPolicy` (RR, LLF, SJF, PREMA, Planaria, SDRM3): a rule that picks a *job*, not
  an op. At a decision, the jobs that can run now (released, unfinished, with a ready op
  eligible on an idle accelerator) form the *pool*, in release order; the rule picks one job,
  its first ready op (in the order its ops became ready) goes to an idle accelerator by the
  ``accelerator`` rule (:func:`choose_accelerator`), and this repeats with the jobs that can
  still run on the remaining idle accelerators. A job whose ops form a chain has one ready op at
  a time, so it takes at most one accelerator; a job with parallel branches may take several.
  Jobs are preempted at op boundaries: every decision re-ranks the pool.
  :class:`PredictingJobPick` is one whose formula reads predicted durations (LLF, SJF, PREMA,
  SDRM3).

**Predicted remaining work** (SJF, LLF, PREMA, SDRM3) is :class:`RemainingWork`: each op counts
its shortest predicted duration over the accelerators it is eligible on, and an op counts as
remaining until it has finished. A job with a running op is *not waiting*: its waited time
(PREMA, SDRM3) is 0; otherwise it is ``now − job_last_progress`` (the end of its last finished
op, or its release).

**Estimate sets.** An instance has one prediction matrix, ``op_predicted``, and may carry named
alternatives (``Instance.op_estimates``; the Dysta importer adds ``"pattern"``, the per-pattern
averages, next to the per-architecture averages in ``op_predicted``, ``docs/dysta.md``).
Schedulers whose rule reads predicted durations take a parameter ``estimates``: ``"predicted"``
(``op_predicted``), the name of a set, or ``"auto"``, the scheduler's own natural choice
(:func:`resolve_estimates`). Only the rule's formula reads the chosen set; which idle
accelerator a picked op goes to (:func:`choose_accelerator`) is judged on ``op_predicted``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from rtmm_opt.engine.contract import (
    PREDICTED,
    Decision,
    Notice,
    Policy,
    Run,
    StaticInfo,
    View,
    shared_values,
)
from rtmm_opt.engine.core import JobPickRule
from rtmm_opt.engine.index import IndexRule
from rtmm_opt.errors import excerpt
from rtmm_opt.instance.instance import IntArray

ACCELERATOR_RULES = ("earliest_finish", "lowest_energy", "first_idle")
AUTO = "auto"

# Notice kinds as plain ints, for the comparisons in hot loops.
OP_READY = Notice.OP_READY.value
OP_DONE = Notice.OP_DONE.value
RELEASED = Notice.RELEASED.value
JOB_GONE = (Notice.JOB_DONE.value, Notice.JOB_DROPPED.value)


# -- parameters ------------------------------------------------------------------------------------
def check_accelerator_rule(rule: str) -> None:
    if rule not in ACCELERATOR_RULES:
        raise ValueError(
            f"accelerator must be one of {', '.join(ACCELERATOR_RULES)}, got {excerpt(rule)}"
        )


def check_estimates_name(name: object) -> None:
    """``estimates`` must be a non-empty string (whether the set exists is known at reset)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"estimates must be '{PREDICTED}', '{AUTO}' or the name of an estimate set of the "
            f"instance, got {excerpt(name)}"
        )


def resolve_estimates(static: StaticInfo, name: str, auto: str = PREDICTED) -> str:
    """The estimate set ``name`` stands for: ``"auto"`` is ``auto`` if the instance has that
    set and ``"predicted"`` otherwise; any other name is itself (checked by
    :meth:`StaticInfo.estimates`)."""
    if name == AUTO:
        return auto if auto == PREDICTED or auto in static.op_estimates else PREDICTED
    return name


# -- predictions and accelerators ------------------------------------------------------------------
def fastest_estimates(matrix: IntArray) -> list[int]:
    """Per op, its smallest non-negative entry: the estimate on its fastest eligible accelerator
    (-1 marks an ineligible accelerator; an op eligible nowhere does not occur)."""
    if matrix.size == 0:
        return []
    masked = np.where(matrix < 0, np.iinfo(np.int64).max, matrix)
    return shared_values(masked.min(axis=1))


def choose_accelerator(
    static: StaticInfo, op: int, idle: list[int], rule: str = "earliest_finish"
) -> int:
    """The idle accelerator to run ``op`` on, or -1 if it is eligible on none of them.

    ``earliest_finish`` (the default for schedulers defined on one accelerator, docs/design.md §4):
    the shortest predicted duration, as every idle accelerator can start now. ``lowest_energy``: the
    lowest energy, then the shortest duration. ``first_idle``: the lowest index. Ties go to the
    lowest index.
    """
    row = static.predicted_rows[op]
    if rule == "earliest_finish":  # the common case, kept lean
        best, best_duration = -1, 0
        for acc in idle:
            duration = row[acc]
            if duration >= 0 and (best < 0 or duration < best_duration):
                best, best_duration = acc, duration
        return best
    best, best_key = -1, None
    for acc in idle:
        duration = row[acc]
        if duration < 0:
            continue
        if rule == "lowest_energy":
            key: tuple[int, ...] = (int(static.op_energy[op, acc]), duration)
        else:
            key = ()
        if best_key is None or key < best_key:
            best, best_key = acc, key
    return best


def fill_idle(
    view: View, static: StaticInfo, ranked_ops: Iterable[int], rule: str = "earliest_finish"
) -> Decision:
    """Give each idle accelerator the best-ranked ready op that is eligible on it."""
    idle = view.idle_accelerators
    decision = Decision()
    if not idle:
        return decision
    for op in ranked_ops:
        acc = choose_accelerator(static, op, idle, rule)
        if acc < 0:
            continue
        decision.dispatches.append((op, acc))
        idle.remove(acc)
        if not idle:
            break
    return decision


class RemainingWork:
    """Predicted remaining work of every active job, kept up to date from the view's notices.

    ``per_op[op]`` is what an op is predicted to cost: its shortest predicted duration over the
    accelerators, from the estimate set ``estimates`` (``"predicted"`` is ``op_predicted``).
    ``remaining[job]`` sums it over the job's unfinished ops of its variant; ``total[job]`` over
    all of them (the isolated estimate). Update with :meth:`observe` at every decision.
    """

    def __init__(self, static: StaticInfo, estimates: str = PREDICTED) -> None:
        self.static = static
        self.per_op = fastest_estimates(static.estimates(estimates))
        self.remaining: dict[int, int] = {}
        self.total: dict[int, int] = {}

    def _variant_sum(self, view: View, job: int) -> int:
        per_op = self.per_op
        return sum(per_op[op] for op in self.static.variant_ops(job, view.job_variant(job)))

    def observe(self, view: View) -> None:
        op_job, remaining = self.static.op_job_list, self.remaining
        for kind, item in view.notices:
            if kind == OP_DONE:
                job = op_job[item]
                if job in remaining:
                    remaining[job] -= self.per_op[item]
            elif kind == RELEASED:
                work = self._variant_sum(view, item)
                remaining[item] = work
                self.total[item] = work
            elif kind in JOB_GONE:
                remaining.pop(item, None)
                self.total.pop(item, None)

    def refresh(self, view: View, job: int) -> None:
        """Recompute a job after a variant change."""
        done = sum(self.per_op[op] for op in self.static.ops_of(job) if view.op_finished(op))
        self.total[job] = self._variant_sum(view, job)
        self.remaining[job] = self.total[job] - done


def chain_suffix_work(static: StaticInfo, per_op: Sequence[int]) -> list[int] | None:
    """Per op, the sum of ``per_op`` from it to its job's last op, if every job is a chain (one
    variant; each op but the first of its job has exactly the previous op as predecessor) and
    no task is cascaded; else None. Then that sum is the job's remaining work
    (:class:`RemainingWork`) from when the op becomes ready until it finishes."""
    if any(task.depends_on for task in static.tasks) or (static.op_variant != 0).any():
        return None
    n_ops = len(static.op_job)
    offsets, pred_offsets = static.job_op_offsets, static.op_pred_offsets
    first = np.zeros(n_ops, bool)
    first[offsets[:-1][np.diff(offsets) > 0]] = True
    if not (np.diff(pred_offsets) == ~first).all():
        return None
    later = np.flatnonzero(~first)
    if not (static.op_preds[pred_offsets[later]] == later - 1).all():
        return None
    work = np.asarray(per_op, np.int64)
    if n_ops and float(work.max()) * n_ops >= 2**62:
        return None  # int64 sums could overflow
    suffix = np.zeros(n_ops + 1, np.int64)
    suffix[:-1] = np.cumsum(work[::-1])[::-1]
    end_of_job = offsets[static.op_job + 1]
    return shared_values(suffix[:-1] - suffix[end_of_job])


def task_priorities(static: StaticInfo) -> list[int]:
    """Per job, its task's priority (``TaskInfo.priority``; not the job's ``job_weight``)."""
    priorities = [int(task.priority) for task in static.tasks]
    return [priorities[task] for task in static.job_task.tolist()]


def negative_maximum_fold(jobs: Sequence[int], score: Mapping[int, float]) -> int:
    """The selection fold of Dysta's ``planaria`` and ``sdrm3`` (``shared/dysta/README.md``
    §4.4, §4.5).

    Start with m := −1 and no pick; visiting ``jobs`` in order, job j replaces the pick iff
    (m < 0 or m ≤ s_j) and m ≠ s_j, and then m := s_j. Equal scores keep the earlier job; once
    m is negative (the pick is past its deadline) the next job replaces it whatever its score;
    a non-negative m is never replaced by a negative score. If nothing is picked (every score
    is exactly −1) the first job is returned.
    """
    pick, top = -1, -1.0
    for job in jobs:
        value = score[job]
        if (top < 0 or top <= value) and top != value:
            pick, top = job, value
    return pick if pick >= 0 else jobs[0]


# -- base policies ---------------------------------------------------------------------------------
@dataclass
class ReadyHeapPolicy(Policy):
    """Ready ops in a heap keyed by :meth:`key`; idle accelerators take the smallest keys.

    Subclasses implement :meth:`job_key`; ``static`` is set by ``reset``. The same rule is
    offered to the engine as an :class:`~rtmm_opt.engine.index.IndexRule` (:meth:`index_rule`).
    """

    accelerator: str = "earliest_finish"

    def __post_init__(self) -> None:
        check_accelerator_rule(self.accelerator)

    def reset(self, static: StaticInfo) -> None:
        self.static = static
        self._heap: list[tuple[int, ...]] = []

    def job_key(self, job: int, release: int) -> tuple[int, ...]:
        """The heap key of the job's ready ops (smallest first; the op is appended to it),
        from the job and its effective release (``view.job_release``); fixed once released."""
        raise NotImplementedError

    def key(self, view: View, op: int) -> tuple[int, ...]:
        """The heap key of a ready op, without the op: its job's :meth:`job_key`."""
        job = self.static.op_job_list[op]
        return self.job_key(job, view.job_release(job))

    def index_rule(self) -> IndexRule | None:
        """This policy as an index rule (the engine then keeps the heap), after ``reset``."""
        return IndexRule(
            self.job_key, partial(choose_accelerator, self.static, rule=self.accelerator)
        )

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
        static = self.static
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


@dataclass
class JobPickPolicy(Policy):
    """A rule that picks jobs; the base of RR, LLF, SJF, PREMA, Planaria and SDRM3.

    Subclasses implement :meth:`select` (one job of the pool) and may override :meth:`prepare`
    (score the pool once per decision) and :meth:`dispatched` (after a pick). See the module
    docstring for the pool, the op and the accelerator that a pick gets. What they read, set
    by ``reset``: ``static``, ``work`` (:class:`RemainingWork`), ``priority`` and ``deadline``
    (per job), :meth:`is_running` and :meth:`first_ready_op`.
    """

    accelerator: str = "earliest_finish"

    def __post_init__(self) -> None:
        check_accelerator_rule(self.accelerator)

    def reset(self, static: StaticInfo) -> None:
        self.static = static
        self.work = RemainingWork(static, estimates=self.estimate_set(static))
        self.priority = task_priorities(static)
        self.deadline = static.job_deadline_list
        # job -> its ready ops not yet dispatched, in the order they became ready
        self._ready: dict[int, dict[int, None]] = {}
        self._running: dict[int, int] = {}  # job -> its running ops
        self._rows = static.predicted_rows
        self._op_job = static.op_job_list
        self._everywhere = bool((static.op_predicted >= 0).all())  # every op eligible on all

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

    def saved_state(self) -> object:
        """What :meth:`prepare` changes that outlives a decision (restored by
        :meth:`restore_state` when :meth:`hold` looks at a boundary it does not keep)."""
        return None

    def restore_state(self, saved: object) -> None:
        """Put back what :meth:`saved_state` returned."""

    # -- shared state ---------------------------------------------------------------------------
    def is_running(self, job: int) -> bool:
        """Whether an op of ``job`` is running (the job is then not waiting)."""
        return job in self._running

    def next_op(self, job: int, idle: list[int]) -> int:
        """The job's first ready, undispatched op that is eligible on an idle accelerator."""
        rows = self._rows
        for op in self._ready.get(job, ()):
            row = rows[op]
            for acc in idle:
                if row[acc] >= 0:
                    return op
        return -1

    def first_ready_op(self, job: int) -> int:
        """The job's first ready, undispatched op (the job is in the pool, so it has one)."""
        return next(iter(self._ready[job]))

    def observe(self, view: View) -> None:
        """Take in the notices since the last decision."""
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
    def hold(self, run: Run) -> int:
        """:meth:`decide` along a run (:class:`~rtmm_opt.engine.contract.Run`) without the
        engine: at each boundary the job's finished op and its next op are taken in as their
        notices would be, and :meth:`prepare` and :meth:`select` run over the pool, which only
        the job's own op changes along the run, unless :meth:`sure` vouches for the pick. The
        first boundary that picks another job is taken back (:meth:`saved_state`) and left to
        :meth:`decide`."""
        view, job, first, times = run.view, run.job, run.first, run.times
        ready, running = self._ready, self._running
        remaining, per_op = self.work.remaining, self.work.per_op
        active = view.active_jobs
        if self._everywhere:
            pool = [k for k in active if k == job or ready.get(k)]
        else:
            pool = [k for k in active if k == job or self.next_op(k, [0]) >= 0]
        job_ready = ready.setdefault(job, {})
        prepare, select, dispatched = self.prepare, self.select, self.dispatched
        counts_dispatches = type(self).dispatched is not JobPickPolicy.dispatched
        kept = len(times) - 1
        alone = len(pool) == 1 == len(list(active))  # picked at every boundary; nothing waits
        boundary = 0
        while boundary < kept:
            sure = kept - boundary if alone else self.sure(run, pool, boundary)
            if sure:  # the notices and the dispatches of these boundaries, in one go
                done = first + boundary - 1
                remaining[job] -= sum(per_op[done : done + sure])
                if counts_dispatches:
                    for _ in range(sure):
                        dispatched(job)
                running[job] = 1
                boundary += sure
                continue
            done, op = first + boundary - 1, first + boundary
            # the notices (OP_DONE, done), (OP_READY, op), as observe takes them in
            count = running.get(job, 0)
            if count > 1:
                running[job] = count - 1
            elif count == 1:
                del running[job]
            remaining[job] -= per_op[done]
            job_ready[op] = None
            saved = self.saved_state()
            ahead = run.view_at(boundary)
            prepare(ahead, pool)
            if select(ahead, pool) != job:  # not kept: as it was before this boundary
                self.restore_state(saved)
                del job_ready[op]
                remaining[job] += per_op[done]
                if count:
                    running[job] = count
                return boundary
            del job_ready[op]  # dispatched to accelerator 0, as decide does
            running[job] = running.get(job, 0) + 1
            dispatched(job)
            boundary += 1
        return kept

    def compiled_rule(self) -> JobPickRule | None:
        """This policy's formula for the compiled core (:mod:`rtmm_opt.engine.core`), after
        ``reset``; None (the default) means "call ``decide``". A rule must describe exactly
        what :meth:`decide` does; the core has these formulas on one accelerator under compat
        ``dysta``, where every op is eligible."""
        return None

    def sure(self, run: Run, pool: list[int], boundary: int) -> int:
        """How many boundaries of ``run`` from ``boundary`` on certainly pick the run's job
        (over ``pool``, in release order), by a bound that needs neither :meth:`prepare` nor
        a change of state but the job's own notices and dispatches; 0 if not sure. The default
        is never sure."""
        return 0

    def decide(self, view: View) -> Decision | None:
        self.observe(view)
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
        static, running, everywhere = self.static, self._running, self._everywhere
        self.prepare(view, pool)
        decision = Decision()
        while True:
            job = self.select(view, pool)
            if everywhere and len(idle) == 1:  # next_op and choose_accelerator, for this case
                op, acc = next(iter(ready[job])), idle[0]
            else:
                op = next_op(job, idle)
                acc = choose_accelerator(static, op, idle, self.accelerator)
            decision.dispatches.append((op, acc))
            idle.remove(acc)
            del ready[job][op]
            running[job] = running.get(job, 0) + 1
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

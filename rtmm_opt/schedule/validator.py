"""The one schedule validator (docs/design.md §2): every Schedule, from any scheduler or the oracle.

It depends only on the Instance and the Schedule; it shares no code with the engine, the
schedulers or the oracle, except the contention model (:mod:`rtmm_opt.schedule.contention`),
which defines what a stretched duration is. Every rule has its own :class:`ViolationKind`:

``shape``
    Arrays have the instance's op/job counts and integer types; statuses are 0/1; the variant
    exists for the job's task and has ops in the job; accelerators are -1 (did not run) or a
    valid index; an op that did not run has start = end = -1. Any shape violation stops the
    validation there.
``release``
    No op starts before its job's release, nor, for a cascaded job, before the completion of
    every upstream job (the dependent is released when its upstream completes).
``dependency``
    A job whose upstream job was dropped is dropped too and runs no op.
``precedence``
    An op starts at or after the end of each of its predecessors, which must have run.
``eligibility``
    An op runs only where ``op_duration >= 0``, and only if it belongs to the job's chosen variant.
``overlap``
    Ops on one accelerator do not overlap (end == next start is fine). With
    ``settings.context_switch``, when consecutive ops on an accelerator need different
    ``op_context``, the later one starts at least ``context_reload_time[context, accelerator]``
    after the earlier one ends. The first op on an accelerator loads its context for free (the
    system starts with whatever context its first op needs).

    With ``settings.compat == "dysta"`` (the Dysta simulator's loop, ``docs/dysta.md``), and
    only then, one kind of overlap is accepted: the simulator's **clock rewind**. Take the ops
    of an accelerator in order of start, then of their jobs in order of (release, index), then
    op index. An op ``o`` of job ``j`` may start before the end of the op ``p`` just before it
    in that order if and only if

    1. ``o`` starts exactly at ``j``'s release and no op of ``j`` started earlier (``o`` is
       the first op of ``j``);
    2. ``p`` is the op that completes its job (the job is completed and ``p``'s end is its
       completion), so the queue held nothing else of that job;
    3. every job before ``j`` in order of (release, index) has no op after ``p`` in that order
       (it has completed, or been dropped, by the time ``p`` ends): the queue was empty when
       ``p`` ended, and ``j`` was the next arrival. The order of ops, not their times, is what
       counts: after one rewind, the simulator's clock can be behind ops that ran before.

    That is what the simulator does when the queue empties and the next request arrived before
    the end of the last layer: it sets the clock back to that arrival. The ops after a rewind
    continue from the rewound clock: from ``o`` on, up to the next rewind, ops must not overlap
    each other (they may overlap ``p`` and anything before it). Every other overlap, including
    one that meets some but not all of 1–3, is a violation as usual. The simulator has one
    accelerator, and so does the rule: on an instance with more, no overlap is accepted.
``duration``
    ``end - start == op_duration[op, accelerator]``; with ``settings.contention``,
    ``end == stretched_ends(...)[op]`` recomputed from the schedule's starts.
``drop``
    A completed job ran every required op (:func:`required_op_mask`; honours the realised early
    exit). An op of the chosen variant outside the required set (past a realised early exit) may
    only have been committed before the exit op ended: an online scheduler cannot know of the
    exit earlier (docs/design.md §2), but once it is known nothing of the job starts. A dropped
    job did not finish all its required ops before ``job_drop_time`` (else it completed; an op still
    running at the drop runs to its end, as ops are not preempted), committed no op at or after
    ``job_drop_time``, and ``job_drop_time >= release``. With ``settings.drops == "never"`` no
    job is dropped. An op is *committed* at its start, or, when it needs a context reload, when
    that reload begins (its start minus the reload time).

Everything is vectorised with numpy (sorting per accelerator for overlaps), so validation is
O(n log n) in the number of ops; only messages for the first ``max_per_kind`` violations of each
kind are built, while :attr:`ValidationReport.counts` counts them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from rtmm_opt.instance.instance import Instance, IntArray
from rtmm_opt.schedule.contention import stretched_ends
from rtmm_opt.schedule.schedule import JobStatus, Schedule

BoolArray = npt.NDArray[np.bool_]


class ViolationKind(StrEnum):
    SHAPE = "shape"
    RELEASE = "release"
    DEPENDENCY = "dependency"
    PRECEDENCE = "precedence"
    ELIGIBILITY = "eligibility"
    OVERLAP = "overlap"
    DURATION = "duration"
    DROP = "drop"


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``job``/``op`` are None where the rule is not about one job or op."""

    kind: ViolationKind
    job: int | None
    op: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class ScheduleError(Exception):
    """A schedule that breaks the rules. From a scheduler or the oracle, this is a bug.

    (A schedule file given by a user is bad input instead: the CLI turns it into an
    :class:`~rtmm_opt.errors.InputError`.)
    """

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.summary())


@dataclass(frozen=True)
class ValidationReport:
    """The violations found (at most ``max_per_kind`` listed per kind) and their full counts."""

    violations: tuple[Violation, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def total(self) -> int:
        """How many violations there are, listed or not."""
        return sum(self.counts.values())

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.counts)

    def summary(self, limit: int = 5) -> str:
        if self.ok:
            return "valid schedule"
        counts = ", ".join(f"{kind}: {count}" for kind, count in sorted(self.counts.items()))
        lines = [f"invalid schedule ({counts})", *(f"  {v}" for v in self.violations[:limit])]
        if len(self.violations) > limit:
            lines.append(f"  ... and {self.total - limit} more")
        return "\n".join(lines)

    def raise_if_invalid(self) -> None:
        if not self.ok:
            raise ScheduleError(self)


class _Collector:
    """Counts violations per kind and builds messages for the first ``max_per_kind`` only."""

    def __init__(self, instance: Instance, max_per_kind: int) -> None:
        self.op_job = instance.op_job
        self.max_per_kind = max_per_kind
        self.violations: list[Violation] = []
        self.counts: dict[str, int] = {}

    def _room(self, kind: ViolationKind, count: int) -> int:
        listed = sum(1 for v in self.violations if v.kind == kind)
        self.counts[kind.value] = self.counts.get(kind.value, 0) + count
        return max(0, self.max_per_kind - listed)

    def add(
        self,
        kind: ViolationKind,
        where: npt.NDArray[np.integer],
        describe: Callable[[int], tuple[int | None, int | None, str]],
    ) -> None:
        """Record ``len(where)`` violations; ``describe(i)`` gives (job, op, message) for item i."""
        if len(where) == 0:
            return
        for item in where[: self._room(kind, len(where))].tolist():
            job, op, message = describe(int(item))
            self.violations.append(Violation(kind, job, op, message))

    def ops(
        self, kind: ViolationKind, ops: npt.NDArray[np.integer], text: Callable[[int], str]
    ) -> None:
        """One violation per op; messages read ``job J op O: <text(op)>``."""

        def describe(op: int) -> tuple[int, int, str]:
            job = int(self.op_job[op])
            return job, op, f"job {job} op {op}: {text(op)}"

        self.add(kind, ops, describe)

    def jobs(
        self, kind: ViolationKind, jobs: npt.NDArray[np.integer], text: Callable[[int], str]
    ) -> None:
        """One violation per job; messages read ``job J: <text(job)>``."""
        self.add(kind, jobs, lambda job: (job, None, f"job {job}: {text(job)}"))

    def report(self) -> ValidationReport:
        return ValidationReport(tuple(self.violations), dict(self.counts))


def required_op_mask(instance: Instance, job_variant: IntArray) -> BoolArray:
    """Per op: must it run for its job to complete with the job's variant?

    The vectorised form of :meth:`Instance.required_ops` for every job at once: all ops of the
    chosen variant, or, when the realised early exit lies in that variant, its ops up to and
    including the exit op (ops are in topological order).
    """
    job_variant = np.asarray(job_variant, dtype=np.int64)
    op_job = instance.op_job
    mask = instance.op_variant == job_variant[op_job]
    exits = instance.job_exit_op
    exit_in_variant = (exits >= 0) & (instance.op_variant[np.maximum(exits, 0)] == job_variant)
    limit = np.where(exit_in_variant, exits, np.iinfo(np.int64).max)
    return mask & (np.arange(instance.n_ops) <= limit[op_job])


@dataclass(frozen=True)
class AcceleratorSequence:
    """The executed ops in order on each accelerator (by start, then end, then op index).

    ``ops`` is that order; ``same_accelerator[i]`` says ``ops[i]`` follows ``ops[i-1]`` on the same
    accelerator; ``busy_until[i]`` is the latest end among the ops before ``ops[i]`` on its
    accelerator (meaningful where ``same_accelerator[i]``).
    """

    ops: IntArray
    same_accelerator: BoolArray
    busy_until: IntArray

    @classmethod
    def of(
        cls, op_accelerator: IntArray, op_start: IntArray, op_end: IntArray
    ) -> AcceleratorSequence:
        executed = np.flatnonzero(op_accelerator >= 0)
        accelerator, start, end = op_accelerator[executed], op_start[executed], op_end[executed]
        order = np.lexsort((executed, end, start, accelerator))
        ops = executed[order]
        accelerator, start, end = accelerator[order], start[order], end[order]
        same = np.zeros(len(ops), dtype=bool)
        same[1:] = accelerator[1:] == accelerator[:-1]
        busy = np.zeros(len(ops), dtype=np.int64)
        # Running maximum of the ends, restarted on every accelerator (one slice each; there are
        # few accelerators).
        bounds = [*np.flatnonzero(~same).tolist(), len(ops)]
        for first, stop in itertools.pairwise(bounds):
            busy[first + 1 : stop] = np.maximum.accumulate(end[first : stop - 1])
        return cls(ops, same, busy)


def context_reloads(instance: Instance, sequence: AcceleratorSequence) -> BoolArray:
    """Per position of ``sequence``: does that op need a context reload before it runs?

    True where the previous op on the same accelerator used another ``op_context``; the first
    op on each accelerator loads for free. Only meaningful with ``settings.context_switch``.
    """
    context = instance.op_context[sequence.ops]
    reload = np.zeros(len(sequence.ops), dtype=bool)
    reload[1:] = sequence.same_accelerator[1:] & (context[1:] != context[:-1])
    return reload


def validate(instance: Instance, schedule: Schedule, *, max_per_kind: int = 20) -> ValidationReport:
    """Check ``schedule`` against every rule of the module docstring; never raises on bad data."""
    out = _Collector(instance, max_per_kind)
    if _shape_is_valid(instance, schedule, out):
        _Checks(instance, schedule, out).run()
    return out.report()


def _constant(message: str) -> Callable[[int], tuple[None, None, str]]:
    return lambda _: (None, None, message)


def _shape_is_valid(instance: Instance, schedule: Schedule, out: _Collector) -> bool:
    sizes = {
        "op_accelerator": instance.n_ops,
        "op_start": instance.n_ops,
        "op_end": instance.n_ops,
        "job_status": instance.n_jobs,
        "job_variant": instance.n_jobs,
        "job_drop_time": instance.n_jobs,
    }
    for name, size in sizes.items():
        array = np.asarray(getattr(schedule, name))
        if array.ndim != 1 or len(array) != size or not np.issubdtype(array.dtype, np.integer):
            message = (
                f"{name} has shape {array.shape} and type {array.dtype}; expected {size} integers"
            )
            out.add(ViolationKind.SHAPE, np.zeros(1, np.int64), _constant(message))
    if out.counts:
        return False
    accelerator, start, end = schedule.op_accelerator, schedule.op_start, schedule.op_end
    status, variant = schedule.job_status, schedule.job_variant
    n_variants = np.array([len(task.variants) for task in instance.tasks], dtype=np.int64)
    out.ops(
        ViolationKind.SHAPE,
        np.flatnonzero((accelerator < -1) | (accelerator >= instance.n_accelerators)),
        lambda op: f"accelerator index {int(accelerator[op])} does not exist",
    )
    out.ops(
        ViolationKind.SHAPE,
        np.flatnonzero((accelerator == -1) & ((start != -1) | (end != -1))),
        lambda op: f"did not run but has start/end {int(start[op])}/{int(end[op])}, not -1/-1",
    )
    out.jobs(
        ViolationKind.SHAPE,
        np.flatnonzero((status != JobStatus.DROPPED) & (status != JobStatus.COMPLETED)),
        lambda job: f"status {int(status[job])} is neither 0 (dropped) nor 1 (completed)",
    )
    out.jobs(
        ViolationKind.SHAPE,
        np.flatnonzero((variant < 0) | (variant >= n_variants[instance.job_task])),
        lambda job: f"variant {int(variant[job])} does not exist for its task",
    )
    if out.counts:
        return False
    op_job = instance.op_job
    in_variant = instance.op_variant == variant[op_job]
    ops_in_variant = np.bincount(op_job[in_variant], minlength=instance.n_jobs)
    out.jobs(
        ViolationKind.SHAPE,
        np.flatnonzero(ops_in_variant == 0),
        lambda job: f"has no ops of variant {int(variant[job])}",
    )
    return not out.counts


class _Checks:
    """The rules after the shape check; derived arrays are computed once and shared."""

    def __init__(self, instance: Instance, schedule: Schedule, out: _Collector) -> None:
        self.instance, self.schedule, self.out = instance, schedule, out
        self.accelerator = schedule.op_accelerator.astype(np.int64)
        self.start = schedule.op_start.astype(np.int64)
        self.end = schedule.op_end.astype(np.int64)
        self.ran = self.accelerator >= 0
        self.op_job = instance.op_job
        self.completed = schedule.job_status == JobStatus.COMPLETED
        self.dropped = ~self.completed
        self.required = required_op_mask(instance, schedule.job_variant)
        # Duration of each executed op on its accelerator (-1: ineligible or did not run).
        on_accelerator = instance.op_duration[
            np.arange(instance.n_ops), np.maximum(self.accelerator, 0)
        ]
        self.duration = np.where(self.ran, on_accelerator, -1)
        # Upstream pairs: job ``downstream[k]`` waits for job ``upstream[k]``.
        self.downstream = np.repeat(
            np.arange(instance.n_jobs, dtype=np.int64), np.diff(instance.job_upstream_offsets)
        )
        self.upstream = instance.job_upstream
        self.commit = self._commit_times()

    def _commit_times(self) -> IntArray:
        """When each executed op was committed to its accelerator: its start, or, when it needed
        a context reload first, the start of that reload. Drop and early-exit rules judge an op
        by this time: once the reload has begun, the op is under way."""
        commit = self.start.copy()
        instance = self.instance
        if not instance.settings.context_switch or not len(instance.contexts):
            return commit
        sequence = AcceleratorSequence.of(self.accelerator, self.start, self.end)
        ops = sequence.ops[context_reloads(instance, sequence)]
        commit[ops] -= instance.context_reload_time[instance.op_context[ops], self.accelerator[ops]]
        return commit

    def run(self) -> None:
        self.check_eligibility()
        self.check_duration()
        self.check_overlap()
        self.check_release()
        self.check_dependency()
        self.check_precedence()
        self.check_drop()

    def check_eligibility(self) -> None:
        instance, accelerator = self.instance, self.accelerator
        self.out.ops(
            ViolationKind.ELIGIBILITY,
            np.flatnonzero(self.ran & (self.duration < 0)),
            lambda op: f"ran on {instance.accelerators[accelerator[op]]}, where it is not eligible",
        )
        job_variant = self.schedule.job_variant[self.op_job]
        self.out.ops(
            ViolationKind.ELIGIBILITY,
            np.flatnonzero(self.ran & (instance.op_variant != job_variant)),
            lambda op: (
                f"belongs to variant {int(instance.op_variant[op])}, "
                f"but the job ran variant {int(job_variant[op])}"
            ),
        )

    def check_duration(self) -> None:
        countable = self.ran & (self.duration >= 0)
        if self.instance.settings.contention:
            executed = np.where(countable, self.accelerator, -1)
            expected = stretched_ends(self.instance, executed, self.start)
            rule = "the contention-stretched end"
        else:
            expected = self.start + self.duration
            rule = "start + op_duration"
        start, end = self.start, self.end
        self.out.ops(
            ViolationKind.DURATION,
            np.flatnonzero(countable & (end != expected)),
            lambda op: (
                f"runs {int(start[op])}..{int(end[op])} ({int(end[op] - start[op])} units); "
                f"{rule} is {int(expected[op])} ({int(expected[op] - start[op])} units)"
            ),
        )

    def check_overlap(self) -> None:
        instance = self.instance
        if instance.settings.compat == "dysta":
            sequence = self._dysta_sequence()
        else:
            sequence = AcceleratorSequence.of(self.accelerator, self.start, self.end)
        ops, busy = sequence.ops, sequence.busy_until
        position = np.zeros(instance.n_ops, dtype=np.int64)
        position[ops] = np.arange(len(ops))
        start, accelerator, names = self.start, self.accelerator, instance.accelerators
        overlapping = sequence.same_accelerator & (start[ops] < busy)

        def before(op: int) -> str:
            return f"op {int(ops[position[op] - 1])}"

        self.out.ops(
            ViolationKind.OVERLAP,
            ops[overlapping],
            lambda op: (
                f"starts at {int(start[op])} on {names[accelerator[op]]}, which is busy until "
                f"{int(busy[position[op]])} ({before(op)} precedes it)"
            ),
        )
        if not instance.settings.context_switch:
            return
        reload = context_reloads(instance, sequence) & ~overlapping
        context = instance.op_context
        needed = np.zeros(len(ops), dtype=np.int64)
        needed[reload] = instance.context_reload_time[
            context[ops[reload]], accelerator[ops[reload]]
        ]
        self.out.ops(
            ViolationKind.OVERLAP,
            ops[reload & (start[ops] - busy < needed)],
            lambda op: (
                f"switches {names[accelerator[op]]} to context {int(context[op])} "
                f"{int(start[op] - busy[position[op]])} after {before(op)} (context "
                f"{int(context[ops[position[op] - 1]])}) ends; the reload takes "
                f"{int(needed[position[op]])}"
            ),
        )

    def _dysta_sequence(self) -> AcceleratorSequence:
        """The accelerator sequence under compat "dysta" (module docstring, ``overlap``): ops by
        (accelerator, start, job rank, op); ``busy_until`` restarts at every clock rewind, and a
        rewind's own ``busy_until`` is its start, so that it is not an overlap."""
        instance, start, end = self.instance, self.start, self.end
        n_jobs = instance.n_jobs
        op_job = self.op_job
        release = instance.job_release
        order = np.lexsort((np.arange(n_jobs), release))
        # Durations are >= 1, so two ops start together only at a rewind to the start of the
        # op ``p`` it follows; ``p``'s job was admitted first, so it ranks first in order of
        # (release, index), which need not be the order of job (or op) indices.
        rank = np.empty(n_jobs, dtype=np.int64)
        rank[order] = np.arange(n_jobs)
        executed = np.flatnonzero(self.ran)
        ops = executed[
            np.lexsort(
                (executed, rank[op_job[executed]], start[executed], self.accelerator[executed])
            )
        ]
        same = np.zeros(len(ops), dtype=bool)
        same[1:] = self.accelerator[ops[1:]] == self.accelerator[ops[:-1]]
        first_start = np.full(n_jobs, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_start, op_job[executed], start[executed])
        completion = self.completion()
        # Per job, the position of its last op in the sequence (-1 if none ran), and the
        # latest such position over the jobs before it in order of (release, index).
        last = np.full(n_jobs, -1, dtype=np.int64)
        np.maximum.at(last, op_job[ops], np.arange(len(ops), dtype=np.int64))
        before = np.full(n_jobs, -1, dtype=np.int64)
        if n_jobs > 1:
            before[order[1:]] = np.maximum.accumulate(last[order[:-1]])
        previous = np.roll(ops, 1)
        job, previous_job = op_job[ops], op_job[previous]
        # Only the single-accelerator simulator rewinds (the engine refuses compat "dysta" on
        # more): with several accelerators the positions in ``ops`` are accelerator-major, so
        # rule 3 could not tell whether an earlier arrival still waited when ``p`` ended.
        rewind = (
            same
            & (instance.n_accelerators == 1)
            & (start[ops] < end[previous])
            & (start[ops] == release[job])
            & (first_start[job] == start[ops])
            & self.completed[previous_job]
            & (completion[previous_job] == end[previous])
            & (before[job] < np.arange(len(ops)))  # at or before the previous position
        )
        busy = np.zeros(len(ops), dtype=np.int64)
        restarts = np.flatnonzero(~same | rewind).tolist()
        for first, stop in itertools.pairwise([*restarts, len(ops)]):
            busy[first] = start[ops[first]]
            busy[first + 1 : stop] = np.maximum.accumulate(end[ops[first : stop - 1]])
        return AcceleratorSequence(ops, same, busy)

    def completion(self) -> IntArray:
        """Per job: end of its last executed required op if completed, else -1."""
        times = np.full(self.instance.n_jobs, -1, dtype=np.int64)
        counted = self.ran & self.required & self.completed[self.op_job]
        np.maximum.at(times, self.op_job[counted], self.end[counted])
        return times

    def check_release(self) -> None:
        instance, op_job, start = self.instance, self.op_job, self.start
        release = instance.job_release[op_job]
        self.out.ops(
            ViolationKind.RELEASE,
            np.flatnonzero(self.ran & (start < release)),
            lambda op: (
                f"starts at {int(start[op])}, before the job's release at {int(release[op])}"
            ),
        )
        if len(self.upstream) == 0:
            return
        completion = self.completion()
        first_start = np.full(instance.n_jobs, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_start, op_job[self.ran], start[self.ran])
        down, up = self.downstream, self.upstream
        early = np.flatnonzero(self.completed[up] & (first_start[down] < completion[up]))

        def describe(pair: int) -> tuple[int, int, str]:
            job, upstream = int(down[pair]), int(up[pair])
            op = min(
                (o for o in instance.ops_of(job) if self.ran[o]), key=lambda o: (int(start[o]), o)
            )
            return (
                job,
                op,
                (
                    f"job {job} op {op}: starts at {int(start[op])}, before its upstream job "
                    f"{upstream} completes at {int(completion[upstream])}"
                ),
            )

        self.out.add(ViolationKind.RELEASE, early, describe)

    def check_dependency(self) -> None:
        if len(self.upstream) == 0:
            return
        ran_count = np.bincount(self.op_job[self.ran], minlength=self.instance.n_jobs)
        down, up = self.downstream, self.upstream
        bad = np.flatnonzero(self.dropped[up] & (self.completed[down] | (ran_count[down] > 0)))

        def describe(pair: int) -> tuple[int, None, str]:
            job = int(down[pair])
            did = "completed" if self.completed[job] else f"ran {int(ran_count[job])} op(s)"
            return (
                job,
                None,
                (
                    f"job {job}: its upstream job {int(up[pair])} was dropped, so it must be "
                    f"dropped and run nothing, but it {did}"
                ),
            )

        self.out.add(ViolationKind.DEPENDENCY, bad, describe)

    def check_precedence(self) -> None:
        instance, start, end, ran = self.instance, self.start, self.end, self.ran
        successor = np.repeat(
            np.arange(instance.n_ops, dtype=np.int64), np.diff(instance.op_pred_offsets)
        )
        pred = instance.op_preds
        self.out.add(
            ViolationKind.PRECEDENCE,
            np.flatnonzero(ran[successor] & ~ran[pred]),
            lambda e: (
                int(self.op_job[successor[e]]),
                int(successor[e]),
                f"job {int(self.op_job[successor[e]])} op {int(successor[e])}: ran, but its "
                f"predecessor op {int(pred[e])} did not",
            ),
        )
        self.out.add(
            ViolationKind.PRECEDENCE,
            np.flatnonzero(ran[successor] & ran[pred] & (start[successor] < end[pred])),
            lambda e: (
                int(self.op_job[successor[e]]),
                int(successor[e]),
                f"job {int(self.op_job[successor[e]])} op {int(successor[e])}: starts at "
                f"{int(start[successor[e]])}, before its predecessor op {int(pred[e])} ends at "
                f"{int(end[pred[e]])}",
            ),
        )

    def check_drop(self) -> None:
        instance, schedule, op_job = self.instance, self.schedule, self.op_job
        start, end, ran, required = self.start, self.end, self.ran, self.required
        n_jobs = instance.n_jobs
        if instance.settings.drops == "never":
            self.out.jobs(
                ViolationKind.DROP,
                np.flatnonzero(self.dropped),
                lambda job: "is dropped, but settings.drops is 'never'",
            )
        missing = np.flatnonzero(required & ~ran)
        missing_count = np.bincount(op_job[missing], minlength=n_jobs)
        first_missing = np.full(n_jobs, instance.n_ops, dtype=np.int64)
        np.minimum.at(first_missing, op_job[missing], missing)
        self.out.jobs(
            ViolationKind.DROP,
            np.flatnonzero(self.completed & (missing_count > 0)),
            lambda job: (
                f"is completed, but {int(missing_count[job])} required op(s) did not run "
                f"(first: op {int(first_missing[job])})"
            ),
        )
        # A dropped job may have run every required op only if the last of them was still
        # running when the drop was decided (non-preemptive ops run to their end).
        last_end = np.full(n_jobs, -1, dtype=np.int64)
        counted = np.flatnonzero(required & ran)
        np.maximum.at(last_end, op_job[counted], end[counted])
        drop_time = schedule.job_drop_time
        self.out.jobs(
            ViolationKind.DROP,
            np.flatnonzero(self.dropped & (missing_count == 0) & (last_end <= drop_time)),
            lambda job: "is dropped, but every required op ran before the drop (so it completed)",
        )
        # Ops of the chosen variant past a realised early exit may have run only before the exit
        # was observed (the exit op's end).
        chosen = instance.op_variant == schedule.job_variant[op_job]
        beyond = np.flatnonzero(ran & ~required & chosen)
        exit_op = instance.job_exit_op[op_job]
        never = np.iinfo(np.int64).max
        exit_end = np.where(ran[exit_op[beyond]], end[exit_op[beyond]], never)
        commit = self.commit
        self.out.ops(
            ViolationKind.DROP,
            beyond[commit[beyond] >= exit_end],
            lambda op: (
                f"starts at {int(start[op])}, after the early exit at op {int(exit_op[op])} "
                f"(ended {int(end[exit_op[op]])}) made it unnecessary"
            ),
        )
        self.out.ops(
            ViolationKind.DROP,
            np.flatnonzero(ran & self.dropped[op_job] & (commit >= drop_time[op_job])),
            lambda op: (
                f"starts at {int(start[op])}, at or after the job's drop at "
                f"{int(drop_time[op_job[op]])}"
            ),
        )
        release = instance.job_release
        self.out.jobs(
            ViolationKind.DROP,
            np.flatnonzero(self.dropped & (drop_time < release)),
            lambda job: (
                f"dropped at {int(drop_time[job])}, before its release at {int(release[job])}"
            ),
        )

"""Textbook list schedulers: FCFS and EDF (and, alongside, the other classic rules).

Each keeps a heap of ready ops fed by the view's ``OP_READY`` notices, so a decision costs
O(log n) in the number of queued ops. Entries go stale when an op stops being ready (its job
was dropped or changed variant); they are skipped when popped.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from rtmm_opt.engine.engine import Decision, Notice, StaticInfo, View
from rtmm_opt.engine.policy import Policy
from rtmm_opt.schedulers.common import ACCELERATOR_RULES, choose_accelerator
from rtmm_opt.schedulers.registry import register


@dataclass
class _HeapPolicy(Policy):
    """Ready ops in a heap keyed by :meth:`key`; idle accelerators take the smallest keys."""

    accelerator: str = "earliest_finish"
    _static: StaticInfo | None = field(default=None, init=False, repr=False)
    _heap: list[tuple[int, ...]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.accelerator not in ACCELERATOR_RULES:
            raise ValueError(
                f"accelerator must be one of {', '.join(ACCELERATOR_RULES)}, got {self.accelerator!r}"
            )

    def reset(self, static: StaticInfo) -> None:
        self._static = static
        self._heap = []
        self._prepare(static)

    def _prepare(self, static: StaticInfo) -> None:
        """Precompute per-job or per-op keys."""

    def key(self, view: View, op: int) -> tuple[int, ...]:
        raise NotImplementedError

    def decide(self, view: View) -> Decision | None:
        heap = self._heap
        for kind, item in view.notices:
            if kind == Notice.OP_READY:
                heapq.heappush(heap, (*self.key(view, item), item))
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
        job = int(self._static.op_job[op])  # type: ignore[union-attr]
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
        job = int(static.op_job[op])
        return (int(static.job_deadline[job]), view.job_release(job), job)

    def decide(self, view: View) -> Decision | None:
        if self.drop_expired and self._static is not None and self._static.drops_allowed:
            deadline = self._static.job_deadline
            expired = [job for job in view.active_jobs if deadline[job] < view.now]
            if expired:
                decision = Decision(drops=expired)
                return decision  # the next decision point (same time) dispatches
        return super().decide(view)

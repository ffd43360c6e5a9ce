"""Textbook list schedulers: FCFS, EDF, round robin (RR), least laxity (LLF), shortest job (SJF).

FCFS and EDF rank ready ops in a heap (:class:`~rtmm_opt.schedulers.base.ReadyHeapPolicy`); RR,
LLF and SJF, like PREMA, Planaria and SDRM3 (their own modules), pick a *job*
(:class:`~rtmm_opt.schedulers.base.JobPickPolicy`, which says what a pick gets). The rules that
read predictions (LLF, SJF) take a parameter ``estimates`` naming the prediction set
(``op_predicted`` by default; :mod:`~rtmm_opt.schedulers.base`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from rtmm_opt.engine.contract import Decision, StaticInfo, View
from rtmm_opt.engine.core import HeapRule
from rtmm_opt.engine.index import IndexRule
from rtmm_opt.schedulers.base import (
    JOB_GONE,
    RELEASED,
    JobPickPolicy,
    PredictingJobPick,
    ReadyHeapPolicy,
    chain_suffix_work,
    choose_accelerator,
)
from rtmm_opt.schedulers.registry import register


@register("fcfs")
@dataclass
class FCFS(ReadyHeapPolicy):
    """First come, first served: ready ops in order of their job's release, then job, then op.

    Non-preemptive at op boundaries like every policy here; with one op per job it is plain
    FCFS. Accelerator choice: ``accelerator`` rule (earliest finish by default).
    """

    def job_key(self, job: int, release: int) -> tuple[int, ...]:
        return (release, job)

    def compiled_rule(self) -> HeapRule | None:
        """This policy for the compiled core's event loop (:mod:`rtmm_opt.engine.core`)."""
        plain = type(self) is FCFS and self.accelerator == "earliest_finish"
        return HeapRule(edf=False) if plain else None


@register("edf")
@dataclass
class EDF(ReadyHeapPolicy):
    """Earliest deadline first (Liu & Layland, JACM 1973): smallest absolute deadline d_j first.

    Ties by release, then job and op index. ``drop_expired``: drop a job as soon as a decision
    finds it past its deadline (off by default: late jobs still run).
    """

    drop_expired: bool = False

    def reset(self, static: StaticInfo) -> None:
        super().reset(static)
        self._deadline = static.job_deadline_list

    def job_key(self, job: int, release: int) -> tuple[int, ...]:
        return (self._deadline[job], release, job)

    def index_rule(self) -> IndexRule | None:
        if self.drop_expired and self.static.drops_allowed:
            return None  # drops at decisions: not an index rule
        return super().index_rule()

    def compiled_rule(self) -> HeapRule | None:
        """This policy for the compiled core's event loop (:mod:`rtmm_opt.engine.core`), when
        it is an index rule."""
        plain = type(self) is EDF and self.accelerator == "earliest_finish"
        return HeapRule(edf=True) if plain and self.index_rule() is not None else None

    def decide(self, view: View) -> Decision | None:
        self.absorb(view)
        if self.drop_expired and self.static.drops_allowed:
            deadline = self.static.job_deadline_list
            expired = [job for job in view.active_jobs if deadline[job] < view.now]
            if expired:
                return Decision(drops=expired)  # the engine decides again at the same time
        return self.fill(view)


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

    def reset(self, static: StaticInfo) -> None:
        super().reset(static)
        self._rotation: dict[int, None] = {}  # the active jobs, next to serve first

    def observe(self, view: View) -> None:
        super().observe(view)
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

    def reset(self, static: StaticInfo) -> None:
        super().reset(static)
        self._laxity: dict[int, int] = {}  # of the pool, at this decision

    def prepare(self, view: View, pool: list[int]) -> None:
        now, deadline, remaining = view.now, self.deadline, self.work.remaining
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

    def index_rule(self) -> IndexRule | None:
        """SJF as an index rule, where every job is a chain of ops (one variant, each op after
        the previous one) and no task is cascaded: a job then has at most one ready op, its
        remaining work when that op becomes ready is the op's suffix sum of estimates, which
        does not change until the op runs and shrinks along the chain, and the pool's release
        order is (release, job). The key (suffix work, release, job) is then this policy's
        choice at every decision point; elsewhere None (``decide`` runs)."""
        rank = chain_suffix_work(self.static, self.work.per_op)
        if rank is None:
            return None
        return IndexRule(
            lambda job, release: (release, job),
            partial(choose_accelerator, self.static, rule=self.accelerator),
            op_rank=rank,
        )

"""Pieces the schedulers share: accelerator choice, greedy filling, predicted remaining work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rtmm_opt.engine.engine import Decision, Notice, StaticInfo, View

ACCELERATOR_RULES = ("earliest_finish", "lowest_energy", "first_idle")


def choose_accelerator(
    static: StaticInfo, op: int, idle: list[int], rule: str = "earliest_finish"
) -> int:
    """The idle accelerator to run ``op`` on, or -1 if it is eligible on none of them.

    ``earliest_finish`` (the default for schedulers defined on one accelerator, SPEC §4): the
    shortest predicted duration, as every idle accelerator can start now. ``lowest_energy``:
    the lowest energy, then the shortest duration. ``first_idle``: the lowest index. Ties go
    to the lowest index.
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


@dataclass
class RemainingWork:
    """Predicted remaining work of every active job, kept up to date from the view's notices.

    ``per_op[op]`` is what an op is predicted to cost (by default its shortest predicted
    duration over the accelerators). ``remaining[job]`` sums it over the job's unfinished ops
    of its variant; ``total[job]`` over all of them (the isolated estimate). Update with
    :meth:`observe` at every decision.
    """

    static: StaticInfo
    per_op: list[int] = field(default_factory=list)
    remaining: dict[int, int] = field(default_factory=dict)
    total: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.per_op:
            predicted = self.static.op_predicted
            masked = predicted.copy()
            masked[masked < 0] = predicted.max() + 1
            self.per_op = masked.min(axis=1).tolist()

    def _variant_sum(self, view: View, job: int) -> int:
        variant = view.job_variant(job)
        ops = self.static.ops_of(job)
        variants = self.static.op_variant
        return sum(self.per_op[op] for op in ops if variants[op] == variant)

    def observe(self, view: View) -> None:
        op_job = self.static.op_job
        for kind, item in view.notices:
            if kind == Notice.RELEASED:
                work = self._variant_sum(view, item)
                self.remaining[item] = work
                self.total[item] = work
            elif kind == Notice.OP_DONE:
                job = int(op_job[item])
                if job in self.remaining:
                    self.remaining[job] -= self.per_op[item]
            elif kind in (Notice.JOB_DONE, Notice.JOB_DROPPED):
                self.remaining.pop(item, None)
                self.total.pop(item, None)

    def refresh(self, view: View, job: int) -> None:
        """Recompute a job after a variant change."""
        done = sum(self.per_op[op] for op in self.static.ops_of(job) if view.op_finished(op))
        self.total[job] = self._variant_sum(view, job)
        self.remaining[job] = self.total[job] - done

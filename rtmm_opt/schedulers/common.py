"""Pieces the schedulers share: accelerator choice, greedy filling, predicted remaining work, and
the choice of estimate set.

**Estimate sets.** An instance has one prediction matrix, ``op_predicted``, and may carry named
alternatives (``Instance.op_estimates``; the Dysta importer adds ``"pattern"``, the per-pattern
averages, next to the per-architecture averages in ``op_predicted``, ``docs/dysta.md``).
Schedulers whose rule reads predicted durations take a parameter ``estimates``: ``"predicted"``
(``op_predicted``), the name of a set, or ``"auto"``, the scheduler's own natural choice
(:func:`resolve_estimates`). Only the rule's formula reads the chosen set; which idle
accelerator a picked op goes to (:func:`choose_accelerator`) is judged on ``op_predicted``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from rtmm_opt.engine.contract import PREDICTED, Decision, Notice, StaticInfo, View
from rtmm_opt.instance.instance import IntArray

ACCELERATOR_RULES = ("earliest_finish", "lowest_energy", "first_idle")
AUTO = "auto"


def check_estimates_name(name: object) -> None:
    """``estimates`` must be a non-empty string (whether the set exists is known at reset)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"estimates must be '{PREDICTED}', '{AUTO}' or the name of an estimate set of the "
            f"instance, got {name!r}"
        )


def resolve_estimates(static: StaticInfo, name: str, auto: str = PREDICTED) -> str:
    """The estimate set ``name`` stands for: ``"auto"`` is ``auto`` if the instance has that
    set and ``"predicted"`` otherwise; any other name is itself (checked by
    :meth:`StaticInfo.estimates`)."""
    if name == AUTO:
        return auto if auto == PREDICTED or auto in static.op_estimates else PREDICTED
    return name


def fastest_estimates(matrix: IntArray) -> list[int]:
    """Per op, its smallest non-negative entry: the estimate on its fastest eligible accelerator
    (-1 marks an ineligible accelerator; an op eligible nowhere does not occur)."""
    if matrix.size == 0:
        return []
    masked = np.where(matrix < 0, np.iinfo(np.int64).max, matrix)
    return [int(v) for v in masked.min(axis=1)]


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
    duration over the accelerators, from the estimate set ``estimates``: ``"predicted"`` is
    ``op_predicted``). ``remaining[job]`` sums it over the job's unfinished ops of its variant;
    ``total[job]`` over all of them (the isolated estimate). Update with :meth:`observe` at
    every decision.
    """

    static: StaticInfo
    per_op: list[int] = field(default_factory=list)
    remaining: dict[int, int] = field(default_factory=dict)
    total: dict[int, int] = field(default_factory=dict)
    estimates: str = PREDICTED

    def __post_init__(self) -> None:
        if not self.per_op:
            self.per_op = fastest_estimates(self.static.estimates(self.estimates))

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

"""Online schedulers against the offline oracle on one instance: :func:`compare`.

Every scheduler replays the same instance; the oracle (:func:`rtmm_opt.oracle.solve`) solves it
for the same objective, by default warm-started with the schedulers' schedules. Each scheduler's
row then says how far it is from what was possible.

**Gaps.** For a scheduler's objective value h, the oracle's incumbent o and its proven bound b
(o ≥ OPT ≥ b):

* ``excess = h − o`` (the scheduler is at least this much worse than optimal) and
  ``excess_to_bound = h − b`` (at most this much);
* ``gap = (h − o) / |h|`` and ``gap_to_bound = (h − b) / |h|``: the share of the scheduler's cost
  that the oracle avoids, or that no schedule can avoid less than. Both are 0 when h = 0, and
  they stay defined when the optimum is 0 (e.g. no misses).

The gaps measure the **objective** (:attr:`Comparison.objective_label` says which: a weighted
miss count is not a miss rate), not any one metric; the metrics sit beside them.

The comparison is of the clean problem: an instance that reproduces another simulator's quirks
(``settings.compat``, e.g. ``dysta`` from the Dysta importer) is solved, and its schedulers
replayed, with ``compat: none`` (:attr:`Comparison.compat_stripped` names the mode removed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtmm_opt.engine import Policy, replay
from rtmm_opt.instance.instance import Instance
from rtmm_opt.metrics import Metrics, compute_metrics
from rtmm_opt.oracle import (
    Objective,
    OracleResult,
    SolverLimits,
    evaluate,
    parse_objective,
    solve,
)
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedulers import make_scheduler

DEFAULT_SCHEDULERS = ("edf", "llf", "prema", "dysta", "dream")

UNITS = {
    "misses": "jobs",
    "tardiness": "time units",
    "energy": "nJ",
    "makespan": "time units",
    "antt": "ratio",
    "accuracy_loss": "accuracy",
    "uxcost": "mJ",
}


def relative_gap(value: float, reference: float | None) -> float | None:
    """``(value − reference) / |value|``; 0 when value is 0; None without a finite reference."""
    if reference is None or math.isinf(reference):
        return None
    if value == 0:
        return 0.0
    return (value - reference) / abs(value)


def objective_label(instance: Instance, objective: Objective) -> str:
    """What the objective's numbers count, in words, e.g. ``missed jobs`` or ``weighted misses
    (Σ job weight of dropped or late jobs)``. The gap columns measure this quantity."""
    if len(objective.terms) > 1:
        return f"weighted sum {objective}"
    name, weight = objective.terms[0]
    scale = "" if weight == 1 else f"{weight:g} × "
    if name == "misses":
        weights = instance.job_weight
        if weights.size == 0 or bool(np.all(weights == 1)):
            return f"{scale}missed jobs (dropped or late)"
        return f"{scale}weighted misses (Σ job weight of dropped or late jobs)"
    unit = UNITS[name]
    if unit == "time units":
        unit = f"time units of {instance.time_unit_ns} ns"
    return f"{scale}{name} ({unit})"


@dataclass(frozen=True)
class SchedulerResult:
    """One scheduler on the instance: its schedule, objective value, gaps and metrics."""

    name: str
    objective: float
    gap: float | None
    gap_to_bound: float | None
    excess: float | None
    excess_to_bound: float | None
    metrics: Metrics
    schedule: Schedule

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "objective": self.objective,
            "gap": self.gap,
            "gap_to_bound": self.gap_to_bound,
            "excess": self.excess,
            "excess_to_bound": self.excess_to_bound,
            "metrics": self.metrics.to_dict(),
        }


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: the oracle's result and one row per scheduler."""

    instance: Instance
    objective: Objective
    objective_label: str
    oracle: OracleResult
    schedulers: tuple[SchedulerResult, ...]
    compat_stripped: str | None = None
    hinted: bool = True

    def row(self, name: str) -> SchedulerResult:
        """The row of the scheduler called ``name``."""
        for row in self.schedulers:
            if row.name == name:
                return row
        raise KeyError(name)

    @property
    def worst(self) -> SchedulerResult | None:
        """The scheduler with the largest objective (the first of equals), or None."""
        return max(self.schedulers, key=lambda row: row.objective, default=None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``rtmm compare --json``."""
        return {
            "instance": self.instance.name,
            "instance_hash": self.instance.content_hash,
            "objective_spec": str(self.objective),
            "objective_label": self.objective_label,
            "oracle": self.oracle.to_dict(),
            "schedulers": [row.to_dict() for row in self.schedulers],
            "hinted": self.hinted,
            "compat_stripped": self.compat_stripped,
        }


def clean_problem(instance: Instance) -> tuple[Instance, str | None]:
    """The instance without its compatibility mode, and the mode removed (None if none).

    The oracle solves the project's own semantics; a peer simulator's quirks (e.g. Dysta's clock
    rewinds) are not part of the problem, so the schedulers it is compared with replay the same
    clean instance."""
    compat = instance.settings.compat
    if compat == "none":
        return instance, None
    return instance.with_settings(compat="none"), compat


def compare(
    instance: Instance,
    schedulers: Sequence[str | Policy] = DEFAULT_SCHEDULERS,
    objective: str | Objective = "misses",
    *,
    params: Mapping[str, Any] | None = None,
    time_limit: float | None = 60.0,
    workers: int | None = None,
    seed: int = 0,
    hints: bool = True,
    limits: SolverLimits | None = None,
) -> Comparison:
    """Replay every scheduler on ``instance``, solve it with the oracle, and report the gaps.

    ``schedulers`` are registered names (made with ``params``, the parameters every one of them
    takes; see :func:`rtmm_opt.schedulers.make_scheduler`) or :class:`Policy` objects.
    ``hints=True`` gives the schedulers' schedules to the oracle as warm starts, so its
    incumbent is never worse than any of them; ``hints=False`` solves from scratch, which makes
    "oracle ≤ every scheduler" a property of the search rather than of the warm start.
    ``time_limit``, ``workers`` and ``seed`` go to the solver; ``limits`` gives them (and
    deterministic mode) at once instead.
    """
    spec = parse_objective(objective) if isinstance(objective, str) else objective
    instance, stripped = clean_problem(instance)
    spec.check(instance)
    policies = [
        make_scheduler(entry, dict(params or {})) if isinstance(entry, str) else entry
        for entry in schedulers
    ]
    names = [
        entry if isinstance(entry, str) else (policy.name or type(policy).__name__)
        for entry, policy in zip(schedulers, policies, strict=True)
    ]
    schedules = [replay(instance, policy) for policy in policies]
    if limits is None:
        limits = SolverLimits(time_limit=time_limit, workers=workers, seed=seed)
    result = solve(instance, spec, hints=schedules if hints else (), limits=limits)
    rows = []
    for name, schedule in zip(names, schedules, strict=True):
        value = evaluate(instance, schedule, spec)
        rows.append(
            SchedulerResult(
                name=name,
                objective=value,
                gap=relative_gap(value, result.objective),
                gap_to_bound=relative_gap(value, result.bound),
                excess=None if result.objective is None else value - result.objective,
                excess_to_bound=None if result.bound is None else value - result.bound,
                metrics=compute_metrics(instance, schedule),
                schedule=schedule,
            )
        )
    return Comparison(
        instance=instance,
        objective=spec,
        objective_label=objective_label(instance, spec),
        oracle=result,
        schedulers=tuple(rows),
        compat_stripped=stripped,
        hinted=hints,
    )

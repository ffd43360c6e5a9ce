"""The objective as the solver sees it: integer linear terms over an :class:`OracleModel`.

:func:`minimize` gives a model its objective. Each term of the :class:`Objective` becomes an
:class:`ObjectiveTerm` (:func:`objective_terms`); :func:`integer_objective` scales and sums them
into one integer expression whose value / scale is at most the objective (coefficients are
rounded down), so the solver's bound / scale is a bound on the objective
(docs/oracle.md, "The model").

The per-job costs of the sums that the decomposition bound covers (:data:`DECOMPOSABLE`) are
made once per model by :func:`job_expressions`; the relaxation's cuts reuse them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtmm_opt.instance.instance import Instance
from rtmm_opt.io.limits import INT_LIMIT  # |coefficient × bound| summed: CP-SAT refuses ~2^62
from rtmm_opt.oracle.model import OracleModel
from rtmm_opt.oracle.objectives import Objective

DECOMPOSABLE = frozenset({"misses", "tardiness", "energy"})  # sums of per-job costs


def decomposable(objective: Objective) -> bool:
    """Whether ``objective`` is a weighted sum of per-job costs (:data:`DECOMPOSABLE`)."""
    return not objective.is_uxcost and set(objective.names) <= DECOMPOSABLE


def shortening_cannot_raise(instance: Instance, objective: Objective) -> bool:
    """Whether shortening ops (same starts, earlier ends) never raises ``objective`` here.

    Then the model without ``contention`` is a relaxation of every schedule the engine can
    produce under contention: sharing the DRAM only lengthens ops, and the same schedule with
    nominal durations is a schedule of the contention-free model that costs no more
    (docs/oracle.md, "Contention"). Every term is non-decreasing in the completion times, or
    independent of them, except ANTT with cascades: a dependent's turnaround runs from its
    upstream's completion, so an earlier upstream can lengthen it."""
    return "antt" not in objective.names or len(instance.job_upstream) == 0


@dataclass(frozen=True)
class ObjectiveTerm:
    """One weighted term of the objective, as the solver sees it.

    ``build(multiplier)`` is an integer linear expression ≤ multiplier × the term's value (its
    coefficients are rounded down); ``max_value`` bounds the term over the model's domains (for
    the int64 budget); ``exact`` says that ``build(m)`` equals m × value for integer m.
    """

    name: str
    weight: float
    max_value: float
    build: Callable[[float], Any]
    exact: bool


@dataclass(frozen=True)
class IntegerObjective:
    """What the solver minimises: ``expression`` / ``scale`` ≤ the objective, ≈ it."""

    terms: tuple[ObjectiveTerm, ...]
    expression: Any
    scale: float


def minimize(
    om: OracleModel, objective: Objective, *, reload_energy: bool = True
) -> IntegerObjective:
    """Set ``objective`` (a weighted sum, not ``uxcost``) as the objective of ``om``.

    ``reload_energy=False`` leaves the context-reload energy out (the relaxation's groups)."""
    terms = objective_terms(om, objective, reload_energy=reload_energy)
    expression, scale = integer_objective(terms)
    om.model.minimize(expression)
    return IntegerObjective(tuple(terms), expression, scale)


def job_expressions(om: OracleModel, name: str) -> dict[int, Any]:
    """Per job of the model: its integer cost for a per-job term (``misses``, ``tardiness``,
    ``energy`` without context reloads). Made once per model and term, then reused."""
    if name in om.job_costs:
        return om.job_costs[name]
    model, instance, v = om.model, om.instance, om.vars
    out: dict[int, Any] = {}
    if name == "misses":
        for job, (weight, missed) in zip(om.jobs, om.miss_terms(), strict=True):
            out[job] = weight * missed
    elif name == "tardiness":
        for job in om.jobs:
            deadline = int(instance.job_deadline[job])
            earliest, latest = om.finish_domain[job]
            # A job that always completes is at least as tardy as its earliest finish allows.
            least = max(0, earliest - deadline) if om.always_completes(job) else 0
            t = model.new_int_var(least, max(least, latest - deadline), f"tardiness[{job}]")
            model.add(t >= v.finish[job] - deadline)
            out[job] = t
    elif name == "energy":
        for job in om.jobs:
            out[job] = sum(
                int(instance.op_energy[op, acc]) * literal
                for k in range(len(om.required[job]))
                for op in om.required[job][k]
                for acc, literal in v.runs[op].items()
            )
    else:
        raise ValueError(f"{name} is not a per-job term")
    om.job_costs[name] = out
    return out


def _expression_max(om: OracleModel, name: str) -> float:
    instance = om.instance
    jobs = om.jobs
    if name == "misses":
        return float(instance.job_weight[jobs].sum())
    if name == "tardiness":
        return float(sum(max(0, om.horizon - int(instance.job_deadline[j])) for j in jobs))
    if name == "energy":
        ops = [op for j in jobs for ops in om.required[j] for op in ops]
        total = float(np.maximum(instance.op_energy[ops], 0).max(axis=1).sum()) if ops else 0.0
        if om.vars.arcs and instance.context_reload_energy.size:
            total += float(instance.context_reload_energy.max()) * len(ops)
        return total
    raise ValueError(name)


def objective_terms(
    om: OracleModel, objective: Objective, *, reload_energy: bool = True
) -> list[ObjectiveTerm]:
    """The terms of ``objective`` over the model's jobs."""
    model, instance, v = om.model, om.instance, om.vars
    terms: list[ObjectiveTerm] = []
    for name, weight in objective.terms:
        if name in DECOMPOSABLE:
            expr: Any = sum(job_expressions(om, name).values())
            if name == "energy" and reload_energy:
                context = instance.op_context
                for acc, op, other, literal in v.arcs:
                    if context[op] != context[other] and om.active[instance.op_job[other]]:
                        expr += int(instance.context_reload_energy[context[other], acc]) * literal
            terms.append(_linear_term(name, weight, expr, _expression_max(om, name)))
        elif name == "makespan":
            first = int(instance.job_release.min(initial=0))
            span = model.new_int_var(first, om.horizon, "makespan_end")
            for job in om.jobs:
                model.add(span >= v.finish[job]).only_enforce_if(v.completed[job])
            if om.frozen_finish:
                model.add(span >= max(om.frozen_finish.values()))
            terms.append(_linear_term(name, weight, span - first, float(om.horizon - first)))
        elif name == "antt":
            terms.append(_antt_term(om, weight))
        elif name == "accuracy_loss":
            terms.append(_accuracy_term(om, weight))
    return terms


def _linear_term(name: str, weight: float, expr: Any, max_value: float) -> ObjectiveTerm:
    return ObjectiveTerm(name, weight, max_value, lambda m: math.floor(m + 1e-9) * expr, exact=True)


def _antt_term(om: OracleModel, weight: float) -> ObjectiveTerm:
    """Σ_completed (C_j − R_j)/T_iso,j / N, with integer weights floor(m/(N·T_iso)) ≤ m/(N·T_iso)
    for a multiplier m."""
    model, instance, v = om.model, om.instance, om.vars
    n_jobs = max(1, instance.n_jobs)
    turnarounds: list[tuple[Any, int]] = []
    for job in om.jobs:
        release = int(instance.job_release[job])
        effective = model.new_int_var(release, om.horizon, f"effective_release[{job}]")
        model.add_max_equality(
            effective, [release, *(v.finish[int(up)] for up in instance.upstream_of(job))]
        )
        for k, chosen in enumerate(v.variant[job]):
            isolated = max(1, instance.isolated_latency(job, k))
            turnaround = model.new_int_var(0, om.horizon, f"turnaround[{job}][{k}]")
            model.add(turnaround >= v.finish[job] - effective).only_enforce_if(chosen)
            turnarounds.append((turnaround, isolated))
    max_value = sum(om.horizon / (n_jobs * isolated) for _, isolated in turnarounds)

    def build(multiplier: float) -> Any:
        return sum(
            math.floor(multiplier / (n_jobs * isolated)) * turnaround
            for turnaround, isolated in turnarounds
        )

    return ObjectiveTerm("antt", weight, max_value, build, exact=False)


def _accuracy_term(om: OracleModel, weight: float) -> ObjectiveTerm:
    """Σ_completed (best accuracy of the task − accuracy of the chosen variant): a variant
    literal is true only for a completed job, so dropped jobs cost nothing here. Coefficients
    ⌊m·loss⌋ ≤ m·loss keep the bound valid."""
    instance, v = om.instance, om.vars
    losses: list[tuple[Any, float]] = []
    for job in om.jobs:
        task = instance.tasks[int(instance.job_task[job])]
        accuracy = [variant.accuracy for variant in task.variants] or [1.0]
        best = max(accuracy)
        for k, chosen in enumerate(v.variant[job]):
            if best - accuracy[k] > 0:
                losses.append((chosen, best - accuracy[k]))

    def build(multiplier: float) -> Any:
        return sum(math.floor(multiplier * loss + 1e-9) * chosen for chosen, loss in losses)

    return ObjectiveTerm(
        "accuracy_loss", weight, sum(loss for _, loss in losses), build, exact=False
    )


def integer_objective(terms: Sequence[ObjectiveTerm]) -> tuple[Any, float]:
    """Σ build_i(w_i·S) and S; the solver objective / S ≤ the objective, ≈ it.

    S is exact (1 / the smallest weight) when every term is an integer expression and the
    weights are integer multiples of the smallest; otherwise 1000 / the smallest weight, so that
    rounding costs at most 0.1 % of a unit. Either way S is capped so that the expression's
    largest value stays below 2^60."""
    weights = [t.weight for t in terms]
    smallest = min(weights)
    ratios = [w / smallest for w in weights]
    exact = all(t.exact for t in terms) and all(abs(r - round(r)) < 1e-9 for r in ratios)
    scale = (1.0 if exact else 1000.0) / smallest
    total = sum(t.weight * t.max_value for t in terms)
    if total > 0:
        budget = INT_LIMIT / total
        if not exact or scale > budget:
            scale = min(scale, budget) if any(t.exact for t in terms) else budget
    expr = sum(t.build(t.weight * scale) for t in terms)
    return expr, scale

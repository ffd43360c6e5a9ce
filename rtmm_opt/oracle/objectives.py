"""Oracle objectives: what they mean, how to read them from a string, how to score a schedule.

An objective is a weighted sum of terms, written like ``misses``, ``tardiness`` or
``misses+0.001*energy``, or it is ``uxcost`` on its own. Every term is scored from an Instance and
a Schedule by :func:`evaluate`, with the metrics module's definitions (docs/design.md §3).
The oracle reports exactly this value for its incumbent, never the solver's internal number.

| term | value for a schedule | unit |
|---|---|---|
| ``misses`` | Σ_j w_j·[j dropped or late] (``job_weight``; 1 unless a scenario sets it) | jobs |
| ``tardiness`` | Σ_completed max(0, C_j − d_j) | time units |
| ``energy`` | energy of the executed ops, plus context reloads | nJ |
| ``makespan`` | last completion − first release | time units |
| ``antt`` | Σ_completed ((C_j − R_j) / T_iso,j) / N, over all N jobs | ratio |
| ``accuracy_loss`` | Σ_completed (a*_m − a_j), a*_m the task's best variant accuracy | accuracy |
| ``uxcost`` | energy_mJ × miss_rate (docs/design.md §3, DREAM's EDP-like cost) | mJ |

``accuracy_loss`` prices variant selection: without it the oracle is free to run every job in
its cheapest variant (e.g. a half-width model), which a scheduler that keeps accuracy, such as
DREAM, does not do. ``misses+0.5*accuracy_loss`` trades one miss for two full units of
accuracy. It is 0 on instances without variants.

``antt`` as an objective divides by all jobs, so it equals the ANTT metric (a mean over completed
jobs) whenever nothing is dropped, and it stays linear when drops are allowed.

Dropping a job lowers tardiness, energy, makespan and ANTT. An objective without ``misses``
would therefore be "won" by dropping everything. Those objectives need ``drops: never``, or
``misses`` in the sum to price the drops. ``uxcost`` needs ``drops: never`` too, because
dropping every job makes it 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from rtmm_opt.errors import InputError
from rtmm_opt.instance.instance import Instance
from rtmm_opt.io.strict import suggest
from rtmm_opt.metrics.metrics import completion_times, compute_metrics, job_energy_nj
from rtmm_opt.schedule.schedule import JobStatus, Schedule

TERMS = ("misses", "tardiness", "energy", "makespan", "antt", "accuracy_loss")
NAMES = (*TERMS, "uxcost")
_TERM = re.compile(r"\s*(?:([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*\*\s*)?([a-z_]+)\s*")


@dataclass(frozen=True)
class Objective:
    """A weighted sum of terms (``terms``: name → weight), or ``uxcost`` alone."""

    terms: tuple[tuple[str, float], ...]

    @property
    def is_uxcost(self) -> bool:
        return self.terms == (("uxcost", 1.0),)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.terms)

    def __str__(self) -> str:
        return "+".join(
            name if weight == 1 else f"{weight:g}*{name}" for name, weight in self.terms
        )

    def check(self, instance: Instance) -> None:
        """Refuse objectives that dropping every job would win (see the module docstring)."""
        if instance.settings.drops != "allowed":
            return
        if self.is_uxcost:
            raise InputError(
                "uxcost needs --drops never: with drops allowed, dropping every job gives "
                "energy 0 and uxcost 0",
                field="objective",
            )
        if "misses" not in self.names:
            raise InputError(
                f"objective '{self}' rewards dropping jobs; use --drops never, or price the drops "
                f"by adding misses (e.g. misses+{self})",
                field="objective",
            )


def parse_objective(text: str) -> Objective:
    """``misses``, ``0.5*tardiness+misses``, ``uxcost``, ... (see the module docstring)."""
    terms: dict[str, float] = {}
    for part in str(text).split("+"):
        match = _TERM.fullmatch(part)
        if not match:
            raise InputError(
                f"cannot read '{part.strip()}' in objective '{text}'; expected [WEIGHT*]NAME, "
                f"NAME one of {', '.join(NAMES)}",
                field="objective",
            )
        weight = float(match.group(1)) if match.group(1) else 1.0
        name = match.group(2)
        if name not in NAMES:
            raise InputError(
                f"unknown objective '{name}'{suggest(name, NAMES)}; valid: {', '.join(NAMES)}",
                field="objective",
            )
        if not (0 < weight < 1e12) or not math.isfinite(weight):
            raise InputError(f"weight of {name} must be positive, got {weight}", field="objective")
        if name in terms:
            raise InputError(f"'{name}' appears twice in objective '{text}'", field="objective")
        terms[name] = weight
    if "uxcost" in terms and len(terms) > 1:
        raise InputError(
            "uxcost is an objective on its own, not a term of a sum", field="objective"
        )
    return Objective(tuple(terms.items()))


def term_values(instance: Instance, schedule: Schedule) -> dict[str, float]:
    """Every term's value for a schedule (the definitions in the module docstring)."""
    metrics = compute_metrics(instance, schedule)
    completed = schedule.job_status == JobStatus.COMPLETED
    completion = completion_times(instance, schedule)
    late = completed & (completion > instance.job_deadline)
    missed = ~completed | late
    antt_sum = metrics.antt * metrics.completed  # Σ over completed jobs of (C − R) / T_iso
    return {
        "misses": float(np.sum(instance.job_weight[missed])),
        "tardiness": float(metrics.tardiness),
        "energy": float(np.sum(job_energy_nj(instance, schedule))),
        "makespan": float(metrics.makespan),
        "antt": antt_sum / max(1, instance.n_jobs),
        "accuracy_loss": metrics.accuracy_loss * metrics.completed,  # Σ over completed jobs
        "uxcost": metrics.uxcost,
    }


def evaluate(instance: Instance, schedule: Schedule, objective: Objective) -> float:
    """The objective's value for a schedule: Σ weight × term (see :func:`term_values`)."""
    values = term_values(instance, schedule)
    return math.fsum(weight * values[name] for name, weight in objective.terms)

"""The compiled core: job-picking rules replayed whole in C under compat ``dysta``.

A policy that picks jobs by a fixed formula (PREMA, Planaria, SDRM3, the Dysta key) may
describe itself as a :class:`JobPickRule` (``job_pick_rule()``, called after ``reset``, like
``index_rule()`` of :mod:`rtmm_opt.engine.index`). Under compat ``dysta``
(:mod:`rtmm_opt.engine.dysta_compat`), :func:`~rtmm_opt.engine.loop.replay` then runs the Dysta
loop and the rule's decisions in the extension module ``rtmm_opt.engine.native`` (``native.c``),
which computes what the engine and the policy's ``decide`` compute, operation for operation:
the same schedule, bit for bit, and the same decision count. The policy's ``decide`` is not
called, so its own state (say PREMA's ``tokens``) is not advanced; the schedule is the result.

The core is used only where it describes the replay exactly (:func:`replay_dysta` says None
otherwise, and the policy's ``decide`` runs): every job a chain of one variant with at least
one op and no early exit, durations on the one accelerator not negative, and every integer
that the formulas multiply, divide or turn into a float below 2**52, where Python's
``int / int`` and the division of two doubles round alike.

The pure-Python path is the reference. The core is built by ``pip install`` where a C compiler
is present (``setup.py``; optional: without one the package installs without it), and
``RTMM_PURE_PYTHON=1`` turns it off. ``docs/engine.md`` ("The compiled core") has the figures.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
import weakref
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from rtmm_opt.instance.instance import Instance

RULES = ("prema", "planaria", "sdrm3", "dysta")  # the core's rule numbers are their indices
EXACT = 2**53  # integers below this are exact doubles (the checks keep a factor 2 from it)
PURE_PYTHON_VARIABLE = "RTMM_PURE_PYTHON"
SOURCE = Path(__file__).with_name("native.c")  # the core's source, in a checkout


@dataclass(frozen=True)
class JobPickRule:
    """A job-picking policy's formula, for the compiled core (the module docstring).

    ``rule``: one of :data:`RULES`, the formula of that policy (``dysta``: the key of
    ``dysta``, ``dysta_naive`` and ``dysta_oracle``). Per op: ``per_op``, the estimated work
    (``RemainingWork.per_op``, Dysta's E), or None for the realised durations (a clairvoyant
    rule). Per job: ``priority`` (the task's) and ``deadline``. ``alpha``: SDRM3's weight of
    fairness; ``seconds_per_unit``: Planaria's and Dysta's seconds per time unit; ``beta``:
    Dysta's β; ``sparsity_mean``: per op, the mean sparsity that Dysta's γ divides by, or None
    when γ is off (the realised sparsities are the instance's).
    """

    rule: str
    per_op: Sequence[int] | None
    priority: Sequence[int]
    deadline: Sequence[int]
    alpha: float = 1.0
    seconds_per_unit: float = 1.0
    beta: float = 0.0
    sparsity_mean: Sequence[float] | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")


def compiled() -> ModuleType | None:
    """The extension module, or None if it is not built, is stale, or ``RTMM_PURE_PYTHON`` is
    set (to anything but ``""`` or ``"0"``)."""
    if os.environ.get(PURE_PYTHON_VARIABLE, "") not in ("", "0"):
        return None
    return load()


@functools.cache
def load(source: Path = SOURCE) -> ModuleType | None:
    """The extension module if it imports and was built from ``source`` (checked where the
    source is there: in a checkout, not in a wheel)."""
    try:
        import rtmm_opt.engine.native as native
    except ImportError:
        return None
    if source.is_file():
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        if digest != native.SOURCE:
            warnings.warn(
                f"the compiled core was built from another version of {source}: the engine "
                "runs in pure Python until it is built again (pip install -e .)",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
    return native


class _Inputs:
    """What the core reads of an instance, made once per instance (None fields: the core does
    not describe it)."""

    def __init__(self, instance: Instance) -> None:
        release = instance.job_release.astype(np.int64)
        offsets = instance.job_op_offsets.astype(np.int64)
        duration = instance.op_duration[:, 0].astype(np.int64)
        self.release = release
        self.offsets = offsets
        self.duration = duration
        # the loop's admission order: by release, then index (DystaLoop.arrivals)
        self.arrivals = np.lexsort((np.arange(instance.n_jobs), release)).astype(np.int64)
        self.supported = bool(
            instance.n_accelerators == 1
            and instance.n_jobs > 0
            and (np.diff(offsets) > 0).all()
            and (instance.job_exit_op < 0).all()
            and (duration >= 0).all()
        )
        # the clock stays within [low, high]: it starts at 0 or a release and only op
        # durations move it forward
        low = min(0, int(release.min())) if release.size else 0
        total = float(duration.sum(dtype=np.float64))  # in floats: no int64 wrap-around
        high = max(0, int(release.max())) + int(min(total, 2.0**62)) if release.size else 0
        self.span = high - low  # bounds every waited time
        self.reach = max(abs(low), abs(high))  # bounds every clock reading


_INPUTS: weakref.WeakKeyDictionary[Instance, _Inputs] = weakref.WeakKeyDictionary()


def _inputs(instance: Instance) -> _Inputs:
    inputs = _INPUTS.get(instance)
    if inputs is None:
        inputs = _INPUTS[instance] = _Inputs(instance)
    return inputs


def replay_dysta(
    instance: Instance, rule: JobPickRule, *, chains_only: bool
) -> tuple[array[int], array[int], int, int] | None:
    """The Dysta loop under ``rule`` in the core: per op its start and end, the number of
    decision points and the final clock; None where the core is off or does not describe the
    instance (the caller then steps the policy). ``chains_only``: every job is a chain of one
    variant (the engine knows it)."""
    core = compiled()
    if core is None or not chains_only or instance.settings.compat != "dysta":
        return None
    inputs = _inputs(instance)
    if not inputs.supported:
        return None
    per_op = inputs.duration if rule.per_op is None else np.asarray(rule.per_op, np.int64)
    priority = np.asarray(rule.priority, np.int64)
    deadline = np.asarray(rule.deadline, np.int64)
    if len(per_op) != instance.n_ops or not len(priority) == len(deadline) == instance.n_jobs:
        raise ValueError("JobPickRule: per_op needs a value per op, priority and deadline per job")
    top_priority = int(np.abs(priority).max())
    if (
        (per_op < 0).any()
        or float(per_op.sum(dtype=np.float64)) >= EXACT / 2  # in floats: no int64 wrap-around
        or top_priority * inputs.span >= EXACT / 2
        or int(np.abs(deadline).max()) + inputs.reach >= EXACT / 2
    ):
        return None
    gamma = rule.sparsity_mean is not None
    if gamma:
        sparsity = np.ascontiguousarray(instance.op_sparsity, np.float64)
        sparsity_mean = np.asarray(rule.sparsity_mean, np.float64)
    else:
        sparsity = sparsity_mean = np.zeros(0)
    n_ops = instance.n_ops
    op_start, op_end = array("q", bytes(8 * n_ops)), array("q", bytes(8 * n_ops))
    decisions, clock = core.dysta_job_picks(
        RULES.index(rule.rule), float(rule.alpha), float(rule.seconds_per_unit),
        float(rule.beta), gamma, instance.n_jobs, n_ops, inputs.release, deadline, priority,
        inputs.offsets, inputs.arrivals, inputs.duration, per_op, sparsity, sparsity_mean,
        op_start, op_end,
    )  # fmt: skip
    return op_start, op_end, decisions, clock

"""The Instance: the one solver-agnostic problem that the engine, the oracle and metrics share.

An instance is columnar. Jobs and operations are rows of numpy arrays, and graph edges are
stored CSR-style (``offsets``/``indices``). This keeps 100k-operation traces small and gives the
engine and the oracle direct array access. Time is an integer number of ``time_unit_ns``.
Energy is an integer number of nanojoules. Both are rounded once, when the instance is built
(docs/design.md §2).

Jobs
    ``job_task``, ``job_frame``, ``job_release``, ``job_deadline``, ``job_weight`` (the
    objective weight of missing the job), ``job_exit_op`` (the realised early exit: the job
    completes when this op and its ancestors are done; -1 if none), the upstream jobs that
    must complete before it is released (``job_upstream_offsets``/``job_upstream``, for
    cascaded tasks), and its ops (``job_op_offsets``: the ops of job j are the contiguous
    range ``job_op_offsets[j]:job_op_offsets[j+1]``, in topological order).
Operations
    ``op_segment`` (the segment index inside the model), ``op_variant`` (which model variant
    the op belongs to), ``op_context`` (the weight set it needs, for context-switch costs),
    ``op_duration[o, a]`` (the realised duration on accelerator a, -1 where a is not
    eligible), ``op_predicted`` (what an online scheduler is told before the op has run),
    ``op_energy`` (nJ), ``op_dram_bytes`` (for bandwidth contention), ``op_sparsity``
    (realised, measured when the op runs; NaN if unknown), ``op_sparsity_mean`` (the static
    expectation), and precedence inside the job (``op_pred_offsets``/``op_preds``).
Estimate sets
    ``op_estimates``: optional named alternatives to ``op_predicted`` (same shape, same rules),
    e.g. the Dysta importer's ``"pattern"`` set of pattern-aware averages next to the
    per-architecture averages in ``op_predicted``. Schedulers that read predictions choose one
    with their ``estimates`` parameter (``docs/dysta.md``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.limits import INT_LIMIT, INT_LIMIT_TEXT, check_quantity
from rtmm_opt.io.strict import integer_array

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

FORMAT = "rtmm-instance"
VERSION = 1
DROP_MODES = ("allowed", "never")
# Reproductions of other simulators' quirks (docs/validation.md): "none" is the project's own
# semantics; "xrbench" the XRBench harness's, "dysta" the Dysta simulator's.
COMPAT_MODES = ("none", "xrbench", "dysta")
# Names a scheduler's ``estimates`` parameter gives meanings of its own: ``op_predicted`` itself,
# and "the scheduler's natural choice". No estimate set may take them.
RESERVED_ESTIMATE_NAMES = ("predicted", "auto")
# The time unit is usually a whole number of ns; a fraction (e.g. 0.001 = 1 ps) is allowed for
# reproductions that need sub-ns resolution (the Dysta importer, docs/dysta.md). Below 1 fs,
# int64 times would overflow after hours of simulated time.
MIN_TIME_UNIT_NS = 1e-6


@dataclass(frozen=True)
class Variant:
    """A model variant (e.g. a supernet sub-network) with its own costs and an accuracy value."""

    name: str
    accuracy: float = 1.0


@dataclass(frozen=True)
class TaskInfo:
    """What the instance keeps of a scenario task."""

    name: str
    model: str
    period: int | None = None  # in time units; None for aperiodic (e.g. Poisson) tasks
    priority: int = 1
    depends_on: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = (Variant("default"),)
    # who sends the task's requests (multi-tenant serving); "" means the task's own name
    tenant: str = ""

    def __post_init__(self) -> None:
        if not self.tenant:
            object.__setattr__(self, "tenant", self.name)


@dataclass(frozen=True)
class Settings:
    """Problem settings shared by the engine, the oracle and the validator.

    ``drops``: ``allowed`` lets schedulers and the oracle drop jobs; ``never`` forces every job
    to complete. ``context_switch``: a change of ``op_context`` on an accelerator costs
    ``context_reload_time``/``_energy``. ``contention``: running ops share
    ``dram_bandwidth`` (bytes per time unit) in proportion to their demand. ``compat``: ``none``
    (the project's semantics), or the name of a peer simulator whose quirks the engine, the
    schedulers and the metrics reproduce (``xrbench``, ``dysta``; ``docs/validation.md``); set
    by the importers of those simulators' inputs. The oracle always solves the clean problem.
    """

    drops: str = "allowed"
    context_switch: bool = False
    contention: bool = False
    dram_bandwidth: float = 0.0
    compat: str = "none"

    def __post_init__(self) -> None:
        if self.drops not in DROP_MODES:
            raise InputError(
                f"must be one of {', '.join(DROP_MODES)}, got {excerpt(self.drops)}",
                field="settings.drops",
            )
        if self.compat not in COMPAT_MODES:
            raise InputError(
                f"must be one of {', '.join(COMPAT_MODES)}, got {excerpt(self.compat)}",
                field="settings.compat",
            )
        if self.contention and not (self.dram_bandwidth > 0 and math.isfinite(self.dram_bandwidth)):
            raise InputError(
                "contention needs a positive dram_bandwidth", field="settings.dram_bandwidth"
            )


_JOB_COLUMNS = ("job_task", "job_frame", "job_release", "job_deadline", "job_weight", "job_exit_op")
_OP_VECTORS = ("op_segment", "op_variant", "op_context")
_OP_MATRICES = ("op_duration", "op_predicted", "op_energy", "op_dram_bytes")
_OP_FLOATS = ("op_sparsity", "op_sparsity_mean")
_CSR = ("job_upstream_offsets", "job_upstream", "job_op_offsets", "op_pred_offsets", "op_preds")
_ARRAYS = (
    *_JOB_COLUMNS,
    *_OP_VECTORS,
    *_OP_MATRICES,
    *_OP_FLOATS,
    *_CSR,
    "context_reload_time",
    "context_reload_energy",
)


def _as_int(values: Any, name: str, ndim: int = 1) -> IntArray:
    return integer_array(values, field=name, ndim=ndim)


def _as_float(values: Any, name: str) -> FloatArray:
    """Numbers or null (NaN: unknown); booleans and strings are refused."""
    for k, value in enumerate(values):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InputError(
                f"expected a number or null, got {excerpt(value)}", field=f"{name}[{k}]"
            )
    return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)


def _names(spec: Any, key: str) -> tuple[str, ...]:
    """A list of names (strings) of a file's mapping ``spec`` (a :class:`Fields`)."""
    names = spec.items(key, [])
    for k, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise spec.error(f"{key}[{k}]", f"expected a name, got {excerpt(name)}")
    return tuple(names)


def _metadata(top: Any) -> dict[str, Any]:
    """The free-form ``metadata`` mapping (null means empty); anything else is refused."""
    raw = top.raw("metadata", None)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise top.error("metadata", f"expected a mapping, got {type(raw).__name__}")
    return dict(raw)


def _row_max(matrix: IntArray) -> FloatArray:
    """Per row, the largest eligible (non-negative) entry, as floats (sums cannot wrap)."""
    if matrix.size == 0:
        return np.zeros(len(matrix))
    return np.maximum(matrix, 0).max(axis=1).astype(np.float64)


def _time_unit(value: float) -> float:
    """A whole number of ns as an int (``1.0`` and ``1`` are the same unit and the same hash)."""
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True, eq=False)
class Instance:
    """System + jobs + operations with integer times and energies (see the module docstring)."""

    name: str
    accelerators: tuple[str, ...]
    tasks: tuple[TaskInfo, ...]
    job_task: IntArray
    job_frame: IntArray
    job_release: IntArray
    job_deadline: IntArray
    job_weight: IntArray
    job_exit_op: IntArray
    job_upstream_offsets: IntArray
    job_upstream: IntArray
    job_op_offsets: IntArray
    op_segment: IntArray
    op_variant: IntArray
    op_context: IntArray
    op_duration: IntArray
    op_predicted: IntArray
    op_energy: IntArray
    op_dram_bytes: IntArray
    op_sparsity: FloatArray
    op_sparsity_mean: FloatArray
    op_pred_offsets: IntArray
    op_preds: IntArray
    contexts: tuple[str, ...] = ()
    context_reload_time: IntArray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    context_reload_energy: IntArray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    settings: Settings = Settings()
    time_unit_ns: float = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    op_estimates: Mapping[str, IntArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        estimates = {
            name: _as_int(matrix, f"op_estimates.{name}", ndim=2)
            for name, matrix in dict(self.op_estimates).items()
        }
        object.__setattr__(self, "op_estimates", estimates)
        self._check()
        for name in _ARRAYS:
            getattr(self, name).setflags(write=False)
        for matrix in estimates.values():
            matrix.setflags(write=False)

    # -- sizes ------------------------------------------------------------------------------------
    @property
    def n_jobs(self) -> int:
        return len(self.job_task)

    @property
    def n_ops(self) -> int:
        return len(self.op_segment)

    @property
    def n_accelerators(self) -> int:
        return len(self.accelerators)

    def ops_of(self, job: int) -> range:
        return range(int(self.job_op_offsets[job]), int(self.job_op_offsets[job + 1]))

    def preds_of(self, op: int) -> IntArray:
        return self.op_preds[self.op_pred_offsets[op] : self.op_pred_offsets[op + 1]]

    def upstream_of(self, job: int) -> IntArray:
        return self.job_upstream[
            self.job_upstream_offsets[job] : self.job_upstream_offsets[job + 1]
        ]

    def eligible(self, op: int) -> IntArray:
        return np.flatnonzero(self.op_duration[op] >= 0)

    @cached_property
    def op_job(self) -> IntArray:
        """The job of every op (derived from ``job_op_offsets``)."""
        counts = np.diff(self.job_op_offsets)
        job_of = np.repeat(np.arange(self.n_jobs, dtype=np.int64), counts)
        job_of.setflags(write=False)
        return job_of

    @cached_property
    def job_downstream(self) -> tuple[tuple[int, ...], ...]:
        """For every job, the jobs released by its completion (inverse of ``job_upstream``)."""
        down: list[list[int]] = [[] for _ in range(self.n_jobs)]
        for job in range(self.n_jobs):
            for up in self.upstream_of(job):
                down[int(up)].append(job)
        return tuple(tuple(d) for d in down)

    def required_ops(self, job: int, variant: int = 0) -> list[int]:
        """The ops that must run for ``job`` to complete with ``variant``.

        All ops of that variant, or, with a realised early exit inside it, the ops of the variant
        up to and including the exit op. Ops are in topological order, so this is the prefix that
        an exit after that point leaves, whatever the granularity (the builder cuts the exit op's
        own duration at the exit layer the same way).
        """
        ops = [o for o in self.ops_of(job) if self.op_variant[o] == variant]
        exit_op = int(self.job_exit_op[job])
        if exit_op < 0 or self.op_variant[exit_op] != variant:
            return ops
        return [o for o in ops if o <= exit_op]

    def isolated_latency(self, job: int, variant: int = 0) -> int:
        """The job's best possible latency alone on the system.

        The critical path of its required ops, each on its fastest eligible accelerator (realised
        durations; ops may migrate between accelerators at op boundaries). For chains this is
        exact. For DAGs it is exact whenever the system has enough accelerators for the DAG's
        width, and a lower bound otherwise.
        """
        finish: dict[int, int] = {}
        for op in self.required_ops(job, variant):
            row = self.op_duration[op]
            fastest = int(row[row >= 0].min())
            start = max((finish[int(p)] for p in self.preds_of(op) if int(p) in finish), default=0)
            finish[op] = start + fastest
        return max(finish.values(), default=0)

    @cached_property
    def job_isolated_latency(self) -> IntArray:
        """:meth:`isolated_latency` of every job with its first variant."""
        values = np.array([self.isolated_latency(j) for j in range(self.n_jobs)], dtype=np.int64)
        values.setflags(write=False)
        return values

    # -- checks -----------------------------------------------------------------------------------
    def _check(self) -> None:
        n_jobs, n_ops, n_acc = len(self.job_task), len(self.op_segment), len(self.accelerators)
        if n_acc == 0:
            raise InputError("an instance needs at least one accelerator", field="accelerators")
        for what, names in (("accelerators", self.accelerators), ("contexts", self.contexts)):
            for k, name in enumerate(names):
                if not isinstance(name, str) or not name.strip():
                    raise InputError(
                        f"expected a non-empty name, got {excerpt(name)}", field=f"{what}[{k}]"
                    )
                if names.index(name) != k:
                    raise InputError(
                        f"duplicate name {excerpt(name)} (also {what}[{names.index(name)}])",
                        field=f"{what}[{k}]",
                    )
        task_names = [task.name for task in self.tasks]
        for k, name in enumerate(task_names):
            if task_names.index(name) != k:
                raise InputError(
                    f"duplicate task name {excerpt(name)} (also tasks[{task_names.index(name)}]); "
                    "per-task metrics are keyed by name",
                    field=f"tasks[{k}].name",
                )
        for name in _JOB_COLUMNS:
            if len(getattr(self, name)) != n_jobs:
                raise InputError(
                    f"has {len(getattr(self, name))} entries for {n_jobs} jobs", field=name
                )
        for name in (*_OP_VECTORS, *_OP_FLOATS):
            if len(getattr(self, name)) != n_ops:
                raise InputError(
                    f"has {len(getattr(self, name))} entries for {n_ops} ops", field=name
                )
        for name in _OP_MATRICES:
            if getattr(self, name).shape != (n_ops, n_acc):
                raise InputError(
                    f"has shape {getattr(self, name).shape}, expected ({n_ops}, {n_acc})",
                    field=name,
                )
        for offsets_name, size, count in (
            ("job_upstream_offsets", n_jobs, len(self.job_upstream)),
            ("job_op_offsets", n_jobs, n_ops),
            ("op_pred_offsets", n_ops, len(self.op_preds)),
        ):
            offsets = getattr(self, offsets_name)
            if (
                len(offsets) != size + 1
                or offsets[0] != 0
                or offsets[-1] != count
                or np.any(np.diff(offsets) < 0)
            ):
                raise InputError(
                    f"must be {size + 1} non-decreasing offsets from 0 to {count}",
                    field=offsets_name,
                )
        if n_jobs and (self.job_task.min() < 0 or self.job_task.max() >= len(self.tasks)):
            raise InputError("names a task that does not exist", field="job_task")
        if np.any(self.job_release < 0):
            raise InputError("releases must be >= 0", field="job_release")
        if np.any(self.job_deadline <= self.job_release):
            bad = int(np.flatnonzero(self.job_deadline <= self.job_release)[0])
            raise InputError(f"job {bad}: deadline must be after release", field="job_deadline")
        if np.any(self.job_weight < 0):
            raise InputError("weights must be >= 0", field="job_weight")
        if np.any(np.diff(self.job_op_offsets) == 0):
            bad = int(np.flatnonzero(np.diff(self.job_op_offsets) == 0)[0])
            raise InputError(f"job {bad} has no operations", field="job_op_offsets")
        for job in range(n_jobs):
            for up in self.upstream_of(job).tolist():
                if not 0 <= up < job:
                    raise InputError(
                        f"job {job}: upstream job {int(up)} must come earlier in the job list",
                        field="job_upstream",
                    )
        op_job = self.op_job
        for op in range(n_ops):
            for pred in self.preds_of(op):
                if not (self.job_op_offsets[op_job[op]] <= pred < op):
                    raise InputError(
                        f"op {op}: predecessor {int(pred)} must be an earlier op of the same job",
                        field="op_preds",
                    )
        exits = self.job_exit_op
        for job in np.flatnonzero(exits >= 0).tolist():
            if exits[job] >= n_ops or op_job[exits[job]] != job:
                raise InputError(
                    f"job {int(job)}: exit op is not one of its ops", field="job_exit_op"
                )
        if np.any(self.op_duration < -1) or np.any(self.op_duration == 0):
            raise InputError(
                "durations must be >= 1 time unit, or -1 for ineligible", field="op_duration"
            )
        if np.any((self.op_duration >= 0).sum(axis=1) == 0):
            bad = int(np.flatnonzero((self.op_duration >= 0).sum(axis=1) == 0)[0])
            raise InputError(f"op {bad} has no eligible accelerator", field="op_duration")
        eligible = self.op_duration >= 0
        if np.any(eligible != (self.op_predicted >= 0)) or np.any(self.op_predicted == 0):
            raise InputError(
                "predicted durations must be >= 1 exactly where op_duration is eligible",
                field="op_predicted",
            )
        for name, matrix in self.op_estimates.items():
            where = f"op_estimates.{name}"
            if not isinstance(name, str) or not name.strip() or name in RESERVED_ESTIMATE_NAMES:
                raise InputError(
                    f"an estimate set needs a non-empty name other than "
                    f"{' and '.join(RESERVED_ESTIMATE_NAMES)}, got {excerpt(name)}",
                    field="op_estimates",
                )
            if matrix.shape != (n_ops, n_acc):
                raise InputError(
                    f"has shape {matrix.shape}, expected ({n_ops}, {n_acc})", field=where
                )
            if np.any(eligible != (matrix >= 0)) or np.any(matrix == 0):
                raise InputError(
                    "estimated durations must be >= 1 exactly where op_duration is eligible",
                    field=where,
                )
        if np.any(self.op_energy[eligible] < 0) or np.any(self.op_dram_bytes[eligible] < 0):
            raise InputError("energies and DRAM bytes must be >= 0", field="op_energy")
        for name in _OP_FLOATS:
            values = getattr(self, name)
            outside = ~np.isnan(values) & ~((values >= 0) & (values <= 1))
            if np.any(outside):
                bad = int(np.flatnonzero(outside)[0])
                raise InputError(
                    f"op {bad}: a sparsity is a fraction in [0, 1] (or null), got "
                    f"{excerpt(float(values[bad]))}",
                    field=name,
                )
        n_variants = (
            np.array([len(self.tasks[t].variants) for t in self.job_task[op_job]], dtype=np.int64)
            if n_ops
            else np.zeros(0, np.int64)
        )
        if np.any(self.op_variant < 0) or np.any(self.op_variant >= n_variants):
            raise InputError("names a variant its task does not have", field="op_variant")
        n_ctx = len(self.contexts)
        if n_ops and (self.op_context.min() < 0 or (n_ctx and self.op_context.max() >= n_ctx)):
            raise InputError("names a context that does not exist", field="op_context")
        if self.settings.context_switch and n_ops and self.op_context.max() >= n_ctx:
            raise InputError(
                f"context switches need a context for every op_context ({n_ctx} declared)",
                field="contexts",
            )
        pred_of = np.repeat(np.arange(n_ops, dtype=np.int64), np.diff(self.op_pred_offsets))
        if np.any(self.op_variant[self.op_preds] != self.op_variant[pred_of]):
            bad = int(
                pred_of[
                    np.flatnonzero(self.op_variant[self.op_preds] != self.op_variant[pred_of])[0]
                ]
            )
            raise InputError(
                f"op {bad}: a predecessor belongs to another variant", field="op_preds"
            )
        if n_ops:
            variants_per_job = np.array([len(t.variants) for t in self.tasks], np.int64)[
                self.job_task
            ]
            present = np.zeros((n_jobs, int(variants_per_job.max())), dtype=bool)
            present[op_job, self.op_variant] = True
            missing = present.sum(axis=1) < variants_per_job
            if np.any(missing):
                bad = int(np.flatnonzero(missing)[0])
                raise InputError(
                    f"job {bad} has no ops for one of its task's variants", field="op_variant"
                )
        if self.settings.context_switch:
            for name in ("context_reload_time", "context_reload_energy"):
                if getattr(self, name).shape != (n_ctx, n_acc) or np.any(getattr(self, name) < 0):
                    raise InputError(f"must be a non-negative ({n_ctx}, {n_acc}) array", field=name)
        unit = self.time_unit_ns
        if (
            isinstance(unit, bool)
            or not isinstance(unit, int | float)
            or not (math.isfinite(unit) and unit >= MIN_TIME_UNIT_NS)
        ):
            raise InputError(
                f"must be a number of ns >= {MIN_TIME_UNIT_NS:g}, got {excerpt(unit)}",
                field="time_unit_ns",
            )
        self._check_ranges()

    def _check_ranges(self) -> None:
        """Every integer quantity, and every sum a schedule or a metric can make of them, stays
        at or below INT_LIMIT (``rtmm_opt.io.limits``), so int64 and CP-SAT never wrap."""
        for name in ("job_release", "job_deadline", "job_weight", *_OP_MATRICES):
            values = getattr(self, name)
            if values.size and values.max() > INT_LIMIT:
                bad = np.unravel_index(int(values.argmax()), values.shape)
                where = "op" if name.startswith("op_") else "job"
                raise InputError(
                    f"{where} {int(bad[0])}: {int(values.max())} is above the limit "
                    f"{INT_LIMIT_TEXT} of integer quantities",
                    field=name,
                )
        for name, matrix in self.op_estimates.items():
            if matrix.size and matrix.max() > INT_LIMIT:
                raise InputError(
                    f"{int(matrix.max())} is above the limit {INT_LIMIT_TEXT}",
                    field=f"op_estimates.{name}",
                )
        for name in ("context_reload_time", "context_reload_energy"):
            values = getattr(self, name)
            if values.size and values.max() > INT_LIMIT:
                raise InputError(
                    f"{int(values.max())} is above the limit {INT_LIMIT_TEXT}", field=name
                )
        # Sums: a schedule without idle time ends by the latest release plus every op's longest
        # duration (and a reload before each op); the energy and DRAM traffic of any schedule
        # are at most every op's largest figure (and a reload each).
        reloads = self.settings.context_switch and self.n_ops and len(self.contexts)
        reload_time = reload_energy = 0.0
        if reloads:
            reload_time = float(_row_max(self.context_reload_time)[self.op_context].sum())
            reload_energy = float(_row_max(self.context_reload_energy)[self.op_context].sum())
        latest = float(max(self.job_deadline.max(initial=0), self.job_release.max(initial=0)))
        durations = {"op_duration": self.op_duration, "op_predicted": self.op_predicted}
        durations.update((f"op_estimates.{n}", m) for n, m in self.op_estimates.items())
        for name, matrix in durations.items():
            check_quantity(
                latest + float(_row_max(matrix).sum()) + reload_time,
                "the latest deadline plus every op's longest duration",
                field=name,
                advice="use a coarser time unit, or fewer or shorter jobs",
            )
        check_quantity(
            float(_row_max(self.op_energy).sum()) + reload_energy,
            "the energy of every op on its most costly accelerator, in nJ,",
            field="op_energy",
        )
        check_quantity(
            float(_row_max(self.op_dram_bytes).sum()),
            "the DRAM bytes of every op on its most costly accelerator",
            field="op_dram_bytes",
        )

    # -- serialisation ----------------------------------------------------------------------------
    def to_dict(self, *, arrays: bool = True) -> dict[str, Any]:
        """The JSON form (``format: rtmm-instance``); ``arrays=False`` leaves out the job and op
        arrays (and the context reload matrices), for :attr:`content_hash`."""

        def floats(array: FloatArray) -> list[float | None]:
            return [None if math.isnan(v) else float(v) for v in array.tolist()]

        if not arrays:
            return {
                "format": FORMAT, "version": VERSION, "name": self.name,
                "time_unit_ns": self.time_unit_ns, "accelerators": list(self.accelerators),
                "settings": self._settings_dict(), "tasks": self._tasks_list(),
                "contexts": list(self.contexts), "metadata": self.metadata,
            }  # fmt: skip
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "time_unit_ns": self.time_unit_ns,
            "accelerators": list(self.accelerators),
            "settings": self._settings_dict(),
            "tasks": self._tasks_list(),
            "contexts": list(self.contexts),
            "context_reload_time": self.context_reload_time.tolist(),
            "context_reload_energy": self.context_reload_energy.tolist(),
            "jobs": {
                name: getattr(self, name).tolist()
                for name in (
                    *_JOB_COLUMNS,
                    "job_upstream_offsets",
                    "job_upstream",
                    "job_op_offsets",
                )
            },
            "ops": {
                **{name: getattr(self, name).tolist() for name in (*_OP_VECTORS, *_OP_MATRICES)},
                **{name: floats(getattr(self, name)) for name in _OP_FLOATS},
                "op_pred_offsets": self.op_pred_offsets.tolist(),
                "op_preds": self.op_preds.tolist(),
                # only when present, so that instances without estimate sets keep their hash
                **(
                    {
                        "op_estimates": {
                            name: matrix.tolist() for name, matrix in self.op_estimates.items()
                        }
                    }
                    if self.op_estimates
                    else {}
                ),
            },
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Any, *, file: str | Path | None = None) -> Instance:
        from rtmm_opt.io.strict import Fields

        try:
            top = Fields(data, file=file)
            fmt = top.text("format")
            if fmt != FORMAT:
                raise top.error("format", f"expected '{FORMAT}', got {excerpt(fmt)}")
            version = top.integer("version")
            if version != VERSION:
                raise top.error("version", f"unsupported version {version}; this reads {VERSION}")
            tasks = []
            for i, raw_task in enumerate(top.items("tasks")):
                t = top.child(raw_task, f"tasks[{i}]")
                variants = []
                for k, raw_variant in enumerate(t.items("variants", [{"name": "default"}])):
                    v = t.child(raw_variant, f"tasks[{i}].variants[{k}]")
                    variants.append(Variant(v.text("name"), v.number("accuracy", 1.0)))
                    v.done()
                period = t.raw("period", None)
                tasks.append(
                    TaskInfo(
                        name=t.text("name"),
                        model=t.text("model"),
                        period=None if period is None else t.integer("period", positive=True),
                        priority=t.integer("priority", 1),
                        depends_on=_names(t, "depends_on"),
                        variants=tuple(variants),
                        tenant=t.text("tenant", ""),
                    )
                )
                t.done()
            settings_fields = top.mapping("settings", {})
            assert settings_fields is not None
            settings = Settings(
                drops=settings_fields.text("drops", "allowed", choices=DROP_MODES),
                context_switch=settings_fields.flag("context_switch", False),
                contention=settings_fields.flag("contention", False),
                dram_bandwidth=float(
                    settings_fields.number("dram_bandwidth", 0.0, non_negative=True)
                ),
                compat=settings_fields.text("compat", "none", choices=COMPAT_MODES),
            )
            settings_fields.done()
            jobs = top.mapping("jobs")
            ops = top.mapping("ops")
            assert jobs is not None and ops is not None
            arrays: dict[str, Any] = {}  # int and float columns alike
            for section, names in (
                (jobs, (*_JOB_COLUMNS, "job_upstream_offsets", "job_upstream", "job_op_offsets")),
                (ops, (*_OP_VECTORS, "op_pred_offsets", "op_preds")),
            ):
                for name in names:
                    arrays[name] = _as_int(section.raw(name), section.field(name))
            for name in _OP_MATRICES:
                arrays[name] = _as_int(ops.raw(name), ops.field(name), ndim=2)
            for name in _OP_FLOATS:
                arrays[name] = _as_float(ops.items(name), ops.field(name))
            estimate_fields = ops.mapping("op_estimates", {})
            estimates: dict[str, Any] = {}
            if estimate_fields is not None:
                for name in list(estimate_fields.data):
                    estimates[str(name)] = _as_int(
                        estimate_fields.raw(name), estimate_fields.field(name), ndim=2
                    )
            jobs.done()
            ops.done()
            accelerators = tuple(top.items("accelerators"))
            contexts = tuple(top.items("contexts", []))
            reload: dict[str, Any] = {
                name: _as_int(top.raw(name, []), name, 2).reshape(len(contexts), len(accelerators))
                for name in ("context_reload_time", "context_reload_energy")
            }
            instance = cls(
                name=top.text("name"),
                accelerators=accelerators,
                tasks=tuple(tasks),
                contexts=contexts,
                **reload,
                settings=settings,
                time_unit_ns=_time_unit(top.number("time_unit_ns", 1, positive=True)),
                metadata=_metadata(top),
                op_estimates=estimates,
                **arrays,
            )
            top.done()
        except InputError as exc:
            raise exc.located(file) from None
        except ValueError as exc:  # reshape of ragged arrays and the like
            raise InputError(f"inconsistent array shapes: {exc}", file=file) from None
        return instance

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), separators=(",", ":"))
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def load(cls, path: str | Path) -> Instance:
        from rtmm_opt.io.strict import load_json

        return cls.from_dict(load_json(path), file=path)

    def _tasks_list(self) -> list[dict[str, Any]]:
        return [
            {
                "name": t.name,
                "model": t.model,
                "period": t.period,
                "priority": t.priority,
                "depends_on": list(t.depends_on),
                "variants": [asdict(v) for v in t.variants],
                # only when it differs from the task name: instances without tenants keep
                # their JSON and their hash
                **({"tenant": t.tenant} if t.tenant != t.name else {}),
            }
            for t in self.tasks
        ]

    def _settings_dict(self) -> dict[str, Any]:
        # "compat" only when set, so that instances written before it existed keep their hash
        data = asdict(self.settings)
        if data["compat"] == "none":
            del data["compat"]
        return data

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the problem itself: every field except ``name`` and ``metadata``, 16 hex
        digits.

        The small fields are hashed as canonical JSON, then every array by name, dtype, shape
        and little-endian bytes (int64, or float64 with one NaN pattern), so hashing costs
        about what copying the arrays does, not what printing them would. The same problem
        gives the same hash in any process and on any platform (``tests/instance/test_instance.py``
        pins two values)."""
        data = self.to_dict(arrays=False)
        del data["name"], data["metadata"]
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
        for name, array in self._hashed_arrays():
            if array.dtype.kind == "f":
                canonical = np.where(np.isnan(array), np.nan, array).astype("<f8")
            else:
                canonical = np.ascontiguousarray(array, dtype="<i8")
            if canonical.size == 0:  # an empty matrix is empty, whatever its shape says
                canonical = canonical.reshape(0)
            digest.update(f"|{name}:{canonical.dtype.str}:{canonical.shape}|".encode())
            digest.update(canonical.tobytes())
        return digest.hexdigest()[:16]

    def _hashed_arrays(self) -> list[tuple[str, np.ndarray]]:
        names = (*_JOB_COLUMNS, "job_upstream_offsets", "job_upstream", "job_op_offsets",
                 *_OP_VECTORS, *_OP_MATRICES, *_OP_FLOATS, "op_pred_offsets", "op_preds",
                 "context_reload_time", "context_reload_energy")  # fmt: skip
        arrays = [(name, getattr(self, name)) for name in names]
        arrays += [(f"op_estimates.{k}", self.op_estimates[k]) for k in sorted(self.op_estimates)]
        return arrays

    def with_settings(self, **changes: Any) -> Instance:
        """The same jobs and ops under other settings (e.g. ``drops="never"``)."""
        from dataclasses import replace

        return replace(self, settings=replace(self.settings, **changes))

    def __repr__(self) -> str:
        return (
            f"Instance({excerpt(self.name)}, jobs={self.n_jobs}, ops={self.n_ops}, "
            f"accelerators={self.n_accelerators}, hash={self.content_hash})"
        )

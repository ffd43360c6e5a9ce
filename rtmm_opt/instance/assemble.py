"""Assemble an :class:`Instance` from per-job Python specs.

The instance builder uses this, and tests use it to write tiny hand-made instances::

    ops = [OpSpec([3, 5]), OpSpec([2, -1], preds=[0])]
    inst = assemble(
        "two-jobs", accelerators=("npu0", "npu1"), tasks=[TaskInfo("t", "m")],
        jobs=[JobSpec(task=0, release=0, deadline=10, ops=ops)],
    )
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtmm_opt.instance.instance import Instance, Settings, TaskInfo


@dataclass
class OpSpec:
    """One operation. ``preds`` are indices of earlier ops *of the same job*."""

    durations: Sequence[int]
    energies: Sequence[int] | None = None
    predicted: Sequence[int] | None = None
    dram_bytes: Sequence[int] | None = None
    preds: Sequence[int] = ()
    segment: int | None = None
    variant: int = 0
    context: int = 0
    sparsity: float = math.nan
    sparsity_mean: float = math.nan


@dataclass
class JobSpec:
    """One job. ``upstream`` are indices of earlier jobs; ``exit_op`` a local op index."""

    task: int
    release: int
    deadline: int
    ops: Sequence[OpSpec]
    frame: int = 0
    weight: int = 1
    upstream: Sequence[int] = ()
    exit_op: int | None = None


def assemble(
    name: str,
    *,
    accelerators: Sequence[str],
    tasks: Sequence[TaskInfo],
    jobs: Sequence[JobSpec],
    settings: Settings | None = None,
    time_unit_ns: int = 1,
    contexts: Sequence[str] = (),
    context_reload_time: Any = None,
    context_reload_energy: Any = None,
    metadata: Mapping[str, Any] | None = None,
) -> Instance:
    n_acc = len(accelerators)
    ops = [op for job in jobs for op in job.ops]
    offsets = np.zeros(len(jobs) + 1, np.int64)
    offsets[1:] = np.cumsum([len(job.ops) for job in jobs])

    def matrix(attr: str, fallback: str | None, fill: int) -> np.ndarray:
        rows = []
        for op in ops:
            row = getattr(op, attr)
            if row is None:
                row = getattr(op, fallback) if fallback else None
            if row is None:
                row = [fill if d >= 0 else -1 for d in op.durations]
            rows.append(list(row))
        return np.asarray(rows, dtype=np.int64).reshape(len(ops), n_acc)

    pred_offsets = [0]
    preds: list[int] = []
    for j, job in enumerate(jobs):
        base = int(offsets[j])
        for op in job.ops:
            preds.extend(base + p for p in op.preds)
            pred_offsets.append(len(preds))
    up_offsets = [0]
    upstream: list[int] = []
    for job in jobs:
        upstream.extend(job.upstream)
        up_offsets.append(len(upstream))
    n_ctx = len(contexts)
    return Instance(
        name=name,
        accelerators=tuple(accelerators),
        tasks=tuple(tasks),
        job_task=np.array([job.task for job in jobs], np.int64),
        job_frame=np.array([job.frame for job in jobs], np.int64),
        job_release=np.array([job.release for job in jobs], np.int64),
        job_deadline=np.array([job.deadline for job in jobs], np.int64),
        job_weight=np.array([job.weight for job in jobs], np.int64),
        job_exit_op=np.array(
            [
                -1 if job.exit_op is None else int(offsets[j]) + job.exit_op
                for j, job in enumerate(jobs)
            ],
            np.int64,
        ),
        job_upstream_offsets=np.array(up_offsets, np.int64),
        job_upstream=np.array(upstream, np.int64),
        job_op_offsets=offsets,
        op_segment=np.array(
            [
                op.segment if op.segment is not None else k
                for job in jobs
                for k, op in enumerate(job.ops)
            ],
            np.int64,
        ),
        op_variant=np.array([op.variant for op in ops], np.int64),
        op_context=np.array([op.context for op in ops], np.int64),
        op_duration=matrix("durations", None, 0),
        op_predicted=matrix("predicted", "durations", 0),
        op_energy=matrix("energies", None, 0),
        op_dram_bytes=matrix("dram_bytes", None, 0),
        op_sparsity=np.array([op.sparsity for op in ops], np.float64),
        op_sparsity_mean=np.array([op.sparsity_mean for op in ops], np.float64),
        op_pred_offsets=np.array(pred_offsets, np.int64),
        op_preds=np.array(preds, np.int64),
        contexts=tuple(contexts),
        context_reload_time=np.asarray(
            context_reload_time if context_reload_time is not None else np.zeros((n_ctx, n_acc)),
            np.int64,
        ).reshape(n_ctx, n_acc),
        context_reload_energy=np.asarray(
            context_reload_energy
            if context_reload_energy is not None
            else np.zeros((n_ctx, n_acc)),
            np.int64,
        ).reshape(n_ctx, n_acc),
        settings=settings or Settings(),
        time_unit_ns=time_unit_ns,
        metadata=dict(metadata or {}),
    )

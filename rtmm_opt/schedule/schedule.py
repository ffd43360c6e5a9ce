"""A Schedule: what happened to every operation and job of one Instance.

Per op: the accelerator it ran on, its start and end (``-1`` for ops that never ran). Per job:
its status (completed or dropped), the variant it ran, and, for dropped jobs, when the drop was
decided. Completion times are derived from the ops, never stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.errors import InputError
from rtmm_opt.instance.instance import Instance, IntArray


class JobStatus(IntEnum):
    DROPPED = 0
    COMPLETED = 1


ARRAYS = ("op_accelerator", "op_start", "op_end", "job_status", "job_variant", "job_drop_time")
"""The array fields of a :class:`Schedule`, in order: per op, then per job."""


@dataclass(frozen=True, eq=False)
class Schedule:
    """The outcome of one run. Arrays are aligned with the instance's ops and jobs."""

    op_accelerator: IntArray
    op_start: IntArray
    op_end: IntArray
    job_status: IntArray
    job_variant: IntArray
    job_drop_time: IntArray
    producer: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls, instance: Instance, producer: str = "") -> Schedule:
        """Nothing ran and every job is dropped at time 0 (a starting point for builders)."""
        n_ops, n_jobs = instance.n_ops, instance.n_jobs
        return cls(
            op_accelerator=np.full(n_ops, -1, np.int64),
            op_start=np.full(n_ops, -1, np.int64),
            op_end=np.full(n_ops, -1, np.int64),
            job_status=np.full(n_jobs, JobStatus.DROPPED, np.int64),
            job_variant=np.zeros(n_jobs, np.int64),
            job_drop_time=np.zeros(n_jobs, np.int64),
            producer=producer,
        )

    @property
    def executed(self) -> IntArray:
        """Indices of the ops that ran."""
        return np.flatnonzero(self.op_accelerator >= 0)

    def completed(self, job: int) -> bool:
        return bool(self.job_status[job] == JobStatus.COMPLETED)

    def completion_times(self, instance: Instance) -> IntArray:
        """Per job: the end of its last required op if completed, else -1."""
        times = np.full(instance.n_jobs, -1, np.int64)
        for job in np.flatnonzero(self.job_status == JobStatus.COMPLETED):
            ops = instance.required_ops(int(job), int(self.job_variant[job]))
            times[job] = int(self.op_end[ops].max())
        return times

    # -- export -----------------------------------------------------------------------------------
    def to_csv(self, instance: Instance, path: str | Path | None = None) -> str:
        """One row per executed op, ordered by start time, then by accelerator and op index.

        Columns: ``op, job, task, frame, segment, variant, accelerator, start, end,
        job_finish, job_finish_s``. Times are integer instance time units (×
        ``instance.time_unit_ns`` for ns). ``job_finish`` is the completion time of the op's job
        (the end of its last required op), the same on every row of the job, and empty if the
        job did not complete; ``job_finish_s`` is the same in seconds (Python float ``repr``),
        so per-job finish times can be read without knowing the instance's time unit.
        """
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(
            [
                "op",
                "job",
                "task",
                "frame",
                "segment",
                "variant",
                "accelerator",
                "start",
                "end",
                "job_finish",
                "job_finish_s",
            ]
        )
        executed = self.executed
        order = executed[
            np.lexsort((executed, self.op_accelerator[executed], self.op_start[executed]))
        ]
        op_job = instance.op_job
        finish = self.completion_times(instance).tolist()
        unit_ns = instance.time_unit_ns
        for op in order:
            job = int(op_job[op])
            writer.writerow(
                [
                    int(op),
                    job,
                    instance.tasks[int(instance.job_task[job])].name,
                    int(instance.job_frame[job]),
                    int(instance.op_segment[op]),
                    int(instance.op_variant[op]),
                    instance.accelerators[int(self.op_accelerator[op])],
                    int(self.op_start[op]),
                    int(self.op_end[op]),
                    finish[job] if finish[job] >= 0 else "",
                    repr(finish[job] * unit_ns / 1e9) if finish[job] >= 0 else "",
                ]
            )
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "producer": self.producer,
            "op_accelerator": self.op_accelerator.tolist(),
            "op_start": self.op_start.tolist(),
            "op_end": self.op_end.tolist(),
            "job_status": self.job_status.tolist(),
            "job_variant": self.job_variant.tolist(),
            "job_drop_time": self.job_drop_time.tolist(),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: Any, *, file: str | Path | None = None) -> Schedule:
        """A schedule from parsed JSON. Every column is a list of integers (a fraction, a string
        or a boolean is refused, not converted) within ``±INT_LIMIT`` (``rtmm_opt.io.limits``);
        ``info`` is a mapping."""
        from rtmm_opt.io.limits import INT_LIMIT, INT_LIMIT_TEXT
        from rtmm_opt.io.strict import Fields, integer_array

        top = Fields(data, file=file)
        arrays = {}
        for name in ARRAYS:
            values = integer_array(top.raw(name), file=file, field=name)
            if values.size and np.abs(values).max() > INT_LIMIT:
                bad = int(np.abs(values).argmax())
                raise InputError(
                    f"{int(values[bad])} is beyond the limit {INT_LIMIT_TEXT} of integer times",
                    file=file,
                    field=f"{name}[{bad}]",
                )
            arrays[name] = values
        info = top.raw("info", None)
        if info is not None and not isinstance(info, dict):
            raise top.error("info", f"expected a mapping, got {type(info).__name__}")
        schedule = cls(producer=top.text("producer", ""), info=dict(info or {}), **arrays)
        top.done()
        if len(schedule.op_start) != len(schedule.op_accelerator) or len(schedule.op_end) != len(
            schedule.op_accelerator
        ):
            raise InputError("op arrays differ in length", file=file, field="op_start")
        return schedule

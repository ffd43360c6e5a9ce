"""Export a schedule as a Chrome/Perfetto trace (the Trace Event Format, JSON object form).

The file opens in https://ui.perfetto.dev (drag it in, or "Open trace file") and in
``chrome://tracing``. Layout (see ``docs/outputs.md``):

* one process, the system (``pid`` 1), named after the instance;
* one thread per accelerator (``tid`` = accelerator index + 1, in accelerator order), holding a
  complete event (``ph: "X"``) per executed op: name ``task#frame/sSEGMENT``, category = task,
  ``args`` = job, op, frame, segment, variant, deadline, late, energy;
* one more thread, ``jobs``, holding instant events (``ph: "i"``) for releases, deadline misses
  (at the deadline of each late job) and drops (at the drop time);
* optionally a counter (``ph: "C"``) of the jobs active at each time (released and neither
  completed nor dropped).

Timestamps and durations are microseconds (the format's unit, whatever ``displayTimeUnit``
says), as floats: ``time * time_unit_ns / 1000``. Events are sorted (metadata first, then by
time, track and index), so the same schedule always gives the same bytes.

The format: "Trace Event Format" (Chrome tracing, Google Doc 1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSs
KchNAySU); Perfetto reads fractional microsecond timestamps since 2021 (google/perfetto#119).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.errors import InputError
from rtmm_opt.instance.instance import Instance, IntArray
from rtmm_opt.io.units import NS_PER_US
from rtmm_opt.metrics.metrics import Metrics, completion_times
from rtmm_opt.schedule.schedule import JobStatus, Schedule

SYSTEM_PID = 1
ACTIVE_COUNTER = "active"  # Perfetto names the counter track "<name> <arg key>": "active jobs"

# Order of events at one timestamp on one track: a job is released before it runs, and its
# misses and drops come after what ran up to then.
_RANK = {"release": 0, "X": 1, "miss": 2, "drop": 3, "C": 4}


def jobs_track(instance: Instance) -> int:
    """The ``tid`` of the jobs track (releases, misses, drops): after every accelerator."""
    return instance.n_accelerators + 1


def effective_releases(instance: Instance, completion: IntArray) -> IntArray:
    """Per job: when it was released; -1 if it never was (an upstream job was not completed).

    The frame time, or for a cascaded job the latest completion of its upstream jobs
    (docs/design.md §2; the same rule as ``R_j`` in :mod:`rtmm_opt.metrics.metrics`).
    """
    release = instance.job_release.copy()
    for job in range(instance.n_jobs):
        upstream = instance.upstream_of(job)
        if len(upstream) == 0:
            continue
        upstream_completion = completion[upstream]
        if np.any(upstream_completion < 0):
            release[job] = -1
        else:
            release[job] = max(int(release[job]), int(upstream_completion.max()))
    return release


def trace_events(
    instance: Instance,
    schedule: Schedule,
    *,
    metrics: Metrics | None = None,
    active_jobs: bool = True,
) -> dict[str, Any]:
    """The trace of ``schedule`` as a JSON-able dict (layout: the module docstring).

    ``metrics``, if given, is stored in the trace's ``metadata`` (Chrome's "Metadata" dialog).
    ``active_jobs`` adds the counter of active jobs.
    """
    unit_ns = instance.time_unit_ns

    def micros(time: int) -> float:
        # One exact integer product, one division: the double nearest the true value.
        return time * unit_ns / NS_PER_US

    jobs_tid = jobs_track(instance)
    completion = completion_times(instance, schedule)
    completed = schedule.job_status == JobStatus.COMPLETED
    late = completed & (completion > instance.job_deadline)
    task_names = [instance.tasks[t].name for t in instance.job_task.tolist()]
    frames = instance.job_frame.tolist()
    deadlines = instance.job_deadline.tolist()

    def job_label(job: int) -> str:
        return f"{task_names[job]}#{frames[job]}"

    keyed: list[tuple[tuple[float, int, int, int], dict[str, Any]]] = []

    op_job = instance.op_job.tolist()
    accelerator = schedule.op_accelerator.tolist()
    start, end = schedule.op_start.tolist(), schedule.op_end.tolist()
    segment, variant = instance.op_segment.tolist(), instance.op_variant.tolist()
    executed = schedule.executed
    energy = dict(
        zip(
            executed.tolist(),
            instance.op_energy[executed, schedule.op_accelerator[executed]].tolist(),
            strict=True,
        )
    )
    job_task = instance.job_task.tolist()
    for op in executed.tolist():
        job, acc = op_job[op], accelerator[op]
        task = instance.tasks[job_task[job]]
        event: dict[str, Any] = {
            "name": f"{job_label(job)}/s{segment[op]}",
            "cat": task.name,
            "ph": "X",
            "ts": micros(start[op]),
            "dur": micros(end[op] - start[op]),
            "pid": SYSTEM_PID,
            "tid": acc + 1,
            "args": {
                "job": job,
                "op": op,
                "frame": frames[job],
                "segment": segment[op],
                "variant": task.variants[variant[op]].name,
                "deadline_us": micros(deadlines[job]),
                "late": bool(late[job]),
                "energy_nJ": energy[op],
            },
        }
        keyed.append(((event["ts"], acc + 1, _RANK["X"], op), event))

    def instant(kind: str, job: int, time: int, args: dict[str, Any]) -> None:
        event: dict[str, Any] = {
            "name": f"{kind} {job_label(job)}",
            "cat": kind,
            "ph": "i",
            "s": "t",  # thread scope: drawn on the jobs track only
            "ts": micros(time),
            "pid": SYSTEM_PID,
            "tid": jobs_tid,
            "args": {"job": job, "task": task_names[job], "frame": frames[job], **args},
        }
        keyed.append(((event["ts"], jobs_tid, _RANK[kind], job), event))

    release = effective_releases(instance, completion).tolist()
    completion_list = completion.tolist()
    drop_time = schedule.job_drop_time.tolist()
    for job in range(instance.n_jobs):
        if release[job] >= 0:
            instant("release", job, release[job], {"deadline_us": micros(deadlines[job])})
        if late[job]:
            instant(
                "miss",
                job,
                deadlines[job],
                {
                    "completion_us": micros(completion_list[job]),
                    "lateness_us": micros(completion_list[job] - deadlines[job]),
                },
            )
        if not completed[job]:
            instant(
                "drop",
                job,
                drop_time[job],
                {"deadline_us": micros(deadlines[job]), "released": release[job] >= 0},
            )

    if active_jobs:
        for time, count in _active_counts(release, completion_list, drop_time, completed):
            counter: dict[str, Any] = {
                "name": ACTIVE_COUNTER,
                "ph": "C",
                "ts": micros(time),
                "pid": SYSTEM_PID,
                "args": {"jobs": count},
            }
            keyed.append(((counter["ts"], 0, _RANK["C"], 0), counter))

    keyed.sort(key=lambda pair: pair[0])
    metadata: dict[str, Any] = {
        "instance": instance.name,
        "instance_hash": instance.content_hash,
        "producer": schedule.producer,
        "time_unit_ns": unit_ns,
        "accelerators": list(instance.accelerators),
    }
    if metrics is not None:
        metadata["metrics"] = metrics.to_dict()
    return {
        "traceEvents": [*_track_metadata(instance), *(event for _, event in keyed)],
        "displayTimeUnit": "ms",
        "metadata": metadata,
    }


def _track_metadata(instance: Instance) -> list[dict[str, Any]]:
    """``M`` events naming the process and the tracks, and fixing the track order."""
    events: list[dict[str, Any]] = [
        {
            "name": "process_name",
            "ph": "M",
            "pid": SYSTEM_PID,
            "args": {"name": f"system ({instance.name})"},
        }
    ]
    names = [*instance.accelerators, "jobs"]
    for index, name in enumerate(names):
        events.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": SYSTEM_PID,
                "tid": index + 1,
                "args": {"name": name},
            }
        )
    for index in range(len(names)):
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": SYSTEM_PID,
                "tid": index + 1,
                "args": {"sort_index": index},
            }
        )
    return events


def _active_counts(
    release: list[int], completion: list[int], drop_time: list[int], completed: np.ndarray
) -> list[tuple[int, int]]:
    """(time, number of active jobs from then on), at every time the number changes.

    A job is active on ``[release, end)``, ``end`` being its completion or its drop time; a job
    never released, or dropped before its release, is never active.
    """
    delta: dict[int, int] = {}
    for job, released in enumerate(release):
        if released < 0:
            continue
        finish = completion[job] if completed[job] else drop_time[job]
        if finish <= released:
            continue
        delta[released] = delta.get(released, 0) + 1
        delta[finish] = delta.get(finish, 0) - 1
    counts: list[tuple[int, int]] = []
    active = 0
    for time in sorted(delta):
        if delta[time] == 0:
            continue
        active += delta[time]
        counts.append((time, active))
    return counts


def write_trace(
    path: str | Path,
    instance: Instance,
    schedule: Schedule,
    *,
    metrics: Metrics | None = None,
    active_jobs: bool = True,
) -> Path:
    """Write :func:`trace_events` as JSON to ``path``; a ``.gz`` suffix writes it gzipped.

    Both ui.perfetto.dev and chrome://tracing open gzipped traces. The output is byte-identical
    for equal inputs (the gzip header carries no time stamp).
    """
    path = Path(path)
    trace = trace_events(instance, schedule, metrics=metrics, active_jobs=active_jobs)
    data = (json.dumps(trace, separators=(",", ":"), allow_nan=False) + "\n").encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write the trace: {exc.strerror or exc}", file=path) from None
    return path

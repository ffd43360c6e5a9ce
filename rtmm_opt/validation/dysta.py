"""Agreement with the Dysta simulator on its reference runs (``shared/dysta/reference``).

A reference folder holds ``index.csv`` (one row per run: ``set, rate, slo_mult, seed,
scheduler``, the simulator's ``violation_rate, antt, stp``, and the run's ``request_file`` and
``result_file``), the request tables, the per-request results (``finish_s`` per request) and
``meta/models_<set>.csv`` (the simulator's model order). :func:`run_reference` imports a run's
request table with the latency tables of its set (:mod:`rtmm_opt.instance.dysta`), replays it
under the same scheduler (the instance carries ``compat: dysta``), and compares per-request
finish times and the three metrics; :func:`run_all` does every row of the index.

Our metrics are the project's: violation rate = ``miss_rate`` (no job is dropped), ANTT =
``antt``, STP = ``throughput`` (``docs/dysta.md``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance.dysta import (
    DEFAULT_SEQ_LEN,
    PICOSECOND_NS,
    build_dysta_instance,
    read_model_order,
    read_requests,
    read_tables,
)
from rtmm_opt.instance.instance import Instance
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedulers import make_scheduler

INDEX_COLUMNS = (
    "set",
    "rate",
    "slo_mult",
    "seed",
    "scheduler",
    "violation_rate",
    "antt",
    "stp",
    "request_file",
    "result_file",
)


@dataclass(frozen=True)
class DystaMetrics:
    """The simulator's three per-run metrics (README §3.5)."""

    violation_rate: float
    antt: float
    stp: float


@dataclass(frozen=True)
class DystaRecord:
    """One reference run: our metrics, the simulator's, and how far the finish times differ.

    ``rewinds_*`` count the clock rewinds (README §3.4): in our schedule, ops that start before
    the previous op on the accelerator ends; in theirs, requests whose ``clock_before_admit_s``
    exceeds their ``admit_time_s``.
    """

    set: str
    rate: float
    slo_mult: float
    seed: int
    scheduler: str
    n_requests: int
    ours: DystaMetrics
    theirs: DystaMetrics
    max_finish_diff_s: float
    rewinds_ours: int
    rewinds_theirs: int

    @property
    def violation_equal(self) -> bool:
        return self.ours.violation_rate == self.theirs.violation_rate

    @property
    def antt_rel_diff(self) -> float:
        return _relative(self.ours.antt, self.theirs.antt)

    @property
    def stp_rel_diff(self) -> float:
        return _relative(self.ours.stp, self.theirs.stp)

    def agrees(self, finish_tol_s: float = 1e-6, metric_rel_tol: float = 1e-9) -> bool:
        """Finish times within ``finish_tol_s``, the violation rate equal, ANTT and STP within
        ``metric_rel_tol`` relative."""
        return (
            self.max_finish_diff_s <= finish_tol_s
            and self.violation_equal
            and self.antt_rel_diff <= metric_rel_tol
            and self.stp_rel_diff <= metric_rel_tol
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            violation_equal=self.violation_equal,
            antt_rel_diff=self.antt_rel_diff,
            stp_rel_diff=self.stp_rel_diff,
            agrees=self.agrees(),
        )
        return data


def _relative(ours: float, theirs: float) -> float:
    if ours == theirs:
        return 0.0
    return abs(ours - theirs) / abs(theirs) if theirs else math.inf


def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read: {exc}", file=path) from None


def reference_index(reference_dir: str | Path) -> list[dict[str, str]]:
    """The rows of ``index.csv`` (checked for the columns this module reads)."""
    path = Path(reference_dir) / "index.csv"
    rows = _read_rows(path)
    if not rows:
        raise InputError("has no runs", file=path)
    for column in INDEX_COLUMNS:
        if column not in rows[0]:
            raise InputError("missing column", file=path, field=column)
    return rows


def reference_instance(
    reference_dir: str | Path,
    tables_root: str | Path,
    set: str,
    request_file: str,
    *,
    seq_len: int = DEFAULT_SEQ_LEN,
    time_unit_ns: float = PICOSECOND_NS,
) -> Instance:
    """The instance of one reference request table on the latency tables ``tables_root/set``,
    in the simulator's model order when ``meta/models_<set>.csv`` is there."""
    reference = Path(reference_dir)
    order_file = reference / "meta" / f"models_{set}.csv"
    order = read_model_order(order_file) if order_file.is_file() else None
    tables = read_tables(
        Path(tables_root) / set, seq_len=seq_len, model_order=order, model_order_file=order_file
    )
    requests = read_requests(reference / request_file, tables)
    return build_dysta_instance(
        tables,
        requests,
        time_unit_ns=time_unit_ns,
        name=f"dysta-{Path(request_file).stem}",
        source={"requests": str(reference / request_file)},
    )


def compare_run(
    instance: Instance, schedule: Schedule, row: dict[str, str], reference_dir: str | Path
) -> DystaRecord:
    """Our schedule of one index row against the simulator's results for it."""
    metrics = compute_metrics(instance, schedule)
    results = _read_rows(Path(reference_dir) / row["result_file"])
    if len(results) != instance.n_jobs:
        raise InputError(
            f"has {len(results)} requests, the request table {instance.n_jobs}",
            file=Path(reference_dir) / row["result_file"],
        )
    theirs = np.array([float(r["finish_s"]) for r in results])
    ours = schedule.completion_times(instance) * (instance.time_unit_ns / 1e9)
    order = np.lexsort((np.arange(instance.n_ops), schedule.op_start))
    rewinds = int(np.sum(schedule.op_start[order][1:] < schedule.op_end[order][:-1]))
    return DystaRecord(
        set=row["set"],
        rate=float(row["rate"]),
        slo_mult=float(row["slo_mult"]),
        seed=int(row["seed"]),
        scheduler=row["scheduler"],
        n_requests=instance.n_jobs,
        ours=DystaMetrics(metrics.miss_rate, metrics.antt, metrics.throughput),
        theirs=DystaMetrics(float(row["violation_rate"]), float(row["antt"]), float(row["stp"])),
        max_finish_diff_s=float(np.max(np.abs(ours - theirs))),
        rewinds_ours=rewinds,
        rewinds_theirs=sum(
            float(r["clock_before_admit_s"]) > float(r["admit_time_s"]) for r in results
        ),
    )


def run_reference(
    reference_dir: str | Path,
    tables_root: str | Path,
    set: str,
    rate: float,
    slo: float,
    seed: int,
    scheduler: str,
) -> DystaRecord:
    """Replay one reference run (the ``index.csv`` row of these values) and compare."""
    for row in reference_index(reference_dir):
        if (
            row["set"] == set
            and float(row["rate"]) == float(rate)
            and float(row["slo_mult"]) == float(slo)
            and int(row["seed"]) == int(seed)
            and row["scheduler"] == scheduler
        ):
            instance = reference_instance(reference_dir, tables_root, set, row["request_file"])
            schedule = replay(instance, make_scheduler(scheduler))
            return compare_run(instance, schedule, row, reference_dir)
    raise InputError(
        f"no run with set={set}, rate={rate:g}, slo_mult={slo:g}, seed={seed}, "
        f"scheduler={scheduler}",
        file=Path(reference_dir) / "index.csv",
    )


def run_all(reference_dir: str | Path, tables_root: str | Path) -> Iterator[DystaRecord]:
    """Every run of ``index.csv``, in its order (each request table is imported once)."""
    instances: dict[tuple[str, str], Instance] = {}
    for row in reference_index(reference_dir):
        key = (row["set"], row["request_file"])
        if key not in instances:
            instances[key] = reference_instance(
                reference_dir, tables_root, row["set"], row["request_file"]
            )
        instance = instances[key]
        schedule = replay(instance, make_scheduler(row["scheduler"]))
        yield compare_run(instance, schedule, row, reference_dir)

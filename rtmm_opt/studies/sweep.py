"""Running a study: its cells on Dask, their rows into the results store, resumably.

:func:`run_study` groups the cells that are not done yet by instance (:attr:`Cell.group`), sends
each group to a Dask worker (:func:`rtmm_opt.studies.cells.run_group`), and writes each group's
rows from the driver as soon as they arrive, in one transaction (:class:`ResultStore`). So a
study can be stopped at any moment and run again: it skips the cells already done.

Where it runs:

* ``workers=None`` (default): an embedded ``LocalCluster`` on the loopback interface, one
  single-threaded worker process per core; ``workers=N`` sets the number of processes;
* ``cluster="tcp://host:8786"``: an existing Dask scheduler (for instance one that
  dask-jobqueue started on a SLURM cluster, ``docs/studies.md``); the study is sent unchanged;
* ``workers=0``: in this process, without Dask (for debugging, and the baseline of
  ``benchmarks/bench_sweep.py``).

CP-SAT workers per oracle solve × Dask workers should not exceed the cores: the driver warns
otherwise, since the solves would then compete for them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtmm_opt.errors import InputError
from rtmm_opt.studies.cells import CellTask, preflight, run_group
from rtmm_opt.studies.store import ResultStore
from rtmm_opt.studies.study import Cell, Study


@dataclass(frozen=True)
class SweepSummary:
    """What one run of a study did: ``cells`` in the study, ``done`` now (this run and
    earlier ones), ``skipped`` (done before this run), ``failed`` (in this run)."""

    cells: int
    done: int
    skipped: int
    failed: int

    def to_dict(self) -> dict[str, int]:
        return {"cells": self.cells, "done": self.done, "skipped": self.skipped,
                "failed": self.failed}  # fmt: skip


def group_cells(cells: list[Cell]) -> list[tuple[Cell, ...]]:
    """Cells grouped by instance, in the order of their first cell."""
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.group, []).append(cell)
    return [tuple(group) for group in groups.values()]


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def dask_client(workers: int | None, cluster: str | None) -> Iterator[Any]:
    """A Dask client: to ``cluster`` if given, else to an embedded LocalCluster of ``workers``
    single-threaded processes (default: one per core) on the loopback interface."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the studies extra brings it
        raise InputError(
            "running a study needs Dask: pip install 'rtmm-opt[studies]' (or --workers 0)",
            field="--workers",
        ) from None
    if cluster is not None:
        try:
            client = Client(cluster, timeout="10s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler: {exc}", field="--cluster") from None
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    # Hand every cell to a worker as soon as it is submitted (no queuing at the scheduler), so
    # a worker never waits a scheduler round trip between two short cells.
    with dask.config.set({"distributed.scheduler.worker-saturation": "inf"}), LocalCluster(
        n_workers=workers or cores(), threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
    ) as local, Client(local) as client:  # fmt: skip
        yield client


def run_study(
    study: Study,
    db: str | Path,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> SweepSummary:
    """Run the cells of ``study`` not yet done in ``db`` (see the module docstring).

    ``progress(done, failed, remaining)`` is called after every group, from the driver."""
    cells = study.cells()
    preflight(study)
    with ResultStore(db) as store:
        store.record_study(study.name, study.to_dict())
        finished = store.finished(cell.key for cell in cells)
        todo = [cell for cell in cells if cell.key not in finished]
        tasks = [CellTask(group, str(study.folder), study.oracle) for group in group_cells(todo)]
        done = failed = 0
        remaining = len(todo)

        def record(rows: list[dict[str, Any]]) -> None:
            nonlocal done, failed, remaining
            store.write(study.name, rows)
            done += sum(row["status"] == "done" for row in rows)
            failed += sum(row["status"] != "done" for row in rows)
            remaining -= len(rows)
            if progress is not None:
                progress(done, failed, remaining)

        if progress is not None:
            progress(0, 0, remaining)
        if tasks and workers == 0 and cluster is None:
            for task in tasks:
                record(run_group(task))
        elif tasks:
            _warn_oversubscription(study, workers, cluster)
            with dask_client(workers, cluster) as client:
                from distributed import as_completed

                futures = client.map(run_group, tasks, pure=False)
                for future in as_completed(futures):
                    record(future.result())
    return SweepSummary(cells=len(cells), done=len(finished) + done, skipped=len(finished),
                        failed=failed)  # fmt: skip


def _warn_oversubscription(study: Study, workers: int | None, cluster: str | None) -> None:
    if study.oracle is None or cluster is not None:
        return
    processes = workers or cores()
    if study.oracle.workers * processes > cores():
        warnings.warn(
            f"{study.oracle.workers} CP-SAT workers × {processes} Dask workers exceeds the "
            f"{cores()} cores: the solves compete for them (set oracle.workers or --workers)",
            stacklevel=2,
        )

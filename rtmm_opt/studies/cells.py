"""Running study cells: one group of cells (one instance) at a time, on any worker.

:func:`run_group` is what a Dask worker executes. It builds the group's instance once, replays
each cell's scheduler on it, scores the validated schedule, and, when the study has an oracle,
solves the instance once and reports every cell's gap to it. It returns one row per cell: the
rows the results store keeps (:mod:`rtmm_opt.studies.store`). A cell that raises becomes a
``failed`` row with its error; the other cells of the group still run.

Reading a scenario and loading a cost table are cached per worker process, so a worker that
runs many cells of one study reads each file once.
"""

from __future__ import annotations

import functools
import platform
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rtmm_opt import __version__
from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.hardware.accelerator import System
from rtmm_opt.hardware.cost import make_cost_model
from rtmm_opt.hardware.cost.base import CostModel
from rtmm_opt.hardware.presets import get_system
from rtmm_opt.instance import Instance, load_workload, read_workload
from rtmm_opt.io.units import parse_duration
from rtmm_opt.metrics import compute_metrics
from rtmm_opt.oracle import evaluate, parse_objective, solve
from rtmm_opt.scenario.scenario import Scenario
from rtmm_opt.schedule import Schedule
from rtmm_opt.schedulers import make_scheduler
from rtmm_opt.studies.comparison import relative_gap
from rtmm_opt.studies.parameters import (
    TASK_PARAMETERS,
    apply_to_scenario,
    apply_to_system,
    scheduler_params,
)
from rtmm_opt.studies.study import Cell, OracleSpec, Study, with_defaults

TASK_LEVEL = frozenset(TASK_PARAMETERS)

METRICS = (
    "jobs", "completed", "dropped", "late", "miss_rate", "drop_rate", "late_rate", "sla_rate",
    "tardiness", "tardiness_ms", "energy_mJ", "makespan", "makespan_ms", "antt", "throughput",
    "stp", "utilisation", "accuracy", "accuracy_loss", "xrbench_score", "uxcost",
)  # fmt: skip


@dataclass(frozen=True)
class CellTask:
    """What a worker needs to run one group: the cells, the study folder (relative workload
    paths are read from there first) and the oracle block."""

    cells: tuple[Cell, ...]
    folder: str
    oracle: OracleSpec | None = None


@functools.cache
def _scenario(path: str) -> Scenario | Instance:
    return read_workload(path)


@functools.cache
def _cost_model(spec: str) -> CostModel:
    return make_cost_model(spec)


@functools.cache
def _system(name: str) -> System:
    return get_system(name)


def workload_path(workload: str, folder: str | Path) -> str:
    """A study's workload: relative to the study file's folder if it is there, else as given
    (a path from the working directory, or a bundled scenario's name)."""
    candidate = Path(folder) / workload
    return str(candidate) if not Path(workload).is_absolute() and candidate.exists() else workload


def build_cell_instance(params: Mapping[str, Any], seed: int, folder: str | Path) -> Instance:
    """The instance of a cell's instance-level parameters and seed."""
    p = with_defaults(params)
    workload = _scenario(workload_path(str(p["workload"]), folder))
    if isinstance(workload, Instance):
        instance_only = [k for k in p if k.split(".")[0] in TASK_LEVEL]
        if instance_only:
            raise InputError(
                "the workload is an instance file, already built; scenario parameters need a "
                "scenario", field=instance_only[0],
            )  # fmt: skip
        return workload
    scenario = apply_to_scenario(workload, p)
    system = apply_to_system(_system(str(p["system"])), p)
    duration = p.get("duration")
    return load_workload(
        scenario,
        system=system,
        cost=_cost_model(str(p["cost"])),
        duration_ns=None if duration is None else parse_duration(duration),
        seed=seed,
        granularity=str(p["granularity"]),
        time_unit_ns=int(p["time_unit_ns"]),
        drops=str(p["drops"]),
        fps_scale=float(p["fps_scale"]),
        context_switch=bool(p["context_switch"]),
        contention=bool(p["contention"]),
    )


def preflight(study: Study) -> None:
    """Check what can only be checked against the files a study names, before any cell runs:
    every workload reads, every task a parameter names exists in it, every system and cost
    model exists. Errors name the study file and the parameter."""
    cells = study.cells()
    where = study.file or study.name

    def located(error: InputError, key: str) -> InputError:
        return InputError(error.reason, file=where, field=key)

    for key, kind, loader in (("system", "system", _system), ("cost", "cost", _cost_model)):
        for value in sorted({str(with_defaults(c.params)[kind]) for c in cells}):
            try:
                loader(value)
            except InputError as error:
                raise located(error, key) from None
    by_workload: dict[str, dict[str, Any]] = {}
    for cell in cells:
        scoped = {k: v for k, v in cell.params.items() if k.split(".")[0] in TASK_LEVEL}
        by_workload.setdefault(str(cell.params["workload"]), {}).update(scoped)
    for workload, scoped in sorted(by_workload.items()):
        try:
            read = _scenario(workload_path(workload, study.folder))
        except InputError as error:
            raise InputError(
                f"workload {excerpt(workload)}: {error}", file=where, field="workload"
            ) from None
        for key, value in sorted(scoped.items()):
            try:
                if isinstance(read, Instance):
                    raise InputError("the workload is an instance file; scenario parameters "
                                     "need a scenario")  # fmt: skip
                apply_to_scenario(read, {key: value})
            except InputError as error:
                raise InputError(f"{error.reason} (workload {workload})", file=where,
                                 field=key) from None  # fmt: skip


@functools.cache
def versions() -> dict[str, str]:
    """The package, solver and interpreter versions a row was computed with."""
    try:
        ortools = version("ortools")
    except PackageNotFoundError:  # pragma: no cover
        ortools = "none"
    return {"rtmm_opt": __version__, "ortools": ortools, "python": platform.python_version()}


def _failed(cell: Cell, error: BaseException, started: float) -> dict[str, Any]:
    reason = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
    detail = "" if isinstance(error, InputError) else traceback.format_exc(limit=6)
    return {
        "key": cell.key, "group": cell.group, "params": dict(cell.params), "seed": cell.seed,
        "design_index": cell.design_index, "status": "failed", "error": reason,
        "traceback": detail, "wall_s": time.perf_counter() - started, **versions(),
    }  # fmt: skip


def run_group(task: CellTask) -> list[dict[str, Any]]:
    """Run every cell of one group (see the module docstring); never raises."""
    started = time.perf_counter()
    cells = task.cells
    try:
        instance = build_cell_instance(cells[0].params, cells[0].seed, task.folder)
    except Exception as error:  # every cell of the group shares the failure
        return [_failed(cell, error, started) for cell in cells]
    build_s = time.perf_counter() - started
    rows: list[dict[str, Any]] = []
    schedules: list[Schedule | None] = []
    for cell in cells:
        began = time.perf_counter()
        try:
            p = with_defaults(cell.params)
            policy = make_scheduler(str(p["scheduler"]), scheduler_params(p))
            schedule = replay(instance, policy)  # validated
            metrics = compute_metrics(instance, schedule)
        except Exception as error:
            rows.append(_failed(cell, error, began))
            schedules.append(None)
            continue
        rows.append({
            "key": cell.key, "group": cell.group, "params": dict(cell.params),
            "seed": cell.seed, "design_index": cell.design_index, "status": "done",
            "error": None, "traceback": "", "instance_hash": instance.content_hash,
            "jobs": instance.n_jobs, "ops": instance.n_ops,
            **{name: getattr(metrics, name) for name in METRICS},
            "per_task": {name: asdict(m) for name, m in metrics.per_task.items()},
            "wall_s": time.perf_counter() - began + build_s / len(cells), **versions(),
        })  # fmt: skip
        schedules.append(schedule)
    if task.oracle is not None:
        _add_oracle(instance, task.oracle, rows, schedules)
    return rows


def _add_oracle(
    instance: Instance, spec: OracleSpec, rows: list[dict[str, Any]],
    schedules: Sequence[Schedule | None],
) -> None:
    """Solve the group's instance once (warm-started by its schedules) and add the oracle's
    result and each cell's gap to its row."""
    began = time.perf_counter()
    objective = parse_objective(spec.objective)
    # Under a compatibility mode the schedules follow a peer's quirks, which the oracle's clean
    # problem does not allow; they cannot warm-start it there.
    compat = instance.settings.compat != "none"
    hints = [] if compat else [s for s in schedules if s is not None]
    try:
        objective.check(instance)
        result = solve(instance, objective, time_limit=spec.time_limit, workers=spec.workers,
                       hints=hints)  # fmt: skip
    except Exception as error:
        for row in rows:
            if row["status"] == "done":
                row.update(oracle_status="failed", oracle_error=str(error))
        return
    oracle_s = time.perf_counter() - began
    for row, schedule in zip(rows, schedules, strict=True):
        if schedule is None:
            continue
        value = evaluate(instance, schedule, objective)
        row.update(
            objective_spec=str(objective), objective=value, oracle_status=result.status,
            oracle_objective=result.objective, oracle_bound=result.bound,
            oracle_gap=result.gap, gap=relative_gap(value, result.objective),
            gap_to_bound=relative_gap(value, result.bound),
            excess=None if result.objective is None else value - result.objective,
            excess_to_bound=None if result.bound is None else value - result.bound,
            oracle_wall_s=oracle_s,
        )  # fmt: skip

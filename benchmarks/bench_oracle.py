#!/usr/bin/env python3
"""The CP-SAT oracle against a naive formulation and PyJobShop, on XRBench scenarios.

Every instance: a 1 s trace of an XRBench scenario (``instances/xrbench/*.yaml``), MAESTRO costs
(``table:xrbench``), ``block:4`` granularity, objective ``misses``. Three solvers, each with the
same time limit and workers:

* ``oracle``: :func:`rtmm_opt.oracle.solve` as shipped, warm-started with the best of the
  registered heuristics (``--hints``); it picks the formulation, the rolling-horizon incumbent
  and the decomposition bound itself;
* ``naive``: the same function with ``naive=True`` and no hints: the textbook model (optional
  interval per (op, accelerator), NoOverlap, precedence, releases, reified lateness), no
  tightening, no symmetry breaking, no decomposition;
* ``pyjobshop`` (drops never only; the extra ``bench``): one task per op with one mode per
  eligible accelerator, end-before-start precedence inside jobs and along cascades, job release
  dates, due dates = deadlines, objective weighted tardy jobs, OR-Tools backend, no initial
  solution. PyJobShop has no dropped jobs, so it runs for ``drops: never`` only. Its schedule is
  converted back and scored by the project's validator and metrics.

Printed: per instance the status, objective, bound, gap and time of each solver, and the ratios
time(naive)/time(oracle) and the gaps side by side. Then the ``VR_gaming`` table on ``xrb4k-J``
at fps ×1.0, ×1.2 and ×1.5, with drops never and allowed.

    pip install -e '.[bench]'                       # PyJobShop (optional)
    python benchmarks/bench_oracle.py               # everything, 60 s per solve, 2 workers
    python benchmarks/bench_oracle.py --quick       # VR_gaming x1.0 only, 10 s (a smoke test)
    python benchmarks/bench_oracle.py --only vr     # only the VR_gaming table
    python benchmarks/bench_oracle.py --only ablation   # each model feature on/off
    python benchmarks/bench_oracle.py --only scaling    # longer, finer, more loaded traces
    python benchmarks/bench_oracle.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from tabulate import tabulate

from rtmm_opt.engine import replay
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.oracle import evaluate, parse_objective, solve
from rtmm_opt.schedule.schedule import JobStatus, Schedule
from rtmm_opt.schedule.validator import validate
from rtmm_opt.schedulers import make_scheduler

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p.stem for p in (ROOT / "instances" / "xrbench").glob("*.yaml"))
PRESETS = ("xrb4k-J", "xrb4k-M")
HINTS = ("edf", "llf", "dream", "dysta", "sjf", "planaria", "herald", "xrbench", "prema")
MISSES = parse_objective("misses")


def load(scenario: str, preset: str, drops: str, fps_scale: float = 1.0) -> Instance:
    return load_workload(
        ROOT / "instances" / "xrbench" / f"{scenario}.yaml",
        system=preset,
        cost="table:xrbench",
        duration_ns=10**9,
        granularity="block:4",
        drops=drops,
        fps_scale=fps_scale,
    )


def heuristics(instance: Instance, names: tuple[str, ...]) -> dict[str, Schedule]:
    return {name: replay(instance, make_scheduler(name)) for name in names}


def _row(result: Any) -> dict[str, Any]:
    return {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "wall_s": round(result.wall_s, 2),
    }


def run_oracle(instance: Instance, hints: list[Schedule], args: argparse.Namespace) -> dict:
    result = solve(instance, MISSES, time_limit=args.time_limit, workers=args.workers, hints=hints)
    return {**_row(result), "incumbent": result.solver.get("incumbent")}


def run_naive(instance: Instance, args: argparse.Namespace) -> dict:
    result = solve(instance, MISSES, time_limit=args.time_limit, workers=args.workers, naive=True)
    return _row(result)


# -- PyJobShop -----------------------------------------------------------------------------------
def run_pyjobshop(instance: Instance, args: argparse.Namespace) -> dict:
    """Solve the instance as a PyJobShop model (module docstring) and score its schedule."""
    try:
        from pyjobshop import Model
    except ImportError as exc:
        return {"status": f"not installed ({exc})"}
    if instance.settings.drops != "never":
        return {"status": "n/a (no drops in PyJobShop)"}
    started = time.perf_counter()
    model = Model()
    machines = [model.add_machine(name=name) for name in instance.accelerators]
    tasks: dict[int, Any] = {}
    sinks: dict[int, list[Any]] = {}
    sources: dict[int, list[Any]] = {}
    for job in range(instance.n_jobs):
        handle = model.add_job(
            weight=int(instance.job_weight[job]),
            release_date=int(instance.job_release[job]),
            due_date=int(instance.job_deadline[job]),
            name=f"job{job}",
        )
        ops = instance.required_ops(job, 0)
        has_succ = {int(p) for op in ops for p in instance.preds_of(op).tolist()}
        for op in ops:
            task = model.add_task(job=handle, name=f"op{op}")
            tasks[op] = task
            for acc in instance.eligible(op).tolist():
                model.add_mode(task, machines[acc], int(instance.op_duration[op, acc]))
            for pred in instance.preds_of(op).tolist():
                model.add_end_before_start(tasks[int(pred)], task)
        sinks[job] = [tasks[op] for op in ops if op not in has_succ]
        sources[job] = [tasks[op] for op in ops if len(instance.preds_of(op)) == 0]
    for job in range(instance.n_jobs):
        for up in instance.upstream_of(job).tolist():
            for sink in sinks[up]:
                for source in sources[job]:
                    model.add_end_before_start(sink, source)
    model.set_objective(weight_tardy_jobs=1)
    result = model.solve(
        solver="ortools",
        time_limit=args.time_limit,
        num_workers=args.workers,
        display=False,
    )
    wall = time.perf_counter() - started
    status = str(result.status.value).lower()
    objective = None
    if result.best is not None and result.best.tasks:
        schedule = _from_pyjobshop(instance, result.best, list(tasks))
        report = validate(instance, schedule)
        if not report.ok:
            return {"status": f"invalid schedule: {report.summary(1)}", "wall_s": round(wall, 2)}
        objective = evaluate(instance, schedule, MISSES)
    bound = float(result.lower_bound) if math.isfinite(result.lower_bound) else None
    gap = None
    if objective is not None and bound is not None:
        gap = 0.0 if objective - bound <= 1e-9 else (objective - bound) / max(objective, 1e-9)
    return {
        "status": "optimal" if status == "optimal" else status,
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "wall_s": round(wall, 2),
    }


def _from_pyjobshop(instance: Instance, solution: Any, ops: list[int]) -> Schedule:
    """PyJobShop's tasks (added in the order of ``ops``) as a Schedule of the instance."""
    schedule = Schedule.empty(instance, producer="pyjobshop")
    accelerator = schedule.op_accelerator.copy()
    start, end = schedule.op_start.copy(), schedule.op_end.copy()
    for op, task in zip(ops, solution.tasks, strict=True):
        accelerator[op] = int(task.resources[0])
        start[op], end[op] = int(task.start), int(task.end)
    return Schedule(
        op_accelerator=accelerator,
        op_start=start,
        op_end=end,
        job_status=np.full(instance.n_jobs, JobStatus.COMPLETED, np.int64),
        job_variant=np.zeros(instance.n_jobs, np.int64),
        job_drop_time=np.zeros(instance.n_jobs, np.int64),
        producer="pyjobshop",
    )


# -- tables --------------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 3) -> Any:
    if value is None:
        return "-"
    if isinstance(value, float):
        return round(value, digits)
    return value


def _ratio(numerator: Any, denominator: Any) -> Any:
    if not numerator or not denominator:
        return "-"
    return round(float(numerator) / float(denominator), 1)


def xrbench_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for preset in args.presets:
        for scenario in args.scenarios:
            for drops in args.drops:
                instance = load(scenario, preset, drops)
                pool = heuristics(instance, args.hints)
                best_name = min(pool, key=lambda n: evaluate(instance, pool[n], MISSES))
                best_value = evaluate(instance, pool[best_name], MISSES)
                row: dict[str, Any] = {
                    "scenario": scenario,
                    "preset": preset,
                    "drops": drops,
                    "jobs": instance.n_jobs,
                    "ops": instance.n_ops,
                    "best_heuristic": f"{best_name}={best_value:g}",
                    "oracle": run_oracle(instance, list(pool.values()), args),
                }
                if not args.no_naive:
                    row["naive"] = run_naive(instance, args)
                if not args.no_pyjobshop:
                    row["pyjobshop"] = run_pyjobshop(instance, args)
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def print_xrbench(rows: list[dict[str, Any]]) -> None:
    table = []
    for row in rows:
        oracle, naive, pjs = row["oracle"], row.get("naive", {}), row.get("pyjobshop", {})
        table.append(
            [
                row["scenario"], row["preset"], row["drops"], row["jobs"], row["best_heuristic"],
                oracle["status"], _fmt(oracle["objective"]), _fmt(oracle["bound"]),
                _fmt(oracle["gap"]), oracle["wall_s"],
                naive.get("status", "-"), _fmt(naive.get("objective")), _fmt(naive.get("bound")),
                _fmt(naive.get("gap")), naive.get("wall_s", "-"),
                _ratio(naive.get("wall_s"), oracle["wall_s"]),
                pjs.get("status", "-"), _fmt(pjs.get("objective")), _fmt(pjs.get("bound")),
                _fmt(pjs.get("gap")), pjs.get("wall_s", "-"),
                _ratio(pjs.get("wall_s"), oracle["wall_s"]),
            ]
        )  # fmt: skip
    headers = [
        "scenario", "preset", "drops", "jobs", "best heur.",
        "oracle", "obj", "LB", "gap", "s",
        "naive", "obj", "LB", "gap", "s", "naive/oracle s",
        "pyjobshop", "obj", "LB", "gap", "s", "pjs/oracle s",
    ]  # fmt: skip
    print(tabulate(table, headers=headers))


def vr_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for fps_scale in args.fps:
        for drops in ("never", "allowed"):
            instance = load("VR_gaming", "xrb4k-J", drops, fps_scale)
            pool = heuristics(instance, args.hints)
            values = {name: evaluate(instance, s, MISSES) for name, s in pool.items()}
            row: dict[str, Any] = {
                "fps_scale": fps_scale,
                "drops": drops,
                "jobs": instance.n_jobs,
                "edf": values.get("edf"),
                "best_heuristic": min(values.values()),
                "oracle": run_oracle(instance, list(pool.values()), args),
            }
            if not args.no_naive and drops == "never":
                row["naive"] = run_naive(instance, args)
            if not args.no_pyjobshop and drops == "never":
                row["pyjobshop"] = run_pyjobshop(instance, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def print_vr(rows: list[dict[str, Any]]) -> None:
    table = []
    for row in rows:
        oracle, naive, pjs = row["oracle"], row.get("naive", {}), row.get("pyjobshop", {})
        table.append(
            [
                f"x{row['fps_scale']}", row["drops"], row["jobs"], _fmt(row["edf"]),
                _fmt(row["best_heuristic"]), oracle["status"], _fmt(oracle["objective"]),
                _fmt(oracle["bound"]), oracle["wall_s"],
                naive.get("status", "-"), _fmt(naive.get("objective")), _fmt(naive.get("bound")),
                naive.get("wall_s", "-"),
                pjs.get("status", "-"), _fmt(pjs.get("objective")), _fmt(pjs.get("bound")),
                pjs.get("wall_s", "-"),
            ]
        )  # fmt: skip
    headers = [
        "fps", "drops", "jobs", "EDF late", "best heur.", "oracle", "obj", "LB", "s",
        "naive", "obj", "LB", "s", "pyjobshop", "obj", "LB", "s",
    ]  # fmt: skip
    print(tabulate(table, headers=headers))


# -- ablation and scaling -----------------------------------------------------------------------
ABLATION_INSTANCES = (  # (scenario, preset, fps scale): the hardest 1 s cases
    ("VR_gaming", "xrb4k-J", 1.2),
    ("VR_gaming", "xrb4k-J", 1.5),
    ("social_interactionA", "xrb4k-J", 1.0),
    ("AR_Assistant", "xrb4k-J", 1.0),
)
ABLATION_CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("naive + hints", {"naive": True}),
    ("direct, tight domains", {"formulation": "direct", "decompose": "off"}),
    ("selection", {"formulation": "selection", "decompose": "off"}),
    ("selection, lb_tree_search", {"formulation": "selection", "decompose": "off",
                                   "params": {"optimize_with_lb_tree_search": True}}),
    ("selection, linearization 2", {"formulation": "selection", "decompose": "off",
                                    "params": {"linearization_level": 2}}),
    ("selection + rolling horizon", {"formulation": "selection", "decompose": "rolling"}),
    ("selection + decomposition bound", {"formulation": "selection", "decompose": "bound"}),
    ("shipped (auto)", {}),
)  # fmt: skip


def ablation(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each model feature on or off, on the hardest instances (drops never, with hints)."""
    rows = []
    for scenario, preset, fps_scale in ABLATION_INSTANCES:
        instance = load(scenario, preset, "never", fps_scale)
        hints = list(heuristics(instance, args.hints).values())
        for name, options in ABLATION_CONFIGS:
            result = solve(
                instance, MISSES, time_limit=args.time_limit, workers=args.workers,
                hints=hints, **options,
            )  # fmt: skip
            row = {"instance": f"{scenario} {preset} x{fps_scale}", "config": name, **_row(result)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


SCALING_CASES = (  # (label, duration s, granularity, fps scale)
    ("1 s block:4 x1.0", 1, "block:4", 1.0),
    ("1 s block:4 x1.2", 1, "block:4", 1.2),
    ("1 s block:4 x1.5", 1, "block:4", 1.5),
    ("2 s block:4 x1.2", 2, "block:4", 1.2),
    ("5 s block:4 x1.2", 5, "block:4", 1.2),
    ("10 s block:4 x1.2", 10, "block:4", 1.2),
    ("1 s layer x1.2", 1, "layer", 1.2),
    ("1 s model x1.2", 1, "model", 1.2),
)


def scaling(args: argparse.Namespace) -> list[dict[str, Any]]:
    """VR_gaming on xrb4k-J, drops never: the full model alone (selection, no decomposition)
    against the shipped pipeline, as the trace grows longer, finer or more loaded."""
    rows = []
    for label, seconds, granularity, fps_scale in SCALING_CASES:
        instance = load_workload(
            ROOT / "instances" / "xrbench" / "VR_gaming.yaml", system="xrb4k-J",
            cost="table:xrbench", duration_ns=seconds * 10**9, granularity=granularity,
            drops="never", fps_scale=fps_scale,
        )  # fmt: skip
        hints = list(heuristics(instance, args.hints).values())
        for name, options in (
            ("full model", {"formulation": "selection", "decompose": "off"}),
            ("shipped", {}),
        ):
            result = solve(
                instance, MISSES, time_limit=args.time_limit, workers=args.workers,
                hints=hints, **options,
            )  # fmt: skip
            row = {
                "case": label, "jobs": instance.n_jobs, "ops": instance.n_ops, "config": name,
                "best_heuristic": min(evaluate(instance, h, MISSES) for h in hints),
                **_row(result),
            }  # fmt: skip
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(tabulate([{k: _fmt(v) for k, v in row.items()} for row in rows], headers="keys"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--drops", default="never", help="never, allowed or both (comma list)")
    parser.add_argument("--fps", default="1.0,1.2,1.5", help="VR_gaming table fps scales")
    parser.add_argument("--hints", default=",".join(HINTS))
    parser.add_argument(
        "--only", choices=("xrbench", "vr", "ablation", "scaling"), default=None,
        help="one section (default: xrbench and vr; ablation and scaling only on request)",
    )  # fmt: skip
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-pyjobshop", action="store_true")
    parser.add_argument("--quick", action="store_true", help="VR_gaming x1.0, 10 s, a smoke test")
    parser.add_argument("--json", metavar="FILE", help="write every row as JSON")
    args = parser.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.presets = [p for p in args.presets.split(",") if p]
    args.drops = [d for d in args.drops.split(",") if d]
    args.fps = [float(x) for x in args.fps.split(",") if x]
    args.hints = tuple(h for h in args.hints.split(",") if h)
    if args.quick:
        args.time_limit, args.fps, args.only = 10.0, [1.0], "vr"
    results: dict[str, Any] = {"time_limit_s": args.time_limit, "workers": args.workers}
    if args.only in (None, "xrbench"):
        results["xrbench"] = xrbench_table(args)
    if args.only in (None, "vr"):
        results["vr_gaming"] = vr_table(args)
    if args.only == "ablation":
        results["ablation"] = ablation(args)
    if args.only == "scaling":
        results["scaling"] = scaling(args)
    print()
    for section in ("ablation", "scaling"):
        if section in results:
            print(f"{section}; {args.time_limit:g} s, {args.workers} workers")
            print_rows(results[section])
    if "xrbench" in results:
        print(f"XRBench, 1 s, block:4, misses; {args.time_limit:g} s, {args.workers} workers")
        print_xrbench(results["xrbench"])
        print()
    if "vr_gaming" in results:
        print(f"VR_gaming on xrb4k-J, 1 s, block:4, misses; {args.time_limit:g} s, "
              f"{args.workers} workers")  # fmt: skip
        print_vr(results["vr_gaming"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``rtmm solve`` and ``rtmm compare``: the offline oracle, alone or against online schedulers.

Both only parse arguments and print: the oracle is :func:`rtmm_opt.oracle.solve`, the
comparison (gaps, metric rows) :func:`rtmm_opt.studies.compare`, whose docstring defines the
gaps. Both solve the clean problem: an instance that reproduces another simulator's quirks
(``settings.compat``) is solved, and its heuristics replayed, with ``compat: none``; the output
says so (``compat_stripped`` in JSON, a note otherwise), and ``instance_hash`` is then the hash
of the clean instance.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from rtmm_opt.cli.output import (
    check_outputs,
    output_path,
    print_json,
    print_table,
    without_timings,
)
from rtmm_opt.cli.run import OUTPUT_FLAGS, add_scheduler_options, write_outputs
from rtmm_opt.cli.workload_options import add_workload_options, instance_from_args
from rtmm_opt.errors import InputError, excerpt

AUTO_HINTS = ("edf", "llf", "dream", "dysta")
JOBSHOP_FORMATS = ("jsplib", "taillard", "fjs")


def _add_solver_options(parser: argparse.ArgumentParser, default_limit: float) -> None:
    parser.add_argument(
        "--objective",
        default="misses",
        help="misses (default), tardiness, energy, makespan, antt, accuracy_loss, uxcost, or a "
        "weighted sum "
        "such as misses+0.001*energy",
    )
    parser.add_argument(
        "--time-limit", default=str(default_limit), help=f"seconds (default {default_limit:g})"
    )
    parser.add_argument("--workers", default="0", help="CP-SAT workers (default: all cores)")
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="byte-identical output: one worker, the time limit in CP-SAT's deterministic time, "
        "and no wall-clock fields",
    )
    parser.add_argument("--archive", metavar="F.pb", help="write the CP-SAT model proto here")


def register(commands: Any) -> None:
    solve = commands.add_parser("solve", help="offline-optimal or bounded schedule (CP-SAT)")
    add_workload_options(solve)
    _add_solver_options(solve, 60.0)
    solve.add_argument(
        "--hint",
        default="auto",
        help="schedulers whose schedules warm-start the solver: auto (edf,llf,dream,dysta), "
        "none, or a comma list",
    )
    solve.add_argument(
        "--format",
        choices=JOBSHOP_FORMATS,
        help="WORKLOAD is a classic job-shop file in this format",
    )
    solve.add_argument("--gantt", metavar="F.png", help="draw the oracle's schedule")
    solve.add_argument("--trace", metavar="F.json", help="write a Chrome/Perfetto trace")
    solve.add_argument("--schedule", metavar="F.csv", help="write the oracle's schedule as CSV")
    solve.add_argument("--json", action="store_true", help="print one JSON object")
    solve.set_defaults(handler=run_solve)

    compare = commands.add_parser(
        "compare", help="online schedulers against the oracle on the same instance"
    )
    add_workload_options(compare)
    _add_solver_options(compare, 60.0)
    compare.add_argument(
        "--schedulers",
        default="edf,llf,prema,dysta,dream",
        help="comma list of schedulers (default edf,llf,prema,dysta,dream)",
    )
    add_scheduler_options(compare)
    compare.add_argument(
        "--no-hints",
        action="store_true",
        help="solve without the schedulers' schedules as warm starts",
    )
    compare.add_argument(
        "--gantt", metavar="F.png", help="the oracle and the worst scheduler, one above the other"
    )
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.set_defaults(handler=run_compare)


def solver_settings(args: argparse.Namespace) -> dict[str, Any]:
    try:
        limit = float(args.time_limit)
        if not (0 < limit < 1e7) or math.isnan(limit):
            raise ValueError
    except ValueError:
        raise InputError(
            f"expected a positive number of seconds, got {excerpt(args.time_limit)}",
            field="--time-limit",
        ) from None
    try:
        workers = int(args.workers)
        if not 0 <= workers <= 1024:
            raise ValueError
    except ValueError:
        raise InputError(
            f"expected a non-negative integer, got {excerpt(args.workers)}", field="--workers"
        ) from None
    if args.deterministic:
        if workers not in (0, 1):
            raise InputError("--deterministic runs one worker", field="--workers")
        workers = 1
    return {"time_limit": limit, "workers": workers or None}


def solver_limits(args: argparse.Namespace) -> Any:
    """The oracle's :class:`~rtmm_opt.oracle.SolverLimits` from the command line."""
    from rtmm_opt.oracle import SolverLimits

    settings = solver_settings(args)
    return SolverLimits(
        time_limit=settings["time_limit"], workers=settings["workers"],
        seed=int(getattr(args, "seed", 0) or 0), deterministic=args.deterministic,
    )  # fmt: skip


def printable(data: dict[str, Any], deterministic: bool) -> dict[str, Any]:
    """``data`` without its wall-clock fields when ``deterministic`` (see ``docs/outputs.md``)."""
    return without_timings(data) if deterministic else data


def _schedulers(text: str, flag: str) -> list[str]:
    from rtmm_opt.schedulers.registry import scheduler_class

    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise InputError("expected at least one scheduler name", field=flag)
    for name in names:
        try:
            scheduler_class(name)
        except InputError as exc:
            raise InputError(exc.reason, field=flag) from None
    return names


def _heuristic_schedules(instance: Any, names: list[str], params: dict[str, Any]) -> list[Any]:
    from rtmm_opt.engine import replay
    from rtmm_opt.schedulers import make_scheduler

    return [replay(instance, make_scheduler(name, params)) for name in names]


def _load(args: argparse.Namespace) -> Any:
    if getattr(args, "format", None):
        from rtmm_opt.oracle.jobshop import read_jobshop

        return read_jobshop(args.workload, format=args.format)
    return instance_from_args(args)


def _compat_note(stripped: str | None) -> str:
    return (
        f"note: the instance's compat mode '{stripped}' (a reproduction of another "
        "simulator's quirks) is not part of the problem; solved, and heuristics replayed, with "
        "compat 'none'"
    )


def run_solve(args: argparse.Namespace) -> int:
    from rtmm_opt.oracle import parse_objective, solve
    from rtmm_opt.studies.comparison import clean_problem

    check_outputs(args, (*OUTPUT_FLAGS, "--archive"))
    objective = parse_objective(args.objective)
    limits = solver_limits(args)
    instance, stripped = clean_problem(_load(args))
    objective.check(instance)
    if args.hint == "none":
        names: list[str] = []
    elif args.hint == "auto":
        from rtmm_opt.schedulers.registry import scheduler_names

        names = [name for name in AUTO_HINTS if name in scheduler_names()]
    else:
        names = _schedulers(args.hint, "--hint")
    hints = _heuristic_schedules(instance, names, {})
    archive = output_path(args.archive, "--archive") if args.archive else None  # makes its folder
    result = solve(instance, objective, hints=hints, archive=archive, limits=limits)
    data = {"instance": instance.name, "instance_hash": instance.content_hash, **result.to_dict()}
    data["hints"] = names
    data["compat_stripped"] = stripped
    if result.schedule is not None:
        write_outputs(args, instance, result.schedule, None)
    if args.json:
        print_json(printable(data, args.deterministic))
        return 0
    if stripped:
        print(_compat_note(stripped))
    print(
        f"{instance.name} ({instance.n_jobs} jobs, {instance.n_ops} ops), objective {objective}: "
        f"{result.status}"
    )
    rows = [
        ("objective", result.objective),
        ("bound", result.bound),
        ("gap", result.gap),
        *([] if args.deterministic else [("wall s", round(result.wall_s, 2))]),
        ("incumbent from", result.solver.get("incumbent")),
    ]
    print_table(rows, ["", "value"])
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from rtmm_opt.oracle import parse_objective
    from rtmm_opt.schedulers import parse_params
    from rtmm_opt.studies.comparison import compare, relative_gap

    check_outputs(args, ("--gantt",))
    objective = parse_objective(args.objective)
    limits = solver_limits(args)  # checked before the replays start
    names = _schedulers(args.schedulers, "--schedulers")
    params = parse_params(args.param)
    comparison = compare(
        instance_from_args(args), names, objective, params=params, hints=not args.no_hints,
        limits=limits,
    )  # fmt: skip
    instance, result = comparison.instance, comparison.oracle
    worst = comparison.worst
    if args.gantt and result.schedule is not None and worst is not None:
        from rtmm_opt.viz.gantt import plot_gantt_pair, save_figure

        figure, _ = plot_gantt_pair(
            instance,
            result.schedule,
            worst.schedule,
            labels=(f"oracle ({result.status})", worst.name),
            title=f"{instance.name}: {objective}",
        )
        save_figure(figure, output_path(args.gantt, "--gantt"))
    if args.json:
        print_json(printable(comparison.to_dict(), args.deterministic))
        return 0
    if comparison.compat_stripped:
        print(_compat_note(comparison.compat_stripped))
    print(
        f"{instance.name} ({instance.n_jobs} jobs, {instance.n_ops} ops); "
        f"oracle {result.status}: objective {result.objective}, bound {result.bound}"
        + ("" if args.deterministic else f", {result.wall_s:.1f} s")
    )
    print(f"objective {objective}: {comparison.objective_label}; gaps are (h − oracle) / h")
    columns = ["miss_rate", "sla_rate", "energy_mJ", "antt", "utilisation", "xrbench_score"]
    headers = [
        "scheduler", f"objective ({objective})", "gap", "gap to bound", "miss rate",
        "SLA rate", "energy mJ", "ANTT", "utilisation", "XRBench",
    ]  # fmt: skip
    if any(len(task.variants) > 1 for task in instance.tasks):
        columns.append("accuracy")  # variant choices differ: show what they cost
        headers.append("accuracy")
    table = []
    for row in comparison.schedulers:
        values = row.metrics.to_dict()
        table.append(
            (row.name, row.objective, row.gap, row.gap_to_bound, *(values[c] for c in columns))
        )
    if result.metrics is not None:
        table.append(
            (
                "oracle",
                result.objective,
                0.0,
                relative_gap(result.objective or 0.0, result.bound),
                *(result.metrics[column] for column in columns),
            )
        )
    formats = [".4g"] * len(headers)
    formats[headers.index("XRBench")] = ".2f"  # a 0..100 score: 1e-25 reads better as 0.00
    print_table(table, headers, floatfmt=formats)
    return 0

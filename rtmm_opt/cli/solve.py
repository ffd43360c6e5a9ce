"""``rtmm solve`` and ``rtmm compare``: the offline oracle, alone or against online schedulers.

Gaps are reported the same way everywhere: for a heuristic objective h and an oracle objective o
(its incumbent) or bound b, ``gap = (h − o) / |h|`` and ``gap_to_bound = (h − b) / |h|``. That
is the share of the heuristic's cost the oracle avoids (or that no schedule can avoid less
than). Both are 0 when h = 0, and they stay defined when the optimum is 0 (e.g. no misses).
The absolute differences ``excess = h − o`` and ``excess_to_bound = h − b`` are reported too.

Both solve the clean problem: an instance that reproduces another simulator's quirks
(``settings.compat``, e.g. ``dysta`` from ``rtmm import dysta``) is solved, and its heuristics
replayed, with ``compat: none``. The output says so (``compat_stripped`` in JSON, a note
otherwise), and ``instance_hash`` is then the hash of the clean instance.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from rtmm_opt.cli.output import print_json, print_table
from rtmm_opt.cli.run import add_scheduler_options, writable, write_outputs
from rtmm_opt.cli.workload_options import add_workload_options, instance_from_args
from rtmm_opt.errors import InputError

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
            f"expected a positive number of seconds, got {args.time_limit!r}", field="--time-limit"
        ) from None
    try:
        workers = int(args.workers)
        if not 0 <= workers <= 1024:
            raise ValueError
    except ValueError:
        raise InputError(
            f"expected a non-negative integer, got {args.workers!r}", field="--workers"
        ) from None
    return {"time_limit": limit, "workers": workers or None}


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
    from rtmm_opt.engine.policy import replay
    from rtmm_opt.schedulers import make_scheduler

    return [replay(instance, make_scheduler(name, params)) for name in names]


def _load(args: argparse.Namespace) -> Any:
    if getattr(args, "format", None):
        from rtmm_opt.oracle.jobshop import read_jobshop

        return read_jobshop(args.workload, format=args.format)
    return instance_from_args(args)


def _clean_problem(instance: Any) -> tuple[Any, str | None]:
    """The instance without its compatibility mode, and the mode removed (None if none).

    The oracle solves the project's own semantics; a peer simulator's quirks (e.g. Dysta's
    clock rewinds) are not part of the problem, so the heuristics it is compared with replay
    the same clean instance."""
    compat = instance.settings.compat
    if compat == "none":
        return instance, None
    return instance.with_settings(compat="none"), compat


def _compat_note(stripped: str | None) -> str:
    return (
        f"note: the instance's compat mode '{stripped}' (a reproduction of another "
        "simulator's quirks) is not part of the problem; solved, and heuristics replayed, with "
        "compat 'none'"
    )


def run_solve(args: argparse.Namespace) -> int:
    from rtmm_opt.oracle import parse_objective, solve

    objective = parse_objective(args.objective)
    settings = solver_settings(args)
    instance, stripped = _clean_problem(_load(args))
    objective.check(instance)
    if args.hint == "none":
        names: list[str] = []
    elif args.hint == "auto":
        from rtmm_opt.schedulers.registry import scheduler_names

        names = [name for name in AUTO_HINTS if name in scheduler_names()]
    else:
        names = _schedulers(args.hint, "--hint")
    hints = _heuristic_schedules(instance, names, {})
    result = solve(
        instance,
        objective,
        seed=int(getattr(args, "seed", 0) or 0),
        hints=hints,
        archive=args.archive,
        **settings,
    )
    data = {"instance": instance.name, "instance_hash": instance.content_hash, **result.to_dict()}
    data["hints"] = names
    data["compat_stripped"] = stripped
    if result.schedule is not None:
        write_outputs(args, instance, result.schedule, None)
    if args.json:
        print_json(data)
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
        ("wall s", round(result.wall_s, 2)),
        ("incumbent from", result.solver.get("incumbent")),
    ]
    print_table(rows, ["", "value"])
    return 0


def _gap(value: float, reference: float | None) -> float | None:
    if reference is None or math.isinf(reference):
        return None
    if value == 0:
        return 0.0
    return (value - reference) / abs(value)


def run_compare(args: argparse.Namespace) -> int:
    from rtmm_opt.metrics.metrics import compute_metrics
    from rtmm_opt.oracle import evaluate, parse_objective, solve
    from rtmm_opt.schedulers import parse_params

    objective = parse_objective(args.objective)
    settings = solver_settings(args)
    names = _schedulers(args.schedulers, "--schedulers")
    params = parse_params(args.param)
    instance, stripped = _clean_problem(instance_from_args(args))
    objective.check(instance)
    schedules = _heuristic_schedules(instance, names, params)
    result = solve(instance, objective, seed=int(args.seed or 0), hints=schedules, **settings)
    rows: list[dict[str, Any]] = []
    for name, schedule in zip(names, schedules, strict=True):
        value = evaluate(instance, schedule, objective)
        rows.append(
            {
                "name": name,
                "objective": value,
                "gap": _gap(value, result.objective),
                "gap_to_bound": _gap(value, result.bound),
                "excess": None if result.objective is None else value - result.objective,
                "excess_to_bound": None if result.bound is None else value - result.bound,
                "metrics": compute_metrics(instance, schedule).to_dict(),
            }
        )
    data = {
        "instance": instance.name,
        "instance_hash": instance.content_hash,
        "objective_spec": str(objective),
        "oracle": result.to_dict(),
        "schedulers": rows,
        "compat_stripped": stripped,
    }
    if args.gantt and result.schedule is not None:
        worst = max(range(len(rows)), key=lambda i: rows[i]["objective"])
        from rtmm_opt.viz.gantt import plot_gantt_pair, save_figure

        figure, _ = plot_gantt_pair(
            instance,
            result.schedule,
            schedules[worst],
            labels=(f"oracle ({result.status})", names[worst]),
            title=f"{instance.name}: {objective}",
        )
        save_figure(figure, writable(args.gantt, "--gantt"))
    if args.json:
        print_json(data)
        return 0
    if stripped:
        print(_compat_note(stripped))
    print(
        f"{instance.name} ({instance.n_jobs} jobs, {instance.n_ops} ops), objective {objective}; "
        f"oracle {result.status}: objective {result.objective}, bound {result.bound}, "
        f"{result.wall_s:.1f} s"
    )
    columns = ["miss_rate", "energy_mJ", "antt", "xrbench_score"]
    headers = ["scheduler", "objective", "gap", "gap to bound", "miss rate", "energy mJ", "ANTT"]
    headers.append("XRBench")
    if any(len(task.variants) > 1 for task in instance.tasks):
        columns.append("accuracy")  # variant choices differ: show what they cost
        headers.append("accuracy")
    table = [
        (
            row["name"],
            row["objective"],
            row["gap"],
            row["gap_to_bound"],
            *(row["metrics"][column] for column in columns),
        )
        for row in rows
    ]
    if result.metrics is not None:
        table.append(
            (
                "oracle",
                result.objective,
                0.0,
                _gap(result.objective or 0.0, result.bound),
                *(result.metrics[column] for column in columns),
            )
        )
    formats = [".4g"] * len(headers)
    formats[headers.index("XRBench")] = ".2f"  # a 0..100 score: 1e-25 reads better as 0.00
    print_table(table, headers, floatfmt=formats)
    return 0

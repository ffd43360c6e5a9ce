"""``rtmm run``: replay a workload under one online scheduler (or several, one after the other
on the same instance) and score the schedules."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rtmm_opt.cli.output import check_outputs, output_path, print_json, print_table
from rtmm_opt.cli.workload_options import add_workload_options, instance_from_args
from rtmm_opt.errors import InputError, excerpt

HEADLINE = (
    "miss_rate", "drop_rate", "late_rate", "tardiness_ms", "energy_mJ", "makespan_ms", "antt",
    "throughput", "stp", "sla_rate", "utilisation", "xrbench_score", "uxcost",
)  # fmt: skip


OUTPUT_FLAGS = ("--schedule", "--trace", "--gantt")
# the columns of the table of several schedulers
SUMMARY = ("miss_rate", "sla_rate", "tardiness_ms", "energy_mJ", "antt", "stp", "xrbench_score")


def add_scheduler_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="scheduler parameter (repeatable), e.g. --param alpha=0.5",
    )


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="replay a workload under an online scheduler")
    add_workload_options(run)
    run.add_argument(
        "--scheduler",
        required=True,
        help="scheduler name, or several separated by commas (one instance, one process; "
        "--json then prints a list)",
    )
    add_scheduler_options(run)
    run.add_argument("--gantt", metavar="F.png", help="draw a Gantt chart per accelerator")
    run.add_argument("--trace", metavar="F.json", help="write a Chrome/Perfetto trace")
    run.add_argument("--schedule", metavar="F.csv", help="write the schedule as CSV")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=execute)


def write_outputs(args: argparse.Namespace, instance: Any, schedule: Any, metrics: Any) -> None:
    """The optional ``--gantt/--trace/--schedule`` files of run (and later compare)."""
    if getattr(args, "schedule", None):
        schedule.to_csv(instance, output_path(args.schedule, "--schedule"))
    if getattr(args, "trace", None):
        from rtmm_opt.viz.perfetto import write_trace

        write_trace(output_path(args.trace, "--trace"), instance, schedule, metrics=metrics)
    if getattr(args, "gantt", None):
        from rtmm_opt.viz.gantt import save_gantt

        save_gantt(
            output_path(args.gantt, "--gantt"),
            instance,
            schedule,
            title=f"{instance.name}: {schedule.producer}",
        )


def scheduler_names_of(text: str) -> list[str]:
    """``"edf"`` → ``["edf"]``; ``"fcfs, sjf"`` → ``["fcfs", "sjf"]``; each name once."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise InputError(
            f"expected NAME or NAME,NAME,..., got {excerpt(text)}", field="--scheduler"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"{', '.join(repeated)} given twice", field="--scheduler")
    return names


def execute(args: argparse.Namespace) -> int:
    from rtmm_opt.schedulers import make_scheduler, parse_params

    check_outputs(args, OUTPUT_FLAGS)
    names = scheduler_names_of(args.scheduler)
    if len(names) > 1:
        flag = next((f for f in OUTPUT_FLAGS if getattr(args, f[2:], None)), None)
        if flag is not None:
            raise InputError("writes one scheduler's schedule: give one --scheduler", field=flag)
    params = parse_params(args.param)
    # every scheduler and its parameters are checked before the instance is built
    policies = [make_scheduler(name, params) for name in names]
    instance = instance_from_args(args)
    runs = [
        run_one(args, instance, name, policy, params)
        for name, policy in zip(names, policies, strict=True)
    ]
    results = [result for result, _ in runs]
    if args.json:
        print_json(results[0] if len(results) == 1 else results)
    elif len(results) > 1:
        print(f"{instance.name} ({instance.n_jobs} jobs, {instance.n_ops} ops, hash "
              f"{instance.content_hash})")  # fmt: skip
        print_table(
            [
                [r["scheduler"], "yes" if r["valid"] else "NO"]
                + [r["metrics"][m] if r["metrics"] else None for m in SUMMARY]
                for r in results
            ],
            ["scheduler", "valid", *SUMMARY],
        )
    invalid = [(result["scheduler"], summary) for result, summary in runs if summary is not None]
    for name, summary in invalid:
        prefix = f"{name}: " if len(runs) > 1 else ""
        print(f"rtmm: internal error: {prefix}{summary}", file=sys.stderr)
    return 1 if invalid else 0


def run_one(
    args: argparse.Namespace, instance: Any, name: str, policy: Any, params: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Replay one scheduler, validate and score its schedule; print it unless --json or several
    schedulers; write its output files. Returns the JSON result and, if the schedule is invalid,
    the validator's summary."""
    from rtmm_opt.engine import replay
    from rtmm_opt.metrics.metrics import compute_metrics
    from rtmm_opt.schedule.validator import validate

    schedule = replay(instance, policy, check=False)
    report = validate(instance, schedule)
    metrics = compute_metrics(instance, schedule) if report.ok else None
    result: dict[str, Any] = {
        "scheduler": name,
        "params": params,
        "instance": instance.name,
        "instance_hash": instance.content_hash,
        "jobs": instance.n_jobs,
        "ops": instance.n_ops,
        "valid": report.ok,
        "metrics": metrics.to_dict() if metrics else None,
        "engine": dict(schedule.info),
    }
    if not report.ok:
        result["violations"] = [str(v) for v in report.violations[:20]]
    else:
        write_outputs(args, instance, schedule, metrics)
    several = "," in args.scheduler
    if not args.json and not several:
        print(
            f"{instance.name} ({instance.n_jobs} jobs, {instance.n_ops} ops, hash "
            f"{instance.content_hash}) under {name}: "
            + ("valid schedule" if report.ok else "INVALID schedule")
        )
        if metrics:
            values = metrics.to_dict()
            print_table([(metric, values[metric]) for metric in HEADLINE], ["metric", "value"])
            rows = [
                (task, m["jobs"], m["completed"], m["dropped"], m["late"], m["xrbench_score"])
                for task, m in values["per_task"].items()
            ]
            print_table(rows, ["task", "jobs", "completed", "dropped", "late", "xrbench score"])
    return result, (None if report.ok else report.summary())

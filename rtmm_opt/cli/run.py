"""``rtmm run``: replay a workload under one online scheduler and score the schedule."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rtmm_opt.cli.output import check_outputs, output_path, print_json, print_table
from rtmm_opt.cli.workload_options import add_workload_options, instance_from_args

HEADLINE = (
    "miss_rate", "drop_rate", "late_rate", "tardiness_ms", "energy_mJ", "makespan_ms", "antt",
    "throughput", "stp", "sla_rate", "utilisation", "xrbench_score", "uxcost",
)  # fmt: skip


OUTPUT_FLAGS = ("--schedule", "--trace", "--gantt")


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
    run.add_argument("--scheduler", required=True, help="scheduler name (see --help of 'rtmm run')")
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


def execute(args: argparse.Namespace) -> int:
    from rtmm_opt.engine import replay
    from rtmm_opt.metrics.metrics import compute_metrics
    from rtmm_opt.schedule.validator import validate
    from rtmm_opt.schedulers import make_scheduler, parse_params

    check_outputs(args, OUTPUT_FLAGS)
    params = parse_params(args.param)
    policy = make_scheduler(args.scheduler, params)  # check the scheduler before building
    instance = instance_from_args(args)
    schedule = replay(instance, policy, check=False)
    report = validate(instance, schedule)
    metrics = compute_metrics(instance, schedule) if report.ok else None
    result: dict[str, Any] = {
        "scheduler": args.scheduler,
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
    if args.json:
        print_json(result)
    else:
        print(
            f"{instance.name} ({instance.n_jobs} jobs, {instance.n_ops} ops, hash "
            f"{instance.content_hash}) under {args.scheduler}: "
            + ("valid schedule" if report.ok else "INVALID schedule")
        )
        if metrics:
            values = metrics.to_dict()
            print_table([(name, values[name]) for name in HEADLINE], ["metric", "value"])
            rows = [
                (task, m["jobs"], m["completed"], m["dropped"], m["late"], m["xrbench_score"])
                for task, m in values["per_task"].items()
            ]
            print_table(rows, ["task", "jobs", "completed", "dropped", "late", "xrbench score"])
    if not report.ok:
        print(f"rtmm: internal error: {report.summary()}", file=sys.stderr)
        return 1
    return 0

"""``rtmm build``: turn a workload into the Instance every scheduler and the oracle consume."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rtmm_opt.cli.output import check_outputs, print_json
from rtmm_opt.cli.workload_options import add_workload_options, instance_from_args
from rtmm_opt.errors import InputError


def register(commands: Any) -> None:
    build = commands.add_parser(
        "build", help="build an instance JSON from a scenario (jobs, ops, integer costs)"
    )
    add_workload_options(build)
    build.add_argument("--out", help="write the instance JSON here")
    build.add_argument("--json", action="store_true", help="print a summary as JSON")
    build.set_defaults(handler=run)


def summary(instance: Any) -> dict[str, Any]:
    per_task = []
    for index, task in enumerate(instance.tasks):
        jobs = [j for j in range(instance.n_jobs) if instance.job_task[j] == index]
        per_task.append(
            {
                "task": task.name,
                "model": task.model,
                "jobs": len(jobs),
                "ops": int(sum(len(instance.ops_of(j)) for j in jobs)),
                "isolated_latency": int(instance.job_isolated_latency[jobs[0]]) if jobs else None,
            }
        )
    return {
        "name": instance.name,
        "instance_hash": instance.content_hash,
        "jobs": instance.n_jobs,
        "ops": instance.n_ops,
        "accelerators": list(instance.accelerators),
        "time_unit_ns": instance.time_unit_ns,
        "settings": {
            "drops": instance.settings.drops,
            "context_switch": instance.settings.context_switch,
            "contention": instance.settings.contention,
        },
        "tasks": per_task,
        "metadata": dict(instance.metadata),
    }


def run(args: argparse.Namespace) -> int:
    check_outputs(args, ("--out",))
    instance = instance_from_args(args)
    if args.out:
        out = Path(args.out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            instance.to_json(out)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=out) from None
    info = summary(instance)
    if args.json:
        print_json(info)
        return 0
    unit = "ns" if instance.time_unit_ns == 1 else f"x{instance.time_unit_ns}ns"
    print(
        f"{info['name']}: {info['jobs']} jobs, {info['ops']} ops on "
        f"{len(info['accelerators'])} accelerators, hash {info['instance_hash']}"
    )
    for task in info["tasks"]:
        print(
            f"  {task['task']:<28} {task['model']:<26} {task['jobs']:>5} jobs {task['ops']:>7} ops"
            f"  isolated {task['isolated_latency']} {unit}"
        )
    if args.out:
        print(f"wrote {args.out}")
    return 0

"""``rtmm scenarios list``: the bundled scenarios, which every WORKLOAD argument takes by name."""

from __future__ import annotations

import argparse
from typing import Any

from rtmm_opt.cli.output import print_json, print_table


def register(commands: Any) -> None:
    scenarios = commands.add_parser("scenarios", help="bundled scenarios (usable as WORKLOAD)")
    actions = scenarios.add_subparsers(
        dest="action", metavar="ACTION", parser_class=type(scenarios)
    )
    actions.required = True
    listing = actions.add_parser("list", help="list the bundled scenarios and their tasks")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=list_scenarios)


def _task_text(row: dict[str, Any]) -> str:
    """``gaze [GE_FBNet_C] (60 fps, after eye, p 0.5)``: a task as the table shows it (the
    model only where its name differs from the task's)."""
    parts = [row["rate"]] if row["rate"] != "upstream" else []
    if row["depends_on"]:
        parts.append(f"after {', '.join(row['depends_on'])}")
    if row["trigger_probability"] != 1.0:
        parts.append(f"p {row['trigger_probability']:g}")
    model = f" [{row['model']}]" if row["model"] != row["task"] else ""
    return f"{row['task']}{model} ({', '.join(parts)})"


def list_scenarios(args: argparse.Namespace) -> int:
    from rtmm_opt.io.bundled import list_scenarios, short_names
    from rtmm_opt.scenario import load_scenario, scenario_summary

    bundled = list_scenarios()
    entries: list[dict[str, Any]] = []
    for (name, path), short in zip(bundled.items(), short_names(list(bundled)), strict=True):
        scenario = load_scenario(path)
        entries.append(
            {
                "name": name,
                "short_name": short,
                "file": str(path),
                "description": scenario.description,
                "duration_ms": scenario.duration_ms,
                "tasks": scenario_summary(scenario),
            }
        )
    if args.json:
        print_json(entries)
    else:
        print_table(
            [(e["name"], "; ".join(_task_text(row) for row in e["tasks"])) for e in entries],
            ["scenario", "tasks"],
        )
        print(
            f"{len(entries)} scenarios; a WORKLOAD argument takes the name, its last part "
            "(VR_gaming) or its path in a checkout (instances/xrbench/VR_gaming.yaml)"
        )
    return 0

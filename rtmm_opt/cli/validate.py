"""``rtmm validate FILE...``: check any input file; exit 2 with the reason if one is bad.

The kind of a file is told by its extension and, for YAML/JSON, by its ``kind``/``format`` field:
MAESTRO ``.m`` files, model/scenario/system YAML, instance JSON (optionally with a schedule to
check against it), ONNX models and per-layer cost tables (``.csv``/``.csv.gz``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rtmm_opt.cli.output import print_json
from rtmm_opt.errors import InputError, excerpt

YAML_KINDS = ("model", "scenario", "system")


def register(commands: Any) -> None:
    validate = commands.add_parser(
        "validate", help="check input files (exit 2 with the reason if bad)"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument(
        "--schedule", help="with one instance JSON: also check this schedule JSON against it"
    )
    validate.add_argument("--json", action="store_true", help="print one JSON object")
    validate.set_defaults(handler=run)


def check_file(path: str) -> dict[str, Any]:
    """Load ``path`` with the loader for its kind; return what it is. Raises InputError."""
    file = Path(path)
    if not file.exists():
        raise InputError("no such file", file=path)
    suffixes = "".join(file.suffixes[-2:]).lower()
    if file.suffix == ".m":
        from rtmm_opt.workload.maestro import parse_maestro

        parsed = parse_maestro(file)
        if any(network.fps is not None for network in parsed.networks):
            from rtmm_opt.scenario.scenario import load_scenario

            scenario = load_scenario(file)
            return {
                "file": path,
                "kind": "maestro scenario",
                "name": scenario.name,
                "tasks": len(scenario.tasks),
            }
        return {
            "file": path,
            "kind": "maestro models",
            "networks": [n.name for n in parsed.networks],
        }
    if file.suffix in (".yaml", ".yml"):
        from rtmm_opt.io.strict import load_yaml

        data = load_yaml(file)
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind not in YAML_KINDS:
            reason = "missing" if kind is None else f"unknown kind {excerpt(kind)}"
            raise InputError(
                f"{reason}; expected one of {', '.join(YAML_KINDS)}", file=path, field="kind"
            )
        if kind == "model":
            from rtmm_opt.workload.modelfile import load_model

            model = load_model(file)
            return {"file": path, "kind": "model", "name": model.name, "layers": len(model)}
        if kind == "scenario":
            from rtmm_opt.scenario.scenario import load_scenario

            scenario = load_scenario(file)
            return {
                "file": path,
                "kind": "scenario",
                "name": scenario.name,
                "tasks": len(scenario.tasks),
            }
        from rtmm_opt.hardware.systemfile import load_system

        system = load_system(file)
        return {"file": path, "kind": "system", "name": system.name, "accelerators": len(system)}
    if file.suffix == ".json":
        from rtmm_opt.instance.instance import Instance

        instance = Instance.load(file)
        return {
            "file": path,
            "kind": "instance",
            "name": instance.name,
            "jobs": instance.n_jobs,
            "ops": instance.n_ops,
            "hash": instance.content_hash,
        }
    if file.suffix == ".onnx":
        from rtmm_opt.workload.onnx_import import import_onnx

        model = import_onnx(file)
        return {"file": path, "kind": "onnx model", "name": model.name, "layers": len(model)}
    if suffixes.endswith((".csv", ".csv.gz")):
        from rtmm_opt.hardware.cost.table import TableCostModel

        table = TableCostModel(file)
        return {"file": path, "kind": "cost table", "rows": table.validate()}
    raise InputError(
        "unknown file type; expected .m, .yaml/.yml, .json, .onnx, .csv or .csv.gz", file=path
    )


def check_schedule(instance_path: str, schedule_path: str) -> dict[str, Any]:
    from rtmm_opt.instance.instance import Instance
    from rtmm_opt.io.strict import load_json
    from rtmm_opt.schedule.schedule import Schedule
    from rtmm_opt.schedule.validator import validate

    instance = Instance.load(instance_path)
    schedule = Schedule.from_dict(load_json(schedule_path), file=schedule_path)
    report = validate(instance, schedule)
    if not report.ok:
        first = report.violations[0]
        more = f" (and {report.total - 1} more)" if report.total > 1 else ""
        raise InputError(
            f"invalid schedule: {first.kind}: {first.message}{more}", file=schedule_path
        )
    return {"file": schedule_path, "kind": "schedule", "valid": True}


def run(args: argparse.Namespace) -> int:
    results = [check_file(path) for path in args.files]
    if args.schedule:
        if len(args.files) != 1:
            raise InputError("--schedule needs exactly one instance file", field="--schedule")
        results.append(check_schedule(args.files[0], args.schedule))
    if args.json:
        print_json({"valid": True, "files": results})
    else:
        for item in results:
            details = ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("file", "kind"))
            print(f"ok  {item['file']}  ({item['kind']}{': ' + details if details else ''})")
    return 0

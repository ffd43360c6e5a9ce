"""``rtmm models list|show|import``."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

from rtmm_opt.cli.output import output_dir, print_json, print_table, si
from rtmm_opt.errors import InputError, excerpt


def register(commands: Any) -> None:
    models = commands.add_parser("models", help="bundled and imported models (layer DAGs)")
    actions = models.add_subparsers(dest="action", metavar="ACTION", parser_class=type(models))
    actions.required = True

    listing = actions.add_parser("list", help="list the bundled models")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=list_models)

    show = actions.add_parser("show", help="a model's layers and, with --system, their costs")
    show.add_argument("model", help="bundled model name, or a model YAML / .m / .onnx file")
    show.add_argument("--system", help="system preset, alias or YAML file: adds per-layer costs")
    show.add_argument(
        "--cost",
        default="analytical",
        help="cost model: analytical (default), table:FILE, table:xrbench",
    )
    show.add_argument(
        "--time-unit-ns", type=int, default=1, help="instance time unit in ns (default 1)"
    )
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=show_model)

    imp = actions.add_parser("import", help="convert MAESTRO .m or ONNX files into model YAML")
    imp.add_argument(
        "files", nargs="+", metavar="FILE", help=".m (every Network block) or .onnx file"
    )
    imp.add_argument("--out", required=True, help="directory for the model YAML files")
    imp.add_argument("--json", action="store_true", help="print what was written as JSON")
    imp.set_defaults(handler=import_models)


def load_any_model(spec: str) -> Any:
    """A bundled name, a model YAML, a one-network ``.m`` file or an ``.onnx`` file."""
    if spec.endswith(".onnx"):
        from rtmm_opt.workload.onnx_import import import_onnx

        return import_onnx(spec)
    from rtmm_opt.workload.library import get_model

    return get_model(spec)


MAX_FILE_NAME_BYTES = 255  # what common file systems accept for one name


def safe_file_name(name: str) -> str:
    """A model name as a file name: anything but letters, digits, ``._-`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "model"


def list_models(args: argparse.Namespace) -> int:
    from rtmm_opt.workload.library import get_model, list_models

    summaries = [get_model(name).summary() for name in list_models()]
    if args.json:
        print_json(summaries)
    else:
        print_table(
            [
                (
                    s["name"],
                    s["layers"],
                    si(float(s["macs"])),
                    si(float(s["params"])),
                    si(float(s["weight_bytes"]), "B"),
                )
                for s in summaries
            ],
            ["model", "layers", "MACs", "params", "weights"],
        )
    return 0


def _positive_time_unit(value: int) -> int:
    if value < 1:
        raise InputError(f"must be a positive integer, got {value}", field="--time-unit-ns")
    return value


def show_model(args: argparse.Namespace) -> int:
    model = load_any_model(args.model)
    time_unit = _positive_time_unit(args.time_unit_ns)
    system = cost_model = None
    if args.system:
        from rtmm_opt.hardware.cost import make_cost_model
        from rtmm_opt.hardware.presets import get_system

        system = get_system(args.system)
        cost_model = make_cost_model(args.cost)
    layers: list[dict[str, Any]] = []
    totals: dict[str, dict[str, float]] = {}
    for index in range(len(model)):
        layer = model.layer(index)
        entry: dict[str, Any] = {
            "index": index,
            "name": layer.name,
            "type": layer.type.value,
            "dims": layer.dims(),
            "stride": [layer.stride_y, layer.stride_x],
            "out": [layer.out_y, layer.out_x],
            "macs": layer.macs,
            "weight_bytes": layer.weight_bytes,
            "input_bytes": layer.input_bytes,
            "output_bytes": layer.output_bytes,
            "preds": sorted(int(p) for p in model.graph.predecessors(index)),
        }
        if system is not None and cost_model is not None:
            costs = {}
            for a, acc in enumerate(system.accelerators):
                cost = cost_model.layer_cost(model, index, system, a)
                latency_ns = cost.cycles / acc.clock_ghz
                costs[acc.name] = {
                    "cycles": cost.cycles,
                    "latency_ns": latency_ns,
                    "latency": max(1, math.ceil(latency_ns / time_unit)),
                    "energy_nJ": cost.energy_nj,
                    "dram_bytes": cost.dram_bytes,
                }
                total = totals.setdefault(
                    acc.name, {"cycles": 0.0, "latency_ns": 0.0, "energy_nJ": 0.0}
                )
                total["cycles"] += cost.cycles
                total["latency_ns"] += latency_ns
                total["energy_nJ"] += cost.energy_nj
            entry["costs"] = costs
        layers.append(entry)
    result: dict[str, Any] = {**model.summary(), "source": model.source}
    if system is not None and cost_model is not None:
        result.update(
            system=system.name,
            cost=cost_model.name,
            time_unit_ns=time_unit,
            accelerators=[
                {
                    "name": acc.name,
                    "dataflow": acc.dataflow.value,
                    "pes": acc.pes,
                    "clock_ghz": acc.clock_ghz,
                }
                for acc in system.accelerators
            ],
            totals=totals,
        )
    result["layers"] = layers
    if args.json:
        print_json(result)
        return 0
    print(
        f"{model.name}: {len(model)} layers, {si(model.macs)} MACs, {si(model.params)} params"
        + (f"  ({model.source})" if model.source else "")
    )
    headers = ["#", "layer", "type", "N,K,C,Y,X,R,S", "MACs"]
    accs = list(totals)
    if accs:
        headers += [f"{name} ms" for name in accs] + [f"{name} mJ" for name in accs]
    rows = []
    for entry in layers:
        row = [
            entry["index"],
            entry["name"],
            entry["type"],
            ",".join(str(v) for v in entry["dims"].values()),
            si(entry["macs"]),
        ]
        if accs:
            row += [entry["costs"][a]["latency_ns"] / 1e6 for a in accs]
            row += [entry["costs"][a]["energy_nJ"] / 1e6 for a in accs]
        rows.append(row)
    if accs:
        rows.append(
            ["", "total", "", "", si(model.macs)]
            + [totals[a]["latency_ns"] / 1e6 for a in accs]
            + [totals[a]["energy_nJ"] / 1e6 for a in accs]
        )
    print_table(rows, headers)
    if accs:
        print(f"system {result['system']}, cost model {result['cost']}")
    return 0


def import_models(args: argparse.Namespace) -> int:
    """Read every network of every file first; refuse two that would share a file name
    (``a/b`` and ``a_b``, or ``Net`` and ``net`` on a case-insensitive disk) before writing."""
    from rtmm_opt.workload.modelfile import dump_model

    output_dir(args.out, "--out")
    graphs: list[tuple[str, Any]] = []  # (source file, graph)
    for file in args.files:
        if file.endswith(".onnx"):
            graphs.append((file, load_any_model(file)))
        else:
            from rtmm_opt.workload.maestro import parse_maestro

            graphs += [(file, net.graph(source=file)) for net in parse_maestro(file).networks]
    out = Path(args.out)
    targets: dict[str, tuple[str, str]] = {}  # folded file name -> (model name, source)
    for source, graph in graphs:
        name = f"{safe_file_name(graph.name)}.yaml"
        if len(name.encode()) > MAX_FILE_NAME_BYTES:
            raise InputError(
                f"model name {excerpt(graph.name)} is too long for a file name", file=source
            )
        earlier = targets.get(name.casefold())
        if earlier is not None:
            raise InputError(
                f"models {excerpt(earlier[0])} ({earlier[1]}) and {excerpt(graph.name)} "
                f"({source}) would both be written to {out / name}; rename one of them",
                field="--out",
            )
        targets[name.casefold()] = (graph.name, source)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output directory: {exc.strerror}", file=out) from None
    written = []
    for _, graph in graphs:
        target = out / f"{safe_file_name(graph.name)}.yaml"
        try:
            dump_model(graph, target)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=target) from None
        written.append(
            {"name": graph.name, "layers": len(graph), "macs": graph.macs, "file": str(target)}
        )
    if args.json:
        print_json({"written": written})
    else:
        for item in written:
            print(f"wrote {item['file']} ({item['layers']} layers, {si(float(item['macs']))} MACs)")
    return 0

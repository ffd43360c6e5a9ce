"""``rtmm systems list|show``."""

from __future__ import annotations

import argparse
from typing import Any

from rtmm_opt.cli.output import print_json, print_table


def register(commands: Any) -> None:
    systems = commands.add_parser("systems", help="multi-accelerator system presets")
    actions = systems.add_subparsers(dest="action", metavar="ACTION", parser_class=type(systems))
    actions.required = True
    listing = actions.add_parser("list", help="list presets and their aliases")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=list_systems)
    show = actions.add_parser("show", help="one system's accelerators")
    show.add_argument("system", help="preset name, alias (e.g. xrb4k-J) or system YAML file")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=show_system)


def list_systems(args: argparse.Namespace) -> int:
    from rtmm_opt.hardware.presets import (
        get_system,
        list_aliases,
        list_family_presets,
        list_presets,
    )

    aliases: dict[str, list[str]] = {}
    for alias, target in list_aliases().items():
        aliases.setdefault(target, []).append(alias)
    entries: list[dict[str, Any]] = []
    for name in [*list_presets(), *list_family_presets()]:
        system = get_system(name)
        entries.append(
            {
                "name": name,
                "aliases": sorted(aliases.get(name, [])),
                "accelerators": len(system),
                "dataflows": [acc.dataflow.value for acc in system.accelerators],
                "pes": [acc.pes for acc in system.accelerators],
                "dram_bandwidth_gbps": system.dram_bandwidth_gbps,
                "description": system.description,
            }
        )
    if args.json:
        print_json(entries)
    else:
        print_table(
            [
                (
                    e["name"],
                    ", ".join(e["aliases"]),
                    "+".join(e["dataflows"]),
                    "+".join(map(str, e["pes"])),
                )
                for e in entries
            ],
            ["system", "aliases", "dataflows", "PEs"],
        )
        print(f"{len(entries)} presets, {sum(len(e['aliases']) for e in entries)} aliases")
    return 0


def show_system(args: argparse.Namespace) -> int:
    from rtmm_opt.hardware.presets import get_system, system_to_dict

    system = get_system(args.system)
    data = system_to_dict(system)
    if args.json:
        print_json(data)
        return 0
    print(f"{system.name}: {system.description}".rstrip(": "))
    print(f"shared DRAM bandwidth: {system.dram_bandwidth_gbps:g} GB/s")
    print_table(
        [
            (
                acc.name,
                acc.dataflow.value,
                _mapping(acc),
                acc.pes,
                acc.clock_ghz,
                acc.buffer_bytes,
                acc.noc_bandwidth,
                acc.offchip_bandwidth_gbps,
            )
            for acc in system.accelerators
        ],
        [
            "accelerator",
            "dataflow",
            "mapping",
            "PEs",
            "GHz",
            "buffer B",
            "NoC elem/cyc",
            "DRAM GB/s",
        ],
    )
    return 0


def _mapping(acc: Any) -> str:
    """The spatial mapping family: Simba-like vector MACs, an Eyeriss-like array, or XRBench's."""
    if acc.vector_width is not None:
        return f"simba (vector {acc.vector_width})"
    if acc.array_rows is not None:
        return f"eyeriss ({acc.array_rows}×{acc.array_cols})"
    return "xrbench"

#!/usr/bin/env python3
"""Convert XRBench's hardware and dataflow ``.m`` files into the bundled preset data.

Run once; the product reads only ``rtmm_opt/hardware/data/xrbench_systems.json``, so it needs no
copy of XRBench at run time::

    python scripts/convert_xrbench_presets.py \\
        [--xrbench ../shared/xrbench] [--out rtmm_opt/hardware/data/xrbench_systems.json]

Source: XRBench-MLSys2023 (github.com/XRBench/XRBench-MLSys2023, MIT licence), commit
89156663be7a1afb97749e1a6894dedcad78e060, files
``XRbench_evaluation/hw_configs/{single,dual,quad}/*.m`` and
``XRbench_evaluation/dataflows/{single,dual,quad}/*.m`` (the ones ``scripts/run_evals.py`` loops
over; ``Not_Used/`` is skipped). Accelerator blocks keep their file order: XRBench gives the i-th
``Dataflow`` block to the i-th ``Accelerator`` block.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "scripts") not in sys.path:  # loadable by path, not only run as a script
    sys.path.insert(0, str(REPO / "scripts"))

from xrbench_origin import COMMIT, REPOSITORY  # noqa: E402

GROUPS = ("single", "dual", "quad")

ACCELERATOR_BLOCK = re.compile(r"Accelerator\s+(\w+)\s*\{(.*?)\}", re.S)
DATAFLOW_BLOCK = re.compile(r"Dataflow\s*\{(.*?)\}", re.S)
INTEGER_FIELDS = (
    "num_pes",
    "offchip_bw",
    "top_noc_bw",
    "top_noc_latency",
    "col_noc_bw",
    "col_noc_latency",
    "global_shared_memory",
    "PE_local_memory",
)


def strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def parse_hardware(path: Path) -> list[dict[str, Any]]:
    """One dict per ``Accelerator`` block, in file order."""
    blocks = []
    for name, body in ACCELERATOR_BLOCK.findall(strip_comments(path.read_text())):
        fields: dict[str, Any] = {"file_name": name}
        for line in body.splitlines():
            if ":" not in line:
                continue
            key, value = (part.strip() for part in line.split(":", 1))
            if key in INTEGER_FIELDS:
                fields[key] = int(value)
            elif key.endswith("multicast"):
                fields[key] = value.lower() == "true"
        missing = [key for key in INTEGER_FIELDS if key not in fields]
        if missing:
            raise SystemExit(f"{path}: accelerator {name} lacks {missing}")
        blocks.append(fields)
    if not blocks:
        raise SystemExit(f"{path}: no Accelerator blocks")
    return blocks


def dataflow_style(directives: list[str], comment: str) -> str:
    """WS/OS/RS from the block's leading comment, as XRBench labels them."""
    comment = comment.lower()
    if "nvdla" in comment:
        return "WS"
    if "row-stationary" in comment:
        return "RS"
    if "os" in comment.split():
        return "OS"
    raise SystemExit(f"cannot tell the dataflow style of block {directives} ({comment!r})")


def parse_dataflows(path: Path) -> list[dict[str, Any]]:
    """One dict per ``Dataflow`` block: its style (WS/OS/RS) and its MAESTRO directives."""
    text = path.read_text()
    blocks = []
    position = 0
    for match in DATAFLOW_BLOCK.finditer(text):
        preceding = text[position : match.start()]
        comments = re.findall(r"//\s*([^\n]*)", preceding)
        comment = comments[-1] if comments else ""
        directives = [
            line.strip() for line in strip_comments(match.group(1)).splitlines() if line.strip()
        ]
        blocks.append({"style": dataflow_style(directives, comment), "directives": directives})
        position = match.end()
    styles = [block["style"] for block in blocks]
    if styles != path.stem.split("_"):
        raise SystemExit(f"{path}: block styles {styles} disagree with the file name")
    return blocks


def convert(xrbench: Path) -> dict[str, Any]:
    hardware: dict[str, Any] = {}
    dataflows: dict[str, Any] = {}
    for group in GROUPS:
        for path in sorted((xrbench / "hw_configs" / group).glob("*.m")):
            hardware[path.stem] = {"group": group, "accelerators": parse_hardware(path)}
        for path in sorted((xrbench / "dataflows" / group).glob("*.m")):
            dataflows[path.stem] = {"group": group, "blocks": parse_dataflows(path)}
    for name, entry in dataflows.items():
        group = entry["group"]
        for hw_name, hw in hardware.items():
            if hw["group"] == group and len(hw["accelerators"]) != len(entry["blocks"]):
                raise SystemExit(f"{hw_name} and {name} disagree on the accelerator count")
    return {
        "origin": {
            "suite": "xrbench",
            "repository": REPOSITORY,
            "commit": COMMIT,
            "files": "XRbench_evaluation/hw_configs/{single,dual,quad}/*.m, "
            "XRbench_evaluation/dataflows/{single,dual,quad}/*.m",
            "licence": "MIT",
            "converter": "scripts/convert_xrbench_presets.py",
        },
        "hw_configs": hardware,
        "dataflows": dataflows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrbench", type=Path, default=REPO.parent / "shared" / "xrbench")
    parser.add_argument(
        "--out", type=Path, default=REPO / "rtmm_opt" / "hardware" / "data" / "xrbench_systems.json"
    )
    args = parser.parse_args(argv)
    data = convert(args.xrbench)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    hardware, dataflows = len(data["hw_configs"]), len(data["dataflows"])
    print(f"wrote {args.out}: {hardware} hardware files, {dataflows} dataflow files")
    return 0


if __name__ == "__main__":
    sys.exit(main())

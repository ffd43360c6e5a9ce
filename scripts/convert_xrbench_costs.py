#!/usr/bin/env python3
"""Slim XRBench's MAESTRO per-layer cost database into ``costs/xrbench_maestro.csv.gz``.

The source, ``shared/xrbench/layer_costs.csv.gz`` (123,754 rows × 53 columns), holds one row per
(model, layer, hw config, dataflow, sub-accelerator), produced from XRBench-MLSys2023 commit
89156663 (see ``shared/xrbench/README.md`` and ``costs/README.md``). The copy keeps the key and the
two costs the table cost model reads, plus what the analytical-vs-MAESTRO comparison uses::

    python scripts/convert_xrbench_costs.py \\
        [--source ../shared/xrbench/layer_costs.csv.gz] [--out costs/xrbench_maestro.csv.gz]

The output is deterministic (row order kept, gzip time stamp 0), so re-running it changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COLUMNS = (
    # key (TableCostModel)
    "model",
    "layer_index",
    "hw_config",
    "dataflow",
    "sub_accelerator_index",
    # costs (TableCostModel)
    "cycles",
    "energy_nJ",
    # layer dimensions: the table model checks them; the comparison rebuilds layers from them
    "layer_name",
    "N",
    "K",
    "C",
    "Y",
    "X",
    "R",
    "S",
    # sub-accelerator and MAESTRO's global-buffer traffic, for the analytical comparison
    "sub_dataflow",
    "num_pes",
    "top_noc_bw",
    "l2_rd_input",
    "l2_rd_weight",
    "l2_wr_output",
)


def convert(source: Path, out: Path) -> int:
    with gzip.open(source, "rt", encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{source}: missing columns {missing}")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        rows = 0
        for row in reader:
            writer.writerow([row[c] for c in COLUMNS])
            rows += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(out, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as packed,
    ):
        packed.write(buffer.getvalue().encode("utf-8"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=REPO.parent / "shared" / "xrbench" / "layer_costs.csv.gz"
    )
    parser.add_argument(  # costs/ links to rtmm_opt/data/costs
        "--out", type=Path, default=REPO / "rtmm_opt" / "data" / "costs" / "xrbench_maestro.csv.gz"
    )
    args = parser.parse_args(argv)
    rows = convert(args.source, args.out)
    print(f"wrote {args.out}: {rows} rows, {len(COLUMNS)} columns, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How closely the analytical cost model ranks layers like MAESTRO, and how fast each model is.

For every layer of the 12 XRBench models on the chosen presets, prices the layer with the
analytical model and looks it up in the MAESTRO table (``table:xrbench``, the costs XRBench
schedules with), then prints per sub-accelerator dataflow (WS/OS/RS) and overall:

* Spearman rank correlation (``scipy.stats.spearmanr``) of per-layer latency (cycles) and energy;
* the median |ln(analytical / MAESTRO)| (0 = equal; ln 2 ≈ 0.69 = a factor 2 off);
* Spearman of the on-chip energy alone (MACs + RF + buffer, no DRAM), since MAESTRO's energy has
  no DRAM term;
* the time per look-up of both models, measured in the same run (cold: first call, caches
  empty; warm: repeated calls).

    python benchmarks/bench_cost_models.py                 # the single-accelerator 4K presets
    python benchmarks/bench_cost_models.py --all           # all 38 presets
    python benchmarks/bench_cost_models.py --json          # one JSON object
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtmm_opt.hardware.cost import AnalyticalCostModel, TableCostModel, bundled_table_path
from rtmm_opt.hardware.cost import analytical as analytical_module
from rtmm_opt.hardware.presets import get_system, list_presets

SINGLE_4K = ("xrb-Single_4K-WS", "xrb-Single_4K-OS", "xrb-Single_4K-RS")


def collect(preset_names: list[str], table: TableCostModel) -> dict[str, Any]:
    """Per-layer (dataflow, analytical, MAESTRO) samples and look-up timings."""
    analytical = AnalyticalCostModel()
    samples: dict[str, list[tuple[float, float, float, float, float]]] = defaultdict(list)
    timings = {"analytical": 0.0, "table": 0.0}
    lookups = 0
    for name in preset_names:
        system = get_system(name)
        hw_config, dataflow = system.origin["hw_config"], system.origin["dataflow"]
        models = table.models(hw_config, dataflow)
        for model in models.values():
            for acc_index, accelerator in enumerate(system.accelerators):
                for layer_index in range(len(model)):
                    start = time.perf_counter()
                    mine = analytical.layer_cost(model, layer_index, system, acc_index)
                    middle = time.perf_counter()
                    theirs = table.layer_cost(model, layer_index, system, acc_index)
                    end = time.perf_counter()
                    timings["analytical"] += middle - start
                    timings["table"] += end - middle
                    lookups += 1
                    terms = analytical.breakdown(model, layer_index, system, acc_index)
                    onchip = terms.energy_nj - terms.dram_bytes * analytical.energy.dram_pj / 1000
                    samples[accelerator.dataflow.value].append(
                        (mine.cycles, theirs.cycles, mine.energy_nj, theirs.energy_nj, onchip)
                    )
    return {"samples": samples, "timings": timings, "lookups": lookups}


def statistics(rows: list[tuple[float, float, float, float, float]]) -> dict[str, float]:
    data = np.asarray(rows, dtype=float)
    mine_cycles, maestro_cycles, mine_energy, maestro_energy, onchip = data.T
    return {
        "layers": len(rows),
        "spearman_latency": float(spearmanr(mine_cycles, maestro_cycles)[0]),
        "spearman_energy": float(spearmanr(mine_energy, maestro_energy)[0]),
        "spearman_energy_onchip": float(spearmanr(onchip, maestro_energy)[0]),
        "median_abs_log_latency": float(np.median(np.abs(np.log(mine_cycles / maestro_cycles)))),
        "median_abs_log_energy": float(np.median(np.abs(np.log(mine_energy / maestro_energy)))),
        "median_log_latency": float(np.median(np.log(mine_cycles / maestro_cycles))),
        "median_log_energy": float(np.median(np.log(mine_energy / maestro_energy))),
    }


def time_warm(preset_name: str, table: TableCostModel, repeats: int = 3) -> dict[str, float]:
    """Seconds per look-up with warm caches, both models over the same layers."""
    system = get_system(preset_name)
    models = table.models(system.origin["hw_config"], system.origin["dataflow"])
    analytical = AnalyticalCostModel()
    keys = [(m, i) for m in models.values() for i in range(len(m))]
    result = {}
    for label, model in (("analytical", analytical), ("table", table)):
        for m, i in keys:
            model.layer_cost(m, i, system, 0)
        start = time.perf_counter()
        for _ in range(repeats):
            for m, i in keys:
                model.layer_cost(m, i, system, 0)
        result[label] = (time.perf_counter() - start) / (repeats * len(keys))
    # the analytical model uncached: the formulas themselves
    start = time.perf_counter()
    for m, i in keys:
        analytical_module.breakdown(m.layer(i), system.accelerators[0], system.dram_bandwidth_gbps)
    result["analytical_uncached"] = (time.perf_counter() - start) / len(keys)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--all", action="store_true", help="all 38 presets (default: Single_4K WS/OS/RS)"
    )
    parser.add_argument("--table", type=Path, default=bundled_table_path())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    table = TableCostModel(args.table)
    table.lookup("ES_RITNet", 0, "Single_4K", "WS", 0)
    cold_table_s = time.perf_counter() - start
    presets = list_presets() if args.all else list(SINGLE_4K)
    collected = collect(presets, table)
    samples = collected["samples"]
    report: dict[str, Any] = {"presets": presets, "by_dataflow": {}}
    for dataflow in ("WS", "OS", "RS"):
        if samples.get(dataflow):
            report["by_dataflow"][dataflow] = statistics(samples[dataflow])
    report["overall"] = statistics([row for rows in samples.values() for row in rows])
    lookups = collected["lookups"]
    timings = collected["timings"]
    warm = time_warm(presets[0], table)
    report["timing"] = {
        "lookups": lookups,
        "table_first_lookup_s": cold_table_s,
        "analytical_s_per_lookup": timings["analytical"] / lookups,
        "table_s_per_lookup": timings["table"] / lookups,
        "warm_analytical_s_per_lookup": warm["analytical"],
        "warm_table_s_per_lookup": warm["table"],
        "analytical_uncached_s_per_lookup": warm["analytical_uncached"],
        "ratio_analytical_over_table": timings["analytical"] / timings["table"],
        "ratio_uncached_analytical_over_warm_table": warm["analytical_uncached"] / warm["table"],
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"analytical vs MAESTRO (table {args.table.name}) on {len(presets)} preset(s)")
    header = (
        f"{'dataflow':<9}{'layers':>7}{'ρ lat':>8}{'ρ energy':>10}{'ρ E on-chip':>13}"
        f"{'|ln| lat':>10}{'|ln| E':>8}{'ln lat':>8}{'ln E':>8}"
    )
    print(header)
    for label, stats in [*report["by_dataflow"].items(), ("overall", report["overall"])]:
        print(
            f"{label:<9}{stats['layers']:>7}{stats['spearman_latency']:>8.3f}"
            f"{stats['spearman_energy']:>10.3f}{stats['spearman_energy_onchip']:>13.3f}"
            f"{stats['median_abs_log_latency']:>10.2f}{stats['median_abs_log_energy']:>8.2f}"
            f"{stats['median_log_latency']:>8.2f}{stats['median_log_energy']:>8.2f}"
        )
    t = report["timing"]
    print(
        f"timing over {lookups} look-ups: analytical {t['analytical_s_per_lookup'] * 1e6:.2f} µs, "
        f"table {t['table_s_per_lookup'] * 1e6:.2f} µs per look-up "
        f"(ratio {t['ratio_analytical_over_table']:.2f}); warm: analytical "
        f"{t['warm_analytical_s_per_lookup'] * 1e6:.2f} µs (uncached formulas "
        f"{t['analytical_uncached_s_per_lookup'] * 1e6:.2f} µs), table "
        f"{t['warm_table_s_per_lookup'] * 1e6:.2f} µs; table first look-up (header + scan) "
        f"{t['table_first_lookup_s'] * 1e3:.0f} ms"
    )
    if not all(math.isfinite(v) for v in report["overall"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

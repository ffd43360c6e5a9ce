#!/usr/bin/env python3
"""The study layer's speed: Dask workers against one, and its overhead against a plain loop.

One study of ``--cells`` cells (default 200): VR_gaming on xrb4k-J with MAESTRO costs at layer
granularity, ``edf``, one cell per trace seed, so every cell is its own instance. Measured in
the same run, on the same cells:

1. **baseline**: the library called directly in a loop (``load_workload`` → ``replay`` →
   ``compute_metrics`` per seed, the scenario and the cost table read once), nothing stored;
2. **study layer, in process** (``--workers 0``): the same cells through ``run_study``: study
   cells, hashing, the per-worker caches, the SQLite store;
3. **study layer on Dask** with 1 and with 2 local worker processes (cluster start-up included,
   as a user pays it).

Each is timed on the full study and on a one-cell study: the difference, over ``cells − 1``, is
the marginal cost of a cell, without the fixed start-up (the cluster, each worker's imports and
its first read of the cost table), which a long study pays once. It prints the per-cell times,
the speed-up of 2 workers over 1 (target ≥ 1.8×, marginal and whole) and the per-cell overhead
of the study layer over the baseline, in process and on one Dask worker (target ≤ 5 %).
Timings are wall-clock on a shared machine: the modes run interleaved for ``--repeat``
rounds and the medians are printed; quote the ratios.

    python benchmarks/bench_sweep.py [--cells 200] [--duration 500ms]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from rtmm_opt import compute_metrics, load_workload, make_scheduler, read_workload, replay
from rtmm_opt.hardware.cost import make_cost_model
from rtmm_opt.io.units import parse_duration
from rtmm_opt.studies.study import study_from_dict
from rtmm_opt.studies.sweep import run_study


def study(cells: int, duration: str):
    return study_from_dict({
        "name": "bench",
        "base": {"workload": "VR_gaming", "system": "xrb4k-J", "cost": "table:xrbench",
                 "granularity": "layer", "duration": duration, "scheduler": "edf"},
        "seeds": list(range(cells)),
    }, file="bench_sweep")  # fmt: skip


def baseline(cells: int, duration: str) -> float:
    began = time.perf_counter()
    scenario = read_workload("VR_gaming")
    cost = make_cost_model("table:xrbench")
    for seed in range(cells):
        instance = load_workload(scenario, system="xrb4k-J", cost=cost, granularity="layer",
                                 duration_ns=parse_duration(duration), seed=seed)  # fmt: skip
        compute_metrics(instance, replay(instance, make_scheduler("edf")))
    return time.perf_counter() - began


def layer(cells: int, duration: str, workers: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        summary = run_study(study(cells, duration), Path(folder) / "bench.db", workers=workers)
        elapsed = time.perf_counter() - began
    assert summary.done == cells and summary.failed == 0, summary
    return elapsed


def marginal(run, cells: int, duration: str) -> tuple[float, float]:
    """(whole time of ``cells`` cells, marginal time per cell)."""
    one = run(1, duration)
    whole = run(cells, duration)
    return whole, (whole - one) / max(1, cells - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--duration", default="500ms")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are printed")
    args = parser.parse_args(argv)
    cells = args.cells
    baseline(min(cells, 5), args.duration)  # warm the imports and the file caches
    runs = {
        "baseline (library loop)": lambda n, d: baseline(n, d),
        "study layer, in process": lambda n, d: layer(n, d, 0),
        "study layer, 1 Dask worker": lambda n, d: layer(n, d, 1),
        "study layer, 2 Dask workers": lambda n, d: layer(n, d, 2),
    }
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(max(1, args.repeat)):  # interleaved, so drift hits every mode alike
        for name, run in runs.items():
            rounds[name].append(marginal(run, cells, args.duration))
    times = {
        name: (statistics.median(w for w, _ in values), statistics.median(m for _, m in values))
        for name, values in rounds.items()
    }
    base = times["baseline (library loop)"][1]
    rows = [(name, whole, 1000 * whole / cells, 1000 * per_cell, per_cell / base)
            for name, (whole, per_cell) in times.items()]  # fmt: skip
    print(f"{cells} cells: VR_gaming, xrb4k-J, table:xrbench, layer granularity, "
          f"{args.duration}, edf, one seed per cell")  # fmt: skip
    print(tabulate(rows, ["run", "wall s", "ms per cell (whole)", "ms per cell (marginal)",
                          "marginal × baseline"], floatfmt=".3f"))  # fmt: skip
    one, two = times["study layer, 1 Dask worker"], times["study layer, 2 Dask workers"]
    print(f"speed-up, 2 workers over 1: {one[1] / two[1]:.2f}× marginal, "
          f"{one[0] / two[0]:.2f}× whole study (target ≥ 1.8×)")  # fmt: skip
    overhead_in = times["study layer, in process"][1] / base - 1
    overhead_dask = one[1] / base - 1
    print(f"per-cell overhead over the library loop: {100 * overhead_in:+.1f} % in process, "
          f"{100 * overhead_dask:+.1f} % on one Dask worker (target ≤ 5 %)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

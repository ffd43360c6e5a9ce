#!/usr/bin/env python3
"""Replay speed against the two peers' simulators (Dysta's authors' simulator, XRBench's harness).

1. Dysta compatibility, on the shared EyerissV2 tables and the reference request table
   (``../shared/dysta``, 300 requests, 10,654 layers): per scheduler of the simulator (fcfs,
   sjf, prema, planaria, sdrm3, dysta, dysta_oracle), the in-process replay time (engine and
   policy; no import, no validation, best of ``--repeat``), and the whole-process time of
   ``rtmm import dysta`` plus seven ``rtmm run --json``, of the import plus one ``rtmm run
   --scheduler fcfs,sjf,...`` (the seven in one process), and of the import plus the seven
   replays in one process (the library). Target: every in-process ratio simulator/rtmm ≥ 3,
   and rtmm's whole figure below the simulator's single process. PREMA, Planaria, SDRM3, Dysta
   and Dysta-oracle run in the compiled core (``rtmm_opt/engine/core.py``); they are timed
   with it off too (``RTMM_PURE_PYTHON=1``).
2. XRBench compatibility: the whole ``rtmm run`` of ``VR_gaming.m`` (700 ms, Single_4K WS, the
   shared gzipped cost table, ``xrbench`` scheduler, model granularity), best of
   ``--repeat``, and its replay alone in process (with the compiled core, and with it off).
   Targets: whole run ≤ 0.3 s; replay within 5x of the harness's event loop.

Whole-process timings read the package's bytecode, compiled first (``compileall``), as an
installed package has it: with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__``, every
process would compile the sources again (about 70 ms).

The peers are not part of this repository. Without them the benchmark prints the project's
own figures only.

* ``--dysta-sim DIR``: the ``dysta_scheduler/`` folder of
  github.com/SamsungLabs/Sparse-Multi-DNN-Scheduling (commit b9f1913), e.g.
  ``git clone https://github.com/SamsungLabs/Sparse-Multi-DNN-Scheduling && pip install pandas
  scipy scikit-learn matplotlib brokenaxes``. Its replay loop is timed in this process: its
  ``utils_common.generate_reqst_table`` draws the reference requests again (``random.seed(1)``,
  3 req/s, 300 requests, the table's deadlines × 2), then for each scheduler the loop of its
  ``simulator.py`` (``update_reqst`` and ``exe`` until ``is_finished``) is timed. Its whole
  process, ``python simulator.py --schedule_method <the seven> --csv_lat_dir <tables>
  --sample_per_sec 3 --num_sample 300 --lat_slo_mult 2 --seed 1 --num_random_seeds 1``, is
  timed too when its plotting dependencies are installed (otherwise reported as missing).
* ``--xrbench-cmd "COMMAND"``: a shell command that runs XRBench's harness
  (github.com/XRBench/XRBench-MLSys2023, ``XRBench-MAESTRO.cpp``, built with MAESTRO's
  ``scons``) once on VR_gaming, Single_4K, WS, 700 ms, as its ``scripts/run_evals.py`` does;
  its whole process is timed. ``--xrbench-loop-ms X``: the harness's event loop alone (from an
  instrumented build), for the replay ratio.

    python benchmarks/bench_peers.py
    python benchmarks/bench_peers.py --dysta-sim ~/Sparse-Multi-DNN-Scheduling/dysta_scheduler
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import copy
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from rtmm_opt.engine import replay
from rtmm_opt.engine.core import PURE_PYTHON_VARIABLE, compiled
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.schedulers import make_scheduler

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TABLES = SHARED / "dysta" / "latency_tables" / "eyerissv2"
REQUESTS = SHARED / "dysta" / "reference" / "requests_eyerissv2_3_2_1.csv"
DYSTA_SCHEDULERS = ("fcfs", "sjf", "prema", "planaria", "sdrm3", "dysta", "dysta_oracle")
# replayed by the compiled core
CORE_SCHEDULERS = ("prema", "planaria", "sdrm3", "dysta", "dysta_oracle")  # and xrbench
SCENARIO = SHARED / "xrbench" / "scenarios" / "VR_gaming.m"
COSTS = SHARED / "xrbench" / "layer_costs.csv.gz"
XRBENCH_RUN = [
    str(SCENARIO), "--system", "xrb-Single_4K-WS", "--cost", f"table:{COSTS}",
    "--scheduler", "xrbench", "--granularity", "model", "--duration", "700ms",
]  # fmt: skip
RTMM = [sys.executable, "-m", "rtmm_opt"]


def best(repeat: int, run: Any) -> float:
    """The best of ``repeat`` timings of ``run()`` (seconds)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def timed_process(argv: list[str], repeat: int, **kwargs: Any) -> float:
    return best(repeat, lambda: subprocess.run(argv, check=True, capture_output=True, **kwargs))


# -- Dysta ---------------------------------------------------------------------------------------
def rtmm_dysta(repeat: int, workdir: Path) -> dict[str, Any]:
    instance_path = workdir / "eyeriss.json"
    import_argv = [*RTMM, "import", "dysta", str(TABLES), str(REQUESTS),
                   "--out", str(instance_path)]  # fmt: skip

    def whole(runs: list[str]) -> None:
        """``rtmm import dysta``, then one ``rtmm run`` per entry of ``runs`` (schedulers)."""
        instance_path.unlink(missing_ok=True)
        subprocess.run(import_argv, check=True, capture_output=True)
        for schedulers in runs:
            subprocess.run([*RTMM, "run", str(instance_path), "--scheduler", schedulers,
                            "--json"], check=True, capture_output=True)  # fmt: skip

    whole_s = best(repeat, lambda: whole(list(DYSTA_SCHEDULERS)))
    one_run_s = best(repeat, lambda: whole([",".join(DYSTA_SCHEDULERS)]))
    library = (
        "from rtmm_opt.engine import replay\n"
        "from rtmm_opt.instance.dysta import build_dysta_instance, read_requests, read_tables\n"
        "from rtmm_opt.schedulers import make_scheduler\n"
        f"tables = read_tables({str(TABLES)!r})\n"
        f"instance = build_dysta_instance(tables, read_requests({str(REQUESTS)!r}, tables))\n"
        f"for name in {DYSTA_SCHEDULERS!r}:\n"
        "    replay(instance, make_scheduler(name))\n"
    )
    one_process_s = timed_process([sys.executable, "-c", library], repeat)
    instance = Instance.load(instance_path)
    replay_s = {
        name: best(repeat, lambda n=name: replay(instance, make_scheduler(n), check=False))
        for name in DYSTA_SCHEDULERS
    }
    # the same replays with the compiled core off (rtmm_opt/engine/core.py); None: no core
    pure_s: dict[str, float | None] = dict.fromkeys(CORE_SCHEDULERS)
    if compiled() is not None:
        os.environ[PURE_PYTHON_VARIABLE] = "1"
        try:
            for name in CORE_SCHEDULERS:
                pure_s[name] = best(
                    repeat, lambda n=name: replay(instance, make_scheduler(n), check=False)
                )
        finally:
            del os.environ[PURE_PYTHON_VARIABLE]
    return {"whole_s": whole_s, "one_run_s": one_run_s, "one_process_s": one_process_s,
            "replay_s": replay_s, "pure_python_s": pure_s, "ops": instance.n_ops}  # fmt: skip


def simulator_dysta(sim: Path, repeat: int) -> dict[str, Any]:
    """The authors' simulator: its replay loop per scheduler, in this process; its process."""
    sys.path.insert(0, str(sim))
    cwd = os.getcwd()
    os.chdir(sim)
    try:
        import scheduler as sim_scheduler  # type: ignore[import-not-found]
        import utils_common  # type: ignore[import-not-found]
    finally:
        os.chdir(cwd)
    classes = {
        "fcfs": sim_scheduler.FCFS_Scheduler, "sjf": sim_scheduler.SJF_Scheduler,
        "prema": sim_scheduler.PREMA_Scheduler, "planaria": sim_scheduler.Planaria,
        "sdrm3": sim_scheduler.SDRM3_Scheduler, "dysta": sim_scheduler.Dysta_Scheduler,
        "dysta_oracle": sim_scheduler.Dysta_Oracle_Scheduler,
    }  # fmt: skip
    files = os.listdir(TABLES)  # the simulator's own order (os.listdir)
    models = [name.split(".")[0] for name in files]
    paths = [str(TABLES / name) for name in files]
    options = argparse.Namespace(  # simulator.py's options that the table reader reads
        seq_len=512, draw_dist=False, figs_path=".", models=models, csv_lat_files=paths,
        csv_lat_dir=f"{TABLES}/",
    )  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        lat_lut = utils_common.construct_lat_table(models, paths, options)
        random.seed(1)
        base = utils_common.generate_reqst_table(3, 300, models, lat_lut)
    for request in base:
        request[1] = request[1] * 2  # --lat_slo_mult 2

    def loop(name: str) -> None:
        table = copy.deepcopy(base)
        with contextlib.redirect_stdout(io.StringIO()):  # the constructors print
            if name == "sdrm3":
                sim = classes[name](table, alpha=1.0, is_sparse=False)
            elif "dysta" in name:
                sim = classes[name](table, 1.0, 5, 0.01, True)
            else:
                sim = classes[name](table)
            sim.set_lat_lut(lat_lut)
        pattern_aware = "dysta" in name  # simulator.py: dysta and dysta_oracle
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            while not sim.is_finished():
                sim.update_reqst(pattern_aware)
                sim.exe(is_hw_monitor=name == "dysta")
            timings.append(time.perf_counter() - start)

    replay_s = {}
    for name in DYSTA_SCHEDULERS:
        timings: list[float] = []
        for _ in range(repeat):
            loop(name)
        replay_s[name] = min(timings)
    argv = [sys.executable, "simulator.py", "--schedule_method", *DYSTA_SCHEDULERS,
            "--csv_lat_dir", f"{TABLES}/", "--sample_per_sec", "3", "--num_sample", "300",
            "--lat_slo_mult", "2", "--seed", "1", "--num_random_seeds", "1"]  # fmt: skip
    try:
        whole_s: float | None = timed_process(argv, repeat, cwd=sim)
        missing = None
    except subprocess.CalledProcessError as exc:
        whole_s, missing = None, (exc.stderr or b"").decode().strip().splitlines()[-1:]
    return {"replay_s": replay_s, "whole_s": whole_s, "whole_error": missing}


# -- XRBench -------------------------------------------------------------------------------------
def rtmm_xrbench(repeat: int) -> dict[str, Any]:
    whole_s = timed_process([*RTMM, "run", *XRBENCH_RUN, "--json"], repeat)
    instance = load_workload(SCENARIO, system="xrb-Single_4K-WS", cost=f"table:{COSTS}",
                             granularity="model", duration_ns=700_000_000)  # fmt: skip
    replay_s = best(
        max(repeat, 20), lambda: replay(instance, make_scheduler("xrbench"), check=False)
    )
    pure_ms = None  # the replay with the compiled core off
    if compiled() is not None:
        os.environ[PURE_PYTHON_VARIABLE] = "1"
        try:
            pure_ms = 1e3 * best(
                max(repeat, 20), lambda: replay(instance, make_scheduler("xrbench"), check=False)
            )
        finally:
            del os.environ[PURE_PYTHON_VARIABLE]
    return {"whole_s": whole_s, "replay_ms": replay_s * 1e3, "pure_python_replay_ms": pure_ms,
            "ops": instance.n_ops}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dysta-sim", type=Path, help="the simulator's dysta_scheduler/ folder")
    parser.add_argument("--xrbench-cmd", help="a shell command running XRBench's harness once")
    parser.add_argument("--xrbench-loop-ms", type=float, help="the harness's event loop, in ms")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (best kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not (TABLES.is_dir() and REQUESTS.is_file() and SCENARIO.is_file()):
        print(f"the peers' reference data is not at {SHARED}", file=sys.stderr)
        return 2
    # Whole-process timings read the package's bytecode, as an installed package does (pip
    # compiles it); without it (PYTHONDONTWRITEBYTECODE and no __pycache__) every process
    # would compile the sources again, about 70 ms.
    compileall.compile_dir(str(ROOT / "rtmm_opt"), quiet=1)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as workdir:
        results["dysta"] = {"rtmm": rtmm_dysta(args.repeat, Path(workdir))}
    if args.dysta_sim:
        results["dysta"]["simulator"] = simulator_dysta(args.dysta_sim.resolve(), args.repeat)
    results["xrbench"] = {"rtmm": rtmm_xrbench(args.repeat)}
    if args.xrbench_cmd:
        results["xrbench"]["harness_whole_s"] = best(
            args.repeat, lambda: subprocess.run(args.xrbench_cmd, shell=True, check=True,
                                                capture_output=True)
        )  # fmt: skip
    if args.xrbench_loop_ms:
        results["xrbench"]["harness_loop_ms"] = args.xrbench_loop_ms
    if args.json:
        print(json.dumps(results, indent=2))
        return 0

    dysta = results["dysta"]
    ours, sim = dysta["rtmm"], dysta.get("simulator")
    print(f"Dysta, EyerissV2 tables, reference requests ({ours['ops']} layers), in process:")
    rows = []
    for name in DYSTA_SCHEDULERS:
        seconds = ours["replay_s"][name]
        pure = ours["pure_python_s"].get(name)
        row: list[Any] = [name, f"{seconds * 1e3:.1f}", "" if pure is None else f"{pure * 1e3:.1f}"]
        if sim:
            theirs = sim["replay_s"][name]
            row += [f"{theirs * 1e3:.1f}", f"{theirs / seconds:.2f}x"]
        rows.append(row)
    headers = ["scheduler", "rtmm ms", "core off ms"]
    headers += ["simulator ms", "sim/rtmm (target >= 3)"] if sim else []
    print(tabulate(rows, headers))
    print(f"\nwhole: rtmm import dysta + 7 rtmm run: {ours['whole_s']:.2f} s; "
          f"rtmm import dysta + one rtmm run --scheduler {','.join(DYSTA_SCHEDULERS)}: "
          f"{ours['one_run_s']:.2f} s; import and 7 replays in one process (library): "
          f"{ours['one_process_s']:.2f} s")  # fmt: skip
    if sim:
        if sim["whole_s"] is not None:
            print(f"simulator, one process for the 7: {sim['whole_s']:.2f} s (target: rtmm below)")
        else:
            print(f"simulator's process did not run: {' '.join(sim['whole_error'])}")
    xr = results["xrbench"]
    print(f"\nXRBench, VR_gaming.m 700 ms, Single_4K WS, table costs ({xr['rtmm']['ops']} ops):")
    print(
        f"whole rtmm run: {xr['rtmm']['whole_s']:.3f} s (target <= 0.3 s)"
        + (f"; harness {xr['harness_whole_s']:.3f} s" if "harness_whole_s" in xr else "")
    )
    loop = xr.get("harness_loop_ms")
    pure = xr["rtmm"]["pure_python_replay_ms"]
    print(f"replay alone: {xr['rtmm']['replay_ms']:.3f} ms"
          + (f" ({pure:.2f} ms with the compiled core off)" if pure is not None else "")
          + (f"; harness loop {loop:.2f} ms, ratio {xr['rtmm']['replay_ms'] / loop:.1f}x "
             "(target <= 5x)" if loop else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

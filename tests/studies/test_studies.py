"""Studies: study files, parameters, the sweep on Dask, the resumable store, the report.

Independent truth here: a cell's row must equal what the library gives when called directly
on the same options; a parameter's effect is checked on the instance it builds (hand-checkable
counts and fields); the Sobol pipeline must recover the indices of a function known in closed
form; a sweep killed with SIGKILL and re-run must end with exactly one row per cell.
"""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support import ROOT

from rtmm_opt import compute_metrics, load_workload, make_scheduler, replay
from rtmm_opt.cli.main import main
from rtmm_opt.errors import InputError
from rtmm_opt.studies import cells as cells_module
from rtmm_opt.studies.cells import build_cell_instance
from rtmm_opt.studies.report import performance_profile, write_report
from rtmm_opt.studies.store import ResultStore, export_runs, load_runs
from rtmm_opt.studies.study import read_study, study_from_dict
from rtmm_opt.studies.sweep import run_study

SMOKE = """\
name: smoke
base: {workload: instances/xrbench/VR_gaming.yaml, system: xrb4k-J, duration: 100ms, granularity: "block:4"}
grid: {scheduler: [edf, dream], fps_scale: [0.5, 1.0]}
seeds: [0, 1, 2]
"""
MIX = """\
name: mix
base: {workload: instances/xrbench/AR_gaming.yaml, duration: 200ms, granularity: "block:2", scheduler: edf}
grid: {system: [xrb4k-A, xrb4k-J, xrb8k-M], fps_scale: [0.8, 1.2]}
seeds: [7]
oracle: {objective: misses, time_limit: 10, workers: 1}
"""


def write(tmp_path: Path, text: str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def rows(db: Path) -> list[dict]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM runs ORDER BY key")]


# -- study files ------------------------------------------------------------------------------------
def test_the_example_studies_read_into_their_cells(tmp_path):
    smoke = read_study(write(tmp_path, SMOKE))
    assert len(smoke.cells()) == 2 * 2 * 3
    assert {(c.params["scheduler"], c.params["fps_scale"], c.seed) for c in smoke.cells()} == {
        (s, f, seed) for s in ("edf", "dream") for f in (0.5, 1.0) for seed in (0, 1, 2)
    }
    assert len({c.key for c in smoke.cells()}) == 12
    assert len({c.group for c in smoke.cells()}) == 6  # edf and dream share each instance
    mix = read_study(write(tmp_path, MIX, "mix.yaml"))
    assert len(mix.cells()) == 6 and mix.oracle.time_limit == 10


def test_knobs_of_another_scheduler_do_not_make_new_cells(tmp_path):
    study = read_study(write(tmp_path, """\
name: knobs
base: {workload: VR_gaming, duration: 100ms}
grid: {scheduler: [edf, dream], dream.alpha: [0.5, 1.0]}
"""))  # fmt: skip
    assert sorted((c.params["scheduler"], c.params.get("dream.alpha")) for c in study.cells()) == [
        ("dream", 0.5), ("dream", 1.0), ("edf", None)]  # fmt: skip


def test_cell_keys_are_pinned(tmp_path):
    # The key identifies a cell across runs and machines: a change here orphans every store.
    cell = read_study(write(tmp_path, SMOKE)).cells()[0]
    assert (cell.params["scheduler"], cell.params["fps_scale"], cell.seed) == ("edf", 0.5, 0)
    assert cell.key == "e3251aca6f3ca3e1"


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("grid: {fsp_scale: [1.0]}", "grid.fsp_scale", "did you mean 'fps_scale'"),
        ("grid: {fps_scale: [1.0, -2]}", "grid.fps_scale[1]", "expected a number in (0"),
        ("grid: {scheduler: [edf, edff]}", "grid.scheduler[1]", "did you mean 'edf'"),
        ("grid: {dream.alhpa: [1.0]}", "grid.dream.alhpa", "did you mean 'alpha'"),
        ("grid: {dream.alpha: [yes]}", "grid.dream.alpha[0]", "expected a float"),
        ("grid: {fps_scale: []}", "grid.fps_scale", "non-empty list"),
        ("seeds: [1, 1]", "seeds", "appears twice"),
        ("oracle: {objective: misess}", "oracle.objective", "did you mean 'misses'"),
        ("design: {kind: sobol, n: 4, ranges: {dream.alpha: [2, 1]}}", "design.ranges.dream.alpha",
         "low < high"),
        ("colour: red", "colour", "unknown key"),
    ],
)  # fmt: skip
def test_a_bad_study_is_exit_2_naming_the_file_and_key(tmp_path, capsys, text, field, reason):
    path = write(tmp_path, f"name: bad\nbase: {{workload: VR_gaming, duration: 100ms}}\n{text}\n")
    assert main(["sweep", str(path), "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {field}: " in err and reason in err, err
    assert not (tmp_path / "x.db").exists()  # nothing ran


def test_names_that_need_the_files_are_checked_before_any_cell(tmp_path, capsys):
    path = write(tmp_path, "name: bad\nbase: {workload: VR_gaming}\ngrid: {fps.ES_RITNt: [10]}\n")
    assert main(["sweep", str(path), "--db", str(tmp_path / "x.db"), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "fps.ES_RITNt" in err and "did you mean 'ES_RITNet'" in err
    assert not (tmp_path / "x.db").exists() or rows(tmp_path / "x.db") == []


# -- parameters reach the instance ----------------------------------------------------------------
def test_a_cell_builds_the_instance_the_library_builds():
    params = {"workload": "VR_gaming", "duration": "100ms", "granularity": "block:4",
              "fps_scale": 0.5, "system": "xrb4k-J"}  # fmt: skip
    direct = load_workload("instances/xrbench/VR_gaming.yaml", system="xrb4k-J",
                           duration_ns=100_000_000, granularity="block:4", fps_scale=0.5, seed=3)  # fmt: skip
    assert build_cell_instance(params, 3, ROOT).content_hash == direct.content_hash


def test_scenario_and_system_parameters_change_what_they_name():
    base = {"workload": "VR_gaming", "duration": "1s"}
    plain = build_cell_instance(base, 0, ROOT)
    tasks = [t.name for t in plain.tasks]
    es = tasks.index("ES_RITNet")
    per_task = lambda inst, i: int(np.sum(inst.job_task == i))  # noqa: E731
    ht = tasks.index("HT_hand_graph_cnn_half")
    # XRBench periods are whole ms (1000 // fps): 60 FPS → 16 ms → 63 frames in 1 s;
    # 45 FPS → 22 ms → 46 frames; 30 FPS → 33 ms → 31 frames.
    assert (per_task(plain, es), per_task(plain, ht)) == (63, 46)
    slower = build_cell_instance({**base, "fps.HT_hand_graph_cnn_half": 30.0}, 0, ROOT)
    assert (per_task(slower, es), per_task(slower, ht)) == (63, 31)
    ge = tasks.index("GE_FBNet_C")  # cascaded on ES: a probability of 0 triggers nothing
    never = build_cell_instance({**base, "trigger_probability": 0.0}, 0, ROOT)
    assert per_task(plain, ge) > 0 and per_task(never, ge) == 0
    slo = build_cell_instance({**base, "slo": 3.0}, 0, ROOT)
    job = int(np.flatnonzero(slo.job_task == es)[0])
    assert slo.job_deadline[job] - slo.job_release[job] == 3 * slo.isolated_latency(job, 0)
    small = build_cell_instance({**base, "pes": 1024}, 0, ROOT)
    assert (small.op_duration[small.op_duration > 0].sum()
            > plain.op_duration[plain.op_duration > 0].sum())  # fmt: skip


def test_an_instance_file_refuses_scenario_parameters(tmp_path):
    instance = load_workload("VR_gaming", system="xrb4k-J", duration_ns=50_000_000)
    instance.to_json(tmp_path / "i.json")
    with pytest.raises(InputError, match="scenario parameters need a scenario"):
        build_cell_instance({"workload": str(tmp_path / "i.json"), "slo": 2.0}, 0, ROOT)


# -- the sweep and its store ----------------------------------------------------------------------
def test_rows_equal_what_the_library_computes(tmp_path):
    db = tmp_path / "smoke.db"
    summary = run_study(read_study(write(tmp_path, SMOKE)), db, workers=0)
    assert summary.to_dict() == {"cells": 12, "done": 12, "skipped": 0, "failed": 0}
    stored = rows(db)
    assert len(stored) == 12 and len({r["key"] for r in stored}) == 12
    row = next(r for r in stored if json.loads(r["params"])["scheduler"] == "dream"
               and json.loads(r["params"])["fps_scale"] == 1.0 and r["seed"] == 2)  # fmt: skip
    instance = load_workload("VR_gaming", system="xrb4k-J", duration_ns=100_000_000,
                             granularity="block:4", seed=2)  # fmt: skip
    metrics = compute_metrics(instance, replay(instance, make_scheduler("dream")))
    assert row["instance_hash"] == instance.content_hash
    for name in ("miss_rate", "energy_mJ", "antt", "xrbench_score", "sla_rate", "uxcost"):
        assert row[name] == getattr(metrics, name), name
    assert row["rtmm_opt"] and row["ortools"] and row["python"]
    again = run_study(read_study(tmp_path / "study.yaml"), db, workers=0)
    assert again.to_dict() == {"cells": 12, "done": 12, "skipped": 12, "failed": 0}
    assert rows(db) == stored  # nothing written twice


def test_the_oracle_block_adds_certified_gaps(tmp_path):
    db = tmp_path / "mix.db"
    run_study(read_study(write(tmp_path, MIX)), db, workers=0)
    stored = rows(db)
    assert len(stored) == 6 and {r["status"] for r in stored} == {"done"}
    for row in stored:
        assert row["oracle_status"] == "optimal"
        assert row["oracle_objective"] <= row["objective"]
        assert row["excess"] == row["objective"] - row["oracle_objective"]
        assert row["oracle_bound"] <= row["oracle_objective"]


def test_a_cell_that_raises_is_recorded_and_the_study_goes_on(tmp_path, monkeypatch):
    real = cells_module.replay

    def flaky(instance, policy, **kw):
        if policy.name == "dream":
            raise RuntimeError("injected failure")
        return real(instance, policy, **kw)

    monkeypatch.setattr(cells_module, "replay", flaky)
    db = tmp_path / "smoke.db"
    summary = run_study(read_study(write(tmp_path, SMOKE)), db, workers=0)
    assert (summary.done, summary.failed) == (6, 6)
    failed = [r for r in rows(db) if r["status"] == "failed"]
    assert len(failed) == 6 and all("injected failure" in r["error"] for r in failed)
    monkeypatch.setattr(cells_module, "replay", real)
    retry = run_study(read_study(tmp_path / "study.yaml"), db, workers=0)
    assert (retry.done, retry.skipped, retry.failed) == (12, 6, 0)
    assert {r["status"] for r in rows(db)} == {"done"} and len(rows(db)) == 12


def test_a_study_killed_midway_resumes_with_one_row_per_cell(tmp_path):
    study = write(tmp_path, """\
name: long
base: {workload: VR_gaming, system: xrb4k-J, duration: 100ms, granularity: layer}
grid: {scheduler: [edf, llf, sjf, fcfs], fps_scale: [0.5, 0.75, 1.0, 1.25]}
seeds: [0, 1, 2, 3]
""")  # fmt: skip
    db = tmp_path / "long.db"
    command = [sys.executable, "-m", "rtmm_opt", "sweep", str(study), "--db", str(db),
               "--workers", "0", "--quiet"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    written = 0
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        if db.exists():
            with sqlite3.connect(db) as connection:
                try:
                    written = connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                except sqlite3.OperationalError:
                    written = 0
            if written >= 4:
                break
    assert process.poll() is None, "the study finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = {r["key"]: r for r in rows(db)}
    assert 4 <= len(before) < 64
    out = subprocess.run([*command[:-1], "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    assert summary["cells"] == 64 and summary["done"] == 64 and summary["failed"] == 0
    assert summary["skipped"] == len(before)
    after = rows(db)
    assert len(after) == 64 and len({r["key"] for r in after}) == 64
    assert all(before[r["key"]] == r for r in after if r["key"] in before)  # untouched


def test_the_smoke_study_runs_on_the_embedded_cluster(tmp_path, capsys):
    path = write(tmp_path, SMOKE)
    db = tmp_path / "smoke.db"
    assert main(["sweep", str(path), "--db", str(db), "--workers", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"cells": 12, "done": 12, "skipped": 0,
                                                    "failed": 0}  # fmt: skip
    reference = tmp_path / "reference.db"
    run_study(read_study(path), reference, workers=0)
    strip = lambda r: {k: v for k, v in r.items() if not k.endswith("wall_s")}  # noqa: E731
    assert [strip(r) for r in rows(db)] == [strip(r) for r in rows(reference)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_smoke_study_runs_on_a_dask_scheduler_started_here(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [shutil.which("dask") or str(Path(sys.executable).parent / "dask")]
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [*dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
         "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        path = write(tmp_path, SMOKE)
        db = tmp_path / "smoke.db"
        out = subprocess.run(
            [sys.executable, "-m", "rtmm_opt", "sweep", str(path), "--db", str(db), "--cluster",
             address, "--json"],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {"cells": 12, "done": 12, "skipped": 0, "failed": 0}
        assert len(rows(db)) == 12
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_export_and_load_runs(tmp_path):
    db = tmp_path / "smoke.db"
    run_study(read_study(write(tmp_path, SMOKE)), db, workers=0)
    frame = load_runs(db)
    assert len(frame) == 12 and set(frame["scheduler"]) == {"edf", "dream"}
    assert frame["fps_scale"].tolist().count(0.5) == 6
    for suffix in (".csv", ".parquet"):
        target = export_runs(db, tmp_path / f"runs{suffix}")
        import pandas as pd

        back = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
        assert len(back) == 12 and back["miss_rate"].tolist() == frame["miss_rate"].tolist()


# -- the report -----------------------------------------------------------------------------------
def test_the_report_writes_markdown_and_labelled_figures(tmp_path):
    db = tmp_path / "mix.db"
    run_study(read_study(write(tmp_path, MIX)), db, workers=0)
    report = write_report(db, tmp_path / "report")
    text = report.markdown.read_text()
    assert text.startswith("# Study `mix`")
    assert "the oracle proved optimality on 6 of 6 instances" in text
    names = {f.name for f in report.figures}
    assert {"metrics_vs_fps_scale.png", "metrics_vs_system.png", "optimality_gaps.png"} <= names
    for figure in report.figures:
        assert figure.stat().st_size > 10_000 and f"]({figure.name})" in text


def test_the_performance_profile_counts_instances_within_tau():
    import pandas as pd

    done = pd.DataFrame({
        "cell_group": ["a", "a", "b", "b", "c", "c"],
        "scheduler": ["x", "y"] * 3,
        "objective": [0, 1, 2, 2, 5, 3],
    })  # fmt: skip
    profile = performance_profile(done, "objective")
    taus, share = profile["x"]
    assert taus.tolist() == [0, 1, 2]
    assert share.tolist() == pytest.approx([2 / 3, 2 / 3, 1.0])  # x is 2 worse on c
    assert profile["y"][1].tolist() == pytest.approx([2 / 3, 1.0, 1.0])  # y is 1 worse on a


def test_sobol_indices_of_a_known_function(tmp_path):
    """y = 4·x1 + x2 on [0,1]²: first-order indices are 16/17 and 1/17, x3 has none. The rows
    are written out of order, so the analysis must restore the design's order."""
    study = study_from_dict({
        "name": "known", "base": {"workload": "VR_gaming"},
        "design": {"kind": "sobol", "n": 256, "seed": 1,
                   "ranges": {"dream.alpha": [0, 1], "dream.beta": [0, 1], "dream.lam": [0, 1]}},
        "grid": {"scheduler": ["dream"]},
    }, file="known.yaml")  # fmt: skip
    cells = study.cells()
    db = tmp_path / "known.db"
    with ResultStore(db) as store:
        store.record_study("known", study.to_dict())
        rows_ = []
        for cell in reversed(cells):
            x1, x2 = cell.params["dream.alpha"], cell.params["dream.beta"]
            y = 4 * x1 + x2
            rows_.append({"key": cell.key, "params": dict(cell.params), "seed": cell.seed,
                          "design_index": cell.design_index, "group": cell.group,
                          "status": "done", "miss_rate": y, "energy_mJ": 1.0 + y})  # fmt: skip
        store.write("known", rows_)
    report = write_report(db, tmp_path / "report")
    text = report.markdown.read_text()
    table = text.split("### miss_rate", 1)[1]
    s1 = {line.split("|")[1].strip(" `"): float(line.split("|")[2])
          for line in table.splitlines() if line.startswith("| `")}  # fmt: skip
    assert s1["dream.alpha"] == pytest.approx(16 / 17, abs=0.05)
    assert s1["dream.beta"] == pytest.approx(1 / 17, abs=0.05)
    assert abs(s1["dream.lam"]) < 0.05

"""The bundled data travels with the package: models, scenarios and cost tables live in
``rtmm_opt/data`` (the checkout's ``models/``, ``instances/``, ``costs/`` link there), the wheel
carries them, and a WORKLOAD names a bundled scenario from any directory.

The truth here is the checkout itself: the files under its top-level ``instances/`` and
``models/``, and the instances built from them in this process.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from support import ROOT

import rtmm_opt
from rtmm_opt.errors import InputError
from rtmm_opt.io import bundled
from rtmm_opt.io.bundled import data_root, find_scenario, list_scenarios, resolve_workload

DATA = ROOT / "rtmm_opt" / "data"
# every bundled scenario, as the checkout's own instances/ folder holds them
CHECKOUT_SCENARIOS = sorted((ROOT / "instances").rglob("*.yaml"))


def test_checkout_links_point_into_the_package():
    for folder in ("models", "instances", "costs"):
        link = ROOT / folder
        assert link.is_symlink(), f"{folder}/ should link to rtmm_opt/data/{folder}"
        assert os.readlink(link) == f"rtmm_opt/data/{folder}"  # relative: works in any clone
        assert link.resolve() == (DATA / folder).resolve()
    assert data_root().resolve() == (Path(rtmm_opt.__file__).parent / "data").resolve()


def test_package_data_patterns_cover_every_bundled_file():
    """What pyproject.toml ships is exactly what rtmm_opt/data holds (a new kind of file there
    needs a pattern, or the wheel would silently leave it out)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["rtmm_opt"]
    package = ROOT / "rtmm_opt"
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    present = {p for p in DATA.rglob("*") if p.is_file()}
    assert present and present <= shipped
    assert len([p for p in present if p.parent == DATA / "models" and p.suffix == ".yaml"]) == 19  # 12 XRBench + 7 MAESTRO


def test_every_bundled_scenario_resolves_by_name_and_by_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing here: every spelling must come from the package
    assert len(CHECKOUT_SCENARIOS) == 16  # 11 XRBench, 2 examples, 3 multi-tenant
    names = {}
    for file in CHECKOUT_SCENARIOS:
        relative = file.relative_to(ROOT / "instances")
        name = relative.with_suffix("").as_posix()
        names[name] = file.resolve()
        spellings = [
            name,  # xrbench/probability_sweep/VR_gaming_25p
            file.stem,  # VR_gaming_25p
            f"instances/{relative.as_posix()}",  # the README's spelling
            f"./instances/{relative.as_posix()}",
            relative.as_posix(),  # xrbench/VR_gaming.yaml
        ]
        for spelling in spellings:
            assert resolve_workload(spelling).resolve() == file.resolve(), spelling
    assert {name: path.resolve() for name, path in list_scenarios().items()} == names


def test_a_path_that_exists_wins_over_a_bundled_scenario(tmp_path, monkeypatch):
    mine = tmp_path / "instances" / "xrbench" / "VR_gaming.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("kind: scenario\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_workload("instances/xrbench/VR_gaming.yaml") == Path(
        "instances/xrbench/VR_gaming.yaml"
    )
    assert (
        resolve_workload("VR_gaming").resolve()
        == (ROOT / "instances/xrbench/VR_gaming.yaml").resolve()
    )


def test_unknown_and_ambiguous_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        InputError,
        match=r"'VR_gamin' is neither a file nor a bundled scenario \(did you mean 'VR_gaming'\?\)",
    ) as caught:
        resolve_workload("VR_gamin")
    assert caught.value.field == "workload" and "ar_headset" in caught.value.reason
    with pytest.raises(
        InputError, match=r"no such file.*did you mean 'instances/xrbench/VR_gaming.yaml'"
    ) as caught:
        resolve_workload("instances/xrbench/VR_gamng.yaml")
    assert caught.value.file == "instances/xrbench/VR_gamng.yaml"
    with pytest.raises(InputError, match="no such file"):
        resolve_workload(tmp_path / "absent.yaml")
    assert find_scenario("gaming") is None  # a part of a name, not a whole part of the path
    # two scenarios ending in the same part: the short name is refused, a longer one works
    for folder in ("a", "b"):
        (tmp_path / "data" / folder).mkdir(parents=True)
        (tmp_path / "data" / folder / "same.yaml").write_text("kind: scenario\n")
    monkeypatch.setattr(bundled, "scenarios_dir", lambda: tmp_path / "data")
    with pytest.raises(InputError, match=r"several bundled scenarios \(a/same, b/same\)"):
        resolve_workload("same")
    assert resolve_workload("b/same") == tmp_path / "data" / "b" / "same.yaml"
    assert bundled.short_names(list(list_scenarios())) == ["a/same", "b/same"]


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        (
            "VR_gamin",
            "workload: 'VR_gamin' is neither a file nor a bundled scenario (did you mean 'VR_gaming'?)",
        ),
        ("ar-headset", "(did you mean 'ar_headset'?)"),
        (
            "instances/xrbench/VR_gamng.yaml",
            "instances/xrbench/VR_gamng.yaml: no such file, nor a bundled scenario (did you mean 'instances/xrbench/VR_gaming.yaml'?)",
        ),
    ],
)
@pytest.mark.parametrize(
    "command", [["build"], ["run", "--scheduler", "edf"], ["compare", "--schedulers", "edf"]]
)
def test_cli_refuses_an_unknown_workload_with_exit_2(
    rtmm, tmp_path, monkeypatch, command, workload, message
):
    monkeypatch.chdir(tmp_path)
    status, out, err = rtmm(command[0], workload, *command[1:])
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_cli_builds_a_bundled_scenario_from_any_directory(rtmm, tmp_path, monkeypatch):
    """By name and by the README's path, from a directory without the files: the same instance as
    building the checkout's own file."""
    options = ["--system", "xrb4k-J", "--cost", "table:xrbench", "--duration", "100ms", "--json"]
    status, out, _ = rtmm("build", str(ROOT / "instances/xrbench/VR_gaming.yaml"), *options)
    assert status == 0
    expected = json.loads(out)["instance_hash"]
    monkeypatch.chdir(tmp_path)
    for workload in ("VR_gaming", "instances/xrbench/VR_gaming.yaml"):
        status, out, _ = rtmm("build", workload, *options)
        assert status == 0 and json.loads(out)["instance_hash"] == expected, workload


def test_scenarios_list(rtmm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = rtmm("scenarios", "list", "--json")
    assert status == 0
    entries = {entry["name"]: entry for entry in json.loads(out)}
    assert set(entries) == {
        p.relative_to(ROOT / "instances").with_suffix("").as_posix() for p in CHECKOUT_SCENARIOS
    }
    vr = entries["xrbench/VR_gaming"]
    assert vr["short_name"] == "VR_gaming" and vr["duration_ms"] == 700
    # instances/README.md: ES_RITNet 60, GE_FBNet_C 60 (on ES), HT_hand_graph_cnn_half 45
    assert [(t["task"], t["rate"], t["depends_on"]) for t in vr["tasks"]] == [
        ("ES_RITNet", "60 fps", []),
        ("GE_FBNet_C", "60 fps", ["ES_RITNet"]),
        ("HT_hand_graph_cnn_half", "45 fps", []),
    ]
    assert [
        t["trigger_probability"]
        for t in entries["xrbench/probability_sweep/VR_gaming_25p"]["tasks"]
    ] == [1.0, 0.25, 1.0]
    status, out, _ = rtmm("scenarios", "list")
    assert status == 0
    assert "gaze_estimation [GE_FBNet_C] (after eye_segmentation, p 0.8)" in out
    assert "16 scenarios" in out


# -- the wheel -------------------------------------------------------------------------------------


def _builds_offline() -> bool:
    """pip builds without an isolated environment only if setuptools has ``bdist_wheel`` here:
    from the ``wheel`` package, or built in (setuptools ≥ 70.1)."""
    import setuptools

    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return importlib.util.find_spec("wheel") is not None or (major, minor) >= (70, 1)


def _run(argv, cwd, env=None):
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the venv layout below is POSIX's")
def test_the_wheel_carries_its_data_and_runs_from_anywhere(tmp_path):
    """Build the wheel from a copy of the sources (so that no stale build/ of the checkout leaks
    in), install it into a fresh venv that borrows the machine's ortools and numpy, and run the
    README's kind of command from a directory that is not the checkout."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "rtmm_opt",
        source / "rtmm_opt",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"),  # the core is built anew
    )
    dist = tmp_path / "dist"
    isolation = ["--no-build-isolation"] if _builds_offline() else []  # else pip fetches setuptools
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", dist, source],
        tmp_path,
    )
    (wheel,) = dist.glob("rtmm_opt-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    bundled_files = {
        f"rtmm_opt/data/{p.relative_to(DATA).as_posix()}" for p in DATA.rglob("*") if p.is_file()
    }
    assert "rtmm_opt/data/costs/xrbench_maestro.csv.gz" in bundled_files
    assert bundled_files <= shipped, sorted(bundled_files - shipped)
    # the compiled core (setup.py; this machine has a C compiler)
    assert any(name.startswith("rtmm_opt/engine/native.") for name in shipped), sorted(shipped)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], tmp_path)
    python = venv / "bin" / "python"
    install = ["install", "--no-deps", "--no-index", "--force-reinstall", wheel]
    _run([sys.executable, "-m", "pip", "--python", python, *install], tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RTMM_MODELS_DIR")}
    # the checkout's editable install is on the machine too: the venv's copy must win
    where = _run([python, "-c", "import rtmm_opt; print(rtmm_opt.__file__)"], elsewhere, env)
    assert Path(where.strip()).resolve().is_relative_to(venv.resolve()), where
    core = "from rtmm_opt.engine.core import compiled; print(compiled().__file__)"
    assert Path(_run([python, "-c", core], elsewhere, env).strip()).is_relative_to(venv.resolve())
    rtmm = venv / "bin" / "rtmm"
    models = json.loads(_run([rtmm, "models", "list", "--json"], elsewhere, env))
    assert len(models) == 19 and {m["name"] for m in models} >= {"ES_RITNet", "SS_HRViT_b1"}

    from rtmm_opt.instance import load_workload

    expected = load_workload(
        ROOT / "instances/xrbench/VR_gaming.yaml", system="xrb4k-J", cost="table:xrbench",
        duration_ns=100_000_000,
    ).content_hash  # fmt: skip
    options = ["--system", "xrb4k-J", "--cost", "table:xrbench", "--duration", "100ms",
               "--time-limit", "5", "--workers", "1", "--schedulers", "edf,dream", "--json"]  # fmt: skip
    for workload in ("VR_gaming", "instances/xrbench/VR_gaming.yaml"):
        result = json.loads(_run([rtmm, "compare", workload, *options], elsewhere, env))
        assert result["instance"] == "VR_gaming" and result["instance_hash"] == expected
        assert [s["name"] for s in result["schedulers"]] == ["edf", "dream"]
        oracle = result["oracle"]
        assert oracle["status"] in ("optimal", "feasible")
        assert all(oracle["objective"] <= s["objective"] for s in result["schedulers"])
    # the learned scheduler runs on numpy alone with the checkpoint shipped in the wheel
    run = ["run", "instances/multitenant/light.yaml", "--system", "hetero-2s2e", "--scheduler",
           "relmas", "--duration", "200ms", "--json"]  # fmt: skip
    result = json.loads(_run([rtmm, *run], elsewhere, env))
    assert result["valid"] and 0 < result["metrics"]["sla_rate"] <= 1
    assert list(elsewhere.iterdir()) == []  # nothing written where it ran

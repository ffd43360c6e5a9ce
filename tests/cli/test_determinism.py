"""``--deterministic``: byte-identical JSON from solve and compare, even when the time limit
stops the solver (the limit is then CP-SAT's deterministic time, not the wall clock)."""

import json
import subprocess
import sys

import pytest

from rtmm_opt.cli.main import main
from rtmm_opt.cli.output import without_timings

# A tardiness instance the solver does not close within a short limit: the limit binds.
HARD = ["AR_gaming", "--duration", "300ms", "--cost", "table:xrbench", "--granularity",
        "block:4", "--objective", "tardiness", "--drops", "never", "--time-limit", "1"]  # fmt: skip
EASY = ["VR_gaming", "--duration", "100ms", "--granularity", "block:4", "--time-limit", "5"]


def rtmm(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "rtmm_opt", *args], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return out.stdout


def wall_keys(data, path=""):
    if isinstance(data, dict):
        for key, value in data.items():
            if "wall" in str(key):
                yield f"{path}.{key}"
            yield from wall_keys(value, f"{path}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from wall_keys(value, f"{path}[{i}]")


def test_deterministic_output_has_no_wall_clock_fields(capsys):
    assert main(["solve", *EASY, "--json", "--deterministic"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(wall_keys(data)) == []
    assert data["solver"]["workers"] == 1 and data["solver"]["deterministic"] is True
    assert main(["solve", *EASY, "--json"]) == 0
    assert "wall_s" in json.loads(capsys.readouterr().out)  # without the flag they are there


def test_deterministic_runs_one_worker(capsys):
    assert main(["solve", *EASY, "--deterministic", "--workers", "4"]) == 2
    assert "--workers: --deterministic runs one worker" in capsys.readouterr().err


def test_without_timings_removes_every_wall_field_and_nothing_else():
    data = {"wall_s": 1, "a": {"oracle_wall_s": 2, "b": [{"wall_time": 3, "c": 4}]}, "d": 5}
    assert without_timings(data) == {"a": {"b": [{"c": 4}]}, "d": 5}


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["solve", *HARD, "--hint", "none"], ["compare", *HARD, "--schedulers", "edf,dream"]],
    ids=["solve", "compare"],
)
def test_a_time_limited_solve_is_byte_identical(command):
    first = rtmm(*command, "--json", "--deterministic")
    second = rtmm(*command, "--json", "--deterministic")
    assert first == second
    data = json.loads(first)
    oracle = data.get("oracle", data)
    assert oracle["status"] == "feasible"  # the limit stopped the search: the hard case
    assert oracle["bound"] < oracle["objective"]

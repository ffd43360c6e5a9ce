"""`rtmm compare` on every XRBench scenario: the oracle is never worse than any scheduler.

Issue 4's acceptance check, run through the command line exactly as a user would: every
registered scheduler is replayed (each replay is validated), the oracle solves the same instance
with their schedules as hints, and its objective, recomputed from its validated schedule, must
be ≤ every scheduler's. The objective is ``misses`` with unit weights (XRBench tasks all have
priority 1), so it must also equal dropped + late jobs of the oracle's own metrics, and each
scheduler's objective must equal its own dropped + late.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtmm_opt.cli.main import main
from rtmm_opt.schedulers import scheduler_names

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(path.stem for path in (ROOT / "instances/xrbench").glob("*.yaml"))


def compare(capsys, scenario: str, system: str, duration: str) -> dict:
    status = main(
        [
            "compare", str(ROOT / "instances/xrbench" / f"{scenario}.yaml"),
            "--system", system, "--cost", "table:xrbench", "--duration", duration,
            "--granularity", "block:4", "--time-limit", "20", "--workers", "2",
            "--schedulers", ",".join(scheduler_names()), "--json",
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out)


def check(data: dict) -> None:
    oracle = data["oracle"]
    assert oracle["status"] in ("optimal", "feasible")
    assert oracle["bound"] <= oracle["objective"]
    misses = oracle["metrics"]["dropped"] + oracle["metrics"]["late"]
    assert oracle["objective"] == misses
    rows = data["schedulers"]
    assert [row["name"] for row in rows] == list(scheduler_names())
    for row in rows:
        assert row["objective"] == row["metrics"]["dropped"] + row["metrics"]["late"], row["name"]
        assert oracle["objective"] <= row["objective"], row["name"]


def test_scenarios_are_all_bundled():
    assert len(SCENARIOS) == 7


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_oracle_beats_every_scheduler_on_xrbench(capsys, scenario):
    check(compare(capsys, scenario, "xrb4k-J", "150ms"))


@pytest.mark.slow
@pytest.mark.parametrize("system", ["xrb4k-A", "xrb4k-J", "xrb4k-M"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_oracle_beats_every_scheduler_on_xrbench_one_second(capsys, scenario, system):
    check(compare(capsys, scenario, system, "1s"))

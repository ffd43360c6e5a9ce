"""Every output flag is checked the same way, before any work starts: exit 2 naming the flag.

The unwritable places: a path under a file (``/etc/passwd/x``), a directory given as the file,
and a path on a read-only filesystem (``/proc``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from rtmm_opt.cli.main import main

AR = str(ROOT / "instances" / "examples" / "ar_headset.yaml")
FAST = ["--duration", "50ms"]
COMMANDS = {
    "run": ["run", AR, "--scheduler", "edf", *FAST],
    "solve": ["solve", AR, "--time-limit", "2", "--workers", "1", "--hint", "none", *FAST],
    "compare": ["compare", AR, "--schedulers", "edf", "--time-limit", "2", "--workers", "1",
                *FAST],
}  # fmt: skip
FLAGS = [
    ("run", "--schedule"), ("run", "--trace"), ("run", "--gantt"),
    ("solve", "--schedule"), ("solve", "--trace"), ("solve", "--gantt"), ("solve", "--archive"),
    ("compare", "--gantt"),
]  # fmt: skip


def bad_places(tmp_path: Path) -> list[tuple[str, str]]:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    return [
        (str(blocker / "out.csv"), "is a file, not a directory"),
        (str(tmp_path), "is a directory"),
        ("/proc/rtmm-out.csv", "cannot write"),
    ]


@pytest.mark.parametrize(("command", "flag"), FLAGS)
def test_an_unwritable_output_is_refused_before_work(command, flag, tmp_path, capsys):
    for place, reason in bad_places(tmp_path):
        assert main([*COMMANDS[command], flag, place]) == 2
        err = capsys.readouterr().err
        assert f"{place}: {flag}: " in err and reason in err, err
        assert err.count("\n") == 1


def test_outputs_in_new_folders_are_written(tmp_path):
    out = tmp_path / "new" / "deeper"
    status = main([*COMMANDS["solve"], "--schedule", str(out / "s.csv"), "--archive",
                   str(out / "m.pb"), "--trace", str(out / "t.json")])  # fmt: skip
    assert status == 0
    assert (out / "s.csv").read_text().startswith("op,")
    assert (out / "m.pb").stat().st_size > 0 and (out / "t.json").stat().st_size > 0


def test_a_refused_output_leaves_no_file_behind(tmp_path):
    target = tmp_path / "s.csv"
    status = subprocess.run(
        [sys.executable, "-m", "rtmm_opt", *COMMANDS["run"], "--schedule", str(target),
         "--scheduler", "no-such-scheduler"],
        capture_output=True, text=True,
    ).returncode  # fmt: skip
    assert status == 2 and not target.exists()


def test_the_archive_is_written_when_a_hint_is_already_optimal(tmp_path, capsys):
    archive = tmp_path / "model.pb"
    args = ["solve", AR, "--duration", "50ms", "--time-limit", "5", "--workers", "1", "--json",
            "--archive", str(archive)]  # fmt: skip
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "optimal" and result["solver"]["status"] == "skipped"
    assert archive.stat().st_size > 1000
    from ortools.sat import cp_model_pb2

    model = cp_model_pb2.CpModelProto()
    model.ParseFromString(archive.read_bytes())
    assert len(model.constraints) > 0 and model.HasField("objective")

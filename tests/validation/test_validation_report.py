"""scripts/validate_references.py: the agreement report with the peer simulators.

The quick run (the first runs of each reference) must agree by the README's criteria (XRBench
scores within 4e-4 points, Dysta finish times within 3e-11 s and equal metrics), and its rows must
be the rows of the committed ``docs/validation.md``, so the document is the script's output and
not stale. The slow test replays every reference run.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from support import ROOT, SHARED, needs_dysta, needs_xrbench

SCRIPT = ROOT / "scripts" / "validate_references.py"

pytestmark = [needs_xrbench, needs_dysta]


def load_script():
    spec = importlib.util.spec_from_file_location("validate_references", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def table_rows(text: str) -> list[list[str]]:
    """The cells of every data row of every Markdown table in ``text``."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [row for row in rows if row[0] not in ("scenario", "set")]


def test_quick_run_agrees_and_matches_the_committed_report(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "validation.md"
    assert script.main(["--quick", "--shared", str(SHARED), "--out", str(out)]) == 0
    capsys.readouterr()
    quick = table_rows(out.read_text())
    committed = table_rows((ROOT / "docs" / "validation.md").read_text())
    assert len(quick) == 2 * script.QUICK_RUNS
    # identity and our own numbers (the first six cells: run key, ours, theirs)
    keys = {tuple(row[:6]) for row in committed}
    for row in quick:
        assert tuple(row[:6]) in keys, f"docs/validation.md is stale: {row[:6]}"
    # the committed report covers every reference run: 38 XRBench + 14 Dysta
    assert len(committed) == 38 + 14
    assert "SOME RUNS DISAGREE" not in (ROOT / "docs" / "validation.md").read_text()


def test_disagreement_is_reported(tmp_path, capsys, monkeypatch):
    script = load_script()
    monkeypatch.setattr(script, "XRBENCH_SCORE_TOL", -1.0)  # nothing can agree within < 0
    out = tmp_path / "validation.md"
    assert script.main(["--quick", "--shared", str(SHARED), "--out", str(out)]) == 1
    assert "SOME RUNS DISAGREE" in out.read_text()
    assert "XRBench harness: DISAGREES" in capsys.readouterr().err


def test_missing_shared_folder_is_a_clear_error(tmp_path, capsys):
    script = load_script()
    assert script.main(["--shared", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


@pytest.mark.slow
def test_every_reference_run_agrees(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "validation.md"
    assert script.main(["--shared", str(SHARED), "--out", str(out)]) == 0
    assert len(table_rows(out.read_text())) == 38 + 14

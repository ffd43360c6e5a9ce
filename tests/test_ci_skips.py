"""Under CI, a test that skips for missing reference data or a missing enumerator fails.

A copy of tests/conftest.py, with the tests/support package it imports, runs in a scratch tree
(``repo/tests`` next to an empty ``shared/xrbench`` and ``shared/dysta``, so the folder check
passes) over a test file whose tests skip for each kind of reason; the outcomes are read from
pytest's JUnit XML report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
SUPPORT = Path(__file__).with_name("support")

SKIPPING_TESTS = """
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_reference_data_missing():
    pytest.skip("XRBench reference data not found at /nowhere/xrbench")


@pytest.mark.skipif(True, reason="tests/oracle/test_oracle_bruteforce.py (the enumerator) is missing")
def test_enumerator_missing():
    pass


def test_file_under_shared_missing():
    pytest.skip(f"cannot read {SHARED / 'xrbench' / 'layer_costs.csv.gz'}")


@pytest.mark.skipif(True, reason="matplotlib is not installed (pip install 'rtmm-opt[plot]')")
def test_optional_package():
    pass


@pytest.mark.xfail(reason="the data file is missing", run=False)
def test_expected_failure():
    pass


def test_passes():
    pass
"""

MODULE_SKIP = """
import pytest

pytest.skip("Dysta latency tables not found at /nowhere", allow_module_level=True)
"""


def outcomes(tmp_path: Path, ci: bool) -> dict[str, str]:
    """Test name -> passed / skipped / failed (a failure or an error) in the scratch tree."""
    tests = tmp_path / "repo" / "tests"
    tests.mkdir(parents=True)
    for name in ("xrbench", "dysta"):
        (tmp_path / "shared" / name).mkdir(parents=True)
    (tmp_path / "repo" / "pytest.ini").write_text("[pytest]\n")  # no outer configuration
    (tests / "conftest.py").write_text(CONFTEST.read_text())
    shutil.copytree(SUPPORT, tests / "support", ignore=shutil.ignore_patterns("__pycache__"))
    (tests / "test_skipping.py").write_text(SKIPPING_TESTS)
    (tests / "test_module_skip.py").write_text(MODULE_SKIP)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "1"
    report = tmp_path / "report.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tests)]
    subprocess.run(
        # a failed collection would otherwise stop the run before the other tests
        [*command, "--continue-on-collection-errors", f"--junitxml={report}"],
        cwd=tests,
        env=env,
        capture_output=True,
        check=False,
    )
    result = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        # a module skipped at collection is named by its dotted path
        name = (case.get("name") or case.get("classname") or "").rsplit(".", 1)[-1]
        children = {child.tag for child in case}
        if children & {"failure", "error"}:
            result[name] = "failed"
        elif "skipped" in children:
            result[name] = "skipped"
        else:
            result[name] = "passed"
    return result


@pytest.mark.parametrize("ci", [False, True], ids=["local", "ci"])
def test_missing_data_skips_fail_under_ci(tmp_path: Path, ci: bool) -> None:
    missing = "failed" if ci else "skipped"
    assert outcomes(tmp_path, ci) == {
        "test_reference_data_missing": missing,
        "test_enumerator_missing": missing,
        "test_file_under_shared_missing": missing,
        "test_optional_package": "skipped",
        "test_expected_failure": "skipped",
        "test_passes": "passed",
        "test_module_skip": missing,
    }

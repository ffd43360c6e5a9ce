"""Test-suite wide settings and fixtures.

Test modules are grouped the way the package is (``tests/io``, ``tests/workload``, ...,
``tests/cli``); what several of them share is in ``tests/support`` (paths, the reference-data
markers, the command-line runner, small instance builders), and the ``rtmm`` fixture below
runs the command line in-process.

Reference-data tests read ``../shared`` (the XRBench and Dysta reference data) and skip when it
is absent, so the suite runs on a bare checkout. In CI (``CI`` set) the data must be there:
a silent skip would hide that the reference checks did not run. So under CI the run stops at
once when a reference folder is missing, and any test that skips because reference data, a
data file or the exhaustive enumerator (tests/oracle/test_oracle_bruteforce.py) is missing fails
instead (tests/test_ci_skips.py checks this). Skips for optional packages (matplotlib, onnx)
and platforms stay skips.
"""

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Generator

import pytest
from support import SHARED, run_cli

REFERENCE_SETS = ("xrbench", "dysta")  # every reference check skips without its folder
# What a skip for missing data says: a path under ../shared, or that something is missing
MISSING_DATA = re.compile(r"not found|missing|not available|no XRBench models", re.IGNORECASE)


def pytest_configure(config: pytest.Config) -> None:
    # The on-disk cache (rtmm_opt/io/disk_cache.py) of this run, and of the processes it starts,
    # is a fresh folder: no test reads entries left by an earlier run or writes to ~/.cache.
    cache = tempfile.mkdtemp(prefix="rtmm-test-cache-")
    os.environ["RTMM_CACHE_DIR"] = cache
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    if not os.environ.get("CI"):
        return
    missing = [name for name in REFERENCE_SETS if not (SHARED / name).is_dir()]
    if missing:
        raise pytest.UsageError(
            f"CI is set but the reference data is missing at {SHARED}: {', '.join(missing)}"
        )


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # (file, line, "Skipped: reason")
        return str(longrepr[2])
    return str(longrepr)


def is_missing_data(reason: str) -> bool:
    return str(SHARED) in reason or MISSING_DATA.search(reason) is not None


def fail_missing_data_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Under CI, turn a skip for missing reference data or a missing enumerator into a failure."""
    if not os.environ.get("CI") or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if is_missing_data(reason):
        report.outcome = "failed"
        report.longrepr = f"CI is set, but this skipped for missing data: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    fail_missing_data_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    fail_missing_data_skip(report)
    return report


@pytest.fixture
def rtmm(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """The command line run in-process: ``rtmm(*argv)`` returns (exit status, stdout, stderr)."""
    return functools.partial(run_cli, capsys)


@pytest.fixture
def pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's compiled core off (rtmm_opt/engine/core.py), for tests of the Python paths
    it would replace."""
    from rtmm_opt.engine.core import PURE_PYTHON_VARIABLE

    monkeypatch.setenv(PURE_PYTHON_VARIABLE, "1")

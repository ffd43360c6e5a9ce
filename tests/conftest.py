"""Test-suite wide settings.

Reference-data tests read ``../shared`` (the XRBench and Dysta reference data) and skip when it
is absent, so the suite runs on a bare checkout. In CI (``CI`` set) the data must be there:
a silent skip would hide that the reference checks did not run.
"""

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE_SETS = ("xrbench", "dysta")  # every reference check skips without its folder


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("CI"):
        return
    missing = [name for name in REFERENCE_SETS if not (SHARED / name).is_dir()]
    if missing:
        raise pytest.UsageError(
            f"CI is set but the reference data is missing at {SHARED}: {', '.join(missing)}"
        )

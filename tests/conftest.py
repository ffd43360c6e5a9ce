"""Test-suite wide settings.

Reference-data tests read ``../shared`` (the XRBench and Dysta reference data) and skip when it
is absent, so the suite runs on a bare checkout. In CI (``CI`` set) the data must be there:
a silent skip would hide that the reference checks did not run.
"""

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not (SHARED / "xrbench").is_dir():
        raise pytest.UsageError(f"CI is set but the reference data is missing at {SHARED}")

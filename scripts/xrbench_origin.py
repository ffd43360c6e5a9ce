"""Where the XRBench reference data comes from (``shared/xrbench/README.md``), shared by the
``convert_xrbench_*`` scripts so that every converted file names the same origin."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = "github.com/XRBench/XRBench-MLSys2023"
COMMIT = "89156663be7a1afb97749e1a6894dedcad78e060"
ORIGIN = f"XRBench-MLSys2023 ({REPOSITORY}) commit {COMMIT[:8]}"
# Where the scenario files live in the XRBench repository.
REPO_DIRS = {
    "scenarios": "XRbench_evaluation/usage_scenarios",
    "probability_sweep": "XRbench_evaluation/probability_sweep",
}
DEFAULT_SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "xrbench" / "scenarios"


def repository_path(path: Path) -> str:
    """The path of a scenario file (a copy in ``shared/xrbench``) inside the XRBench repository."""
    return f"{REPO_DIRS.get(path.parent.name, path.parent.name)}/{path.name}"

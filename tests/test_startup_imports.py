"""Start-up: the commands that need no solver, plot or statistics library do not import one.

Each case runs in a fresh interpreter and lists which of the heavy libraries it imported
(``tests/test_library_api.py`` checks the library's own import paths the same way).
"""

import subprocess
import sys

import pytest
from support import ROOT

from rtmm_opt.instance import load_workload

HEAVY = ("scipy", "ortools", "matplotlib", "optuna", "dask", "torch", "gymnasium", "pandas")


def _imported_by(argv: list[str], watched: tuple[str, ...] = (*HEAVY, "tabulate")) -> set[str]:
    probe = (
        "import contextlib, io, sys\n"
        "from rtmm_opt.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        status = main({argv!r})\n"
        "    except SystemExit as exc:\n"
        "        status = exc.code\n"
        "assert status == 0, status\n"
        f"print(' '.join(m for m in {watched!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout  # fmt: skip
    return set(out.split())


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["models", "list"],
        ["run", "VR_gaming", "--scheduler", "edf", "--duration", "100ms"],
        ["run", "VR_gaming", "--scheduler", "dysta", "--duration", "100ms", "--json"],
    ],
    ids=["help", "run-help", "models-list", "run", "run-json"],
)
def test_commands_import_no_heavy_library_they_do_not_use(argv):
    assert _imported_by(argv) & set(HEAVY) == set()


def test_json_output_does_not_load_the_table_printer():
    argv = ["run", "VR_gaming", "--scheduler", "edf", "--duration", "100ms", "--json"]
    assert "tabulate" not in _imported_by(argv)


def test_replaying_an_instance_file_builds_no_model_graphs(tmp_path):
    path = tmp_path / "instance.json"
    load_workload("VR_gaming", system="xrb4k-J", duration_ns=100_000_000).to_json(path)
    argv = ["run", str(path), "--scheduler", "edf", "--json"]
    watched = ("networkx", "rtmm_opt.instance.builder", "rtmm_opt.scenario", *HEAVY)
    assert _imported_by(argv, watched) == set()

"""The public library: ``from rtmm_opt import ...``, lazily, and ``compare`` as a function.

The hand-made instance: one accelerator; job A (released at 0, 10 units long, deadline 100) and
job B (released at 1, 2 units long, deadline 5). An online scheduler sees only A at time 0, runs
it to 10, and B finishes at 12 > 5: one miss. The clairvoyant optimum waits for B (1 → 3) and
runs A 3 → 13: no miss. So every online scheduler's gap to the oracle is exactly 1 miss (100 %).
"""

import json
import re
import subprocess
import sys

import pytest
from support import ROOT

import rtmm_opt
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import TaskInfo

PUBLIC = ["load_workload", "replay", "make_scheduler", "solve", "compare", "compute_metrics",
          "validate", "Instance", "Schedule"]  # fmt: skip


def waiting_pays(weight_b: int = 1):
    tasks = [TaskInfo("long", "m"), TaskInfo("short", "m")]
    jobs = [
        JobSpec(task=0, release=0, deadline=100, ops=[OpSpec([10])]),
        JobSpec(task=1, release=1, deadline=5, ops=[OpSpec([2])], weight=weight_b),
    ]
    return assemble("waiting-pays", accelerators=("npu",), tasks=tasks, jobs=jobs)


def test_the_public_names_import_from_the_package():
    from rtmm_opt import (  # noqa: F401
        Instance,
        Schedule,
        compare,
        compute_metrics,
        load_workload,
        make_scheduler,
        replay,
        solve,
        validate,
    )  # fmt: skip

    assert set(PUBLIC) <= set(rtmm_opt.__all__)
    for name in rtmm_opt.__all__:
        value = getattr(rtmm_opt, name)
        if name != "__version__":  # each name is a function or class of the package itself
            assert value.__name__ == name and value.__module__.startswith("rtmm_opt."), name
    assert set(PUBLIC) <= set(dir(rtmm_opt))
    with pytest.raises(AttributeError):
        rtmm_opt.no_such_name  # noqa: B018


def _imported_after(code: str) -> set[str]:
    probe = (
        "import sys, io, contextlib\n"
        f"{code}\n"
        "print(' '.join(m for m in ('ortools', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return set(out.split())


@pytest.mark.parametrize(
    "code",
    [
        "import rtmm_opt",
        "from rtmm_opt import load_workload, make_scheduler, replay",
        "from rtmm_opt.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['models', 'list'])",
        "from rtmm_opt.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass",
    ],
    ids=["import", "replay-only", "models-list", "help"],
)
def test_paths_that_do_not_solve_do_not_import_the_solver(code):
    assert _imported_after(code) == set()


def test_solve_imports_the_solver_on_first_use():
    assert "ortools" in _imported_after("import rtmm_opt\nrtmm_opt.solve")


def test_compare_reports_the_hand_computed_gap():
    result = rtmm_opt.compare(waiting_pays(), ["fcfs", "edf"], "misses", time_limit=10, workers=1)
    assert result.oracle.status == "optimal"
    assert result.oracle.objective == 0 and result.oracle.bound == 0
    assert [row.name for row in result.schedulers] == ["fcfs", "edf"]
    for row in result.schedulers:
        assert row.objective == 1
        assert (row.excess, row.excess_to_bound, row.gap, row.gap_to_bound) == (1, 1, 1.0, 1.0)
        assert row.metrics.miss_rate == 0.5
        assert rtmm_opt.validate(result.instance, row.schedule).ok
    assert result.objective_label == "missed jobs (dropped or late)"
    assert result.row("edf") is result.schedulers[1]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["schedulers"][0]["gap"] == 1.0 and data["oracle"]["objective"] == 0


def test_compare_without_hints_finds_the_optimum_itself():
    result = rtmm_opt.compare(waiting_pays(), ["edf"], time_limit=10, workers=1, hints=False)
    assert not result.hinted
    assert result.oracle.solver["incumbent"] == "solver"
    assert result.oracle.objective == 0 < result.row("edf").objective


def test_a_weighted_objective_is_labelled_as_such():
    result = rtmm_opt.compare(waiting_pays(weight_b=3), ["edf"], time_limit=10, workers=1)
    row = result.row("edf")
    assert row.objective == 3 and row.metrics.miss_rate == 0.5
    assert result.objective_label.startswith("weighted misses")
    sums = rtmm_opt.compare(waiting_pays(), ["edf"], "misses+0.001*energy", time_limit=10)
    assert sums.objective_label == "weighted sum misses+0.001*energy"


def test_compare_accepts_policy_objects():
    from rtmm_opt.schedulers.registry import make_scheduler

    result = rtmm_opt.compare(waiting_pays(), [make_scheduler("sjf")], time_limit=10, workers=1)
    assert [row.name for row in result.schedulers] == ["sjf"]


def test_the_cli_prints_what_the_library_computes(tmp_path):
    instance = waiting_pays(weight_b=3)
    path = tmp_path / "i.json"
    instance.to_json(path)
    out = subprocess.run(
        [sys.executable, "-m", "rtmm_opt", "compare", str(path), "--schedulers", "edf",
         "--time-limit", "10", "--workers", "1"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "weighted misses" in out
    assert re.search(r"edf\s+3\s+1\s+1\s+0\.5", out), out


def _readme_python() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Library", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_quick_start_runs(tmp_path, monkeypatch):
    code = _readme_python()
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    comparison = namespace["comparison"]
    assert comparison.oracle.status in ("optimal", "feasible")
    assert all(row.objective >= comparison.oracle.objective for row in comparison.schedulers)

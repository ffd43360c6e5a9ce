"""What several test modules share: where things are, markers that skip without the reference
data, the command line run in-process, and small instance builders.

``tests/conftest.py`` sits at the root of ``tests/`` and has no ``__init__.py`` beside it, so
pytest's default ``prepend`` import mode puts ``tests/`` on ``sys.path``: every test module,
however deep, imports this as ``from support import ...``. The fixtures built on it (``rtmm``)
are in ``tests/conftest.py``; :mod:`support.valid_schedules` holds hand-made and random valid
schedules, :mod:`support.xrbench_facts` facts about the XRBench networks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rtmm_opt.engine import Engine, Policy
from rtmm_opt.instance import Settings, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import Instance
from rtmm_opt.schedule import Schedule

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent  # the repository
TEST_DATA = TESTS / "data"  # files the tests read (job-shop benchmarks)
# The peer simulators' reference data, in the folder beside the repository (tests/conftest.py
# fails a CI run without it, and under CI any skip for missing data fails too).
SHARED = ROOT.parent / "shared"
XRBENCH = SHARED / "xrbench"
DYSTA = SHARED / "dysta"


def _skip_without(folder: Path, parts: Sequence[str], what: str) -> pytest.MarkDecorator:
    missing = [part for part in parts if not (folder / part).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"{what} not found at {folder}")


# Every part of a reference set some test reads: a test marked with the set runs only when the
# whole set is there.
needs_xrbench = _skip_without(
    XRBENCH,
    ("scenarios", "reference/runs.csv", "hw_configs", "dataflows", "layer_costs.csv.gz"),
    "XRBench reference data",
)
needs_dysta = _skip_without(DYSTA, ("latency_tables", "reference"), "Dysta reference data")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """``rtmm *argv`` in this process (arguments may be paths): (exit status, stdout, stderr)."""
    from rtmm_opt.cli.main import main

    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def chains(
    *jobs: Sequence[int],
    settings: Settings | None = None,
    accelerators: Sequence[str] = ("acc",),
    predicted: Sequence[Sequence[int]] | None = None,
) -> Instance:
    """Jobs ``(release, deadline, durations...)`` of task 0 (priority 1), each a chain of ops
    that take the same time on every accelerator; ``predicted[j]`` gives job j's op estimates."""
    specs = []
    for index, (release, deadline, *durations) in enumerate(jobs):
        ops = [
            OpSpec(
                [d] * len(accelerators),
                predicted=None if predicted is None else [predicted[index][i]] * len(accelerators),
                preds=[i - 1] if i else [],
            )
            for i, d in enumerate(durations)
        ]
        specs.append(JobSpec(0, release, deadline, ops))
    return assemble(
        "tiny", accelerators=accelerators, tasks=[TaskInfo("t", "m")], jobs=specs, settings=settings
    )


def random_chains(
    seed: int,
    *,
    settings: Settings | None = None,
    accelerators: Sequence[str] = ("acc",),
    min_jobs: int = 1,
    max_layers: int = 8,
    max_slack: int = 80,
    noisy_estimates: bool = False,
) -> Instance:
    """Up to 12 chains (:func:`chains`) with close releases (arrivals inside layers, clock
    rewinds under compat dysta, ties) and deadlines that make EDF differ from FCFS; with
    ``noisy_estimates``, each layer's estimate is off its duration by up to 3."""
    rng = random.Random(seed)
    jobs, release = [], 0
    for _ in range(rng.randint(min_jobs, 12)):
        release += rng.choice([0, 0, 1, 3, 10, 40])
        layers = [rng.randint(1, 9) for _ in range(rng.randint(1, max_layers))]
        jobs.append((release, release + rng.randint(5, max_slack), *layers))
    predicted = None
    if noisy_estimates:
        predicted = [[max(1, d + rng.randint(-3, 3)) for d in job[2:]] for job in jobs]
    return chains(*jobs, settings=settings, accelerators=accelerators, predicted=predicted)


def replay_stepped(instance: Instance, policy: Policy) -> Schedule:
    """The schedule of calling ``decide`` at every decision point: what ``replay`` gives, but
    without an index rule (rtmm_opt/engine/index.py) or running ahead (``Policy.hold``)."""
    engine = Engine(instance, policy_name=policy.name)
    policy.reset(engine.static)
    view = engine.reset()
    while view is not None:
        view = engine.step(policy.decide(view))
    return engine.schedule()


def assert_same_schedule(a: Schedule, b: Schedule) -> None:
    """Every array, counter and the producer equal."""
    for name in ("op_accelerator", "op_start", "op_end", "job_status", "job_variant",
                 "job_drop_time"):  # fmt: skip
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.info == b.info and a.producer == b.producer

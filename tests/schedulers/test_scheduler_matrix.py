"""Every registered scheduler on every bundled scenario, preset kind and granularity.

``replay`` validates each schedule, so a run that returns is a valid schedule. The full matrix
covers all XRBench scenarios and the Poisson example, single/dual/quad presets, and
model/block:4/layer granularity, over 200 ms traces (about 10 s in all).
"""

from functools import cache

import pytest
from support import ROOT

from rtmm_opt.engine import replay
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.schedulers import make_scheduler, scheduler_names

XRBENCH = sorted((ROOT / "instances" / "xrbench").glob("*.yaml"))
POISSON = ROOT / "instances" / "examples" / "dysta_poisson.yaml"
AR = ROOT / "instances" / "examples" / "ar_headset.yaml"
PRESETS = ("xrb4k-A", "xrb4k-J", "xrb4k-M")  # single WS, dual WS+OS, quad WS+OS+WS+OS
GRANULARITIES = ("model", "block:4", "layer")
SCHEDULERS = scheduler_names()


@cache
def instance(path, preset, granularity, duration_ms, seed=0):
    return load_workload(
        path, system=preset, cost="table:xrbench" if "xrbench" in str(path) else "analytical",
        duration_ns=duration_ms * 1_000_000, granularity=granularity, seed=seed,
    )  # fmt: skip


def test_all_spec_schedulers_are_registered():
    expected = {"fcfs", "rr", "edf", "llf", "sjf", "prema", "planaria", "herald", "xrbench",
                "sdrm3", "dream", "dysta", "dysta_naive", "dysta_oracle"}  # fmt: skip
    assert expected <= set(SCHEDULERS)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_every_scheduler_on_vr_gaming(scheduler, granularity):
    inst = instance(ROOT / "instances" / "xrbench" / "VR_gaming.yaml", "xrb4k-J", granularity, 100)
    schedule = replay(inst, make_scheduler(scheduler))  # validated
    metrics = compute_metrics(inst, schedule)
    # an independent recount of two metrics from the raw schedule
    executed = schedule.executed
    energy_nj = int(inst.op_energy[executed, schedule.op_accelerator[executed]].sum())
    assert metrics.energy_mJ == energy_nj / 1e6
    finish = {job: -1 for job in range(inst.n_jobs)}
    for op in executed.tolist():
        job = int(inst.op_job[op])
        finish[job] = max(finish[job], int(schedule.op_end[op]))
    late = sum(
        1 for job in range(inst.n_jobs)
        if schedule.job_status[job] == 1 and finish[job] > inst.job_deadline[job]
    )  # fmt: skip
    assert metrics.late == late


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_every_scheduler_on_dynamic_and_poisson_workloads(scheduler):
    for path in (AR, POISSON):
        inst = instance(path, "xrb4k-M", "block:4", 300, seed=1)
        first = replay(inst, make_scheduler(scheduler))
        again = replay(inst, make_scheduler(scheduler))
        assert first.to_dict() == again.to_dict()  # deterministic


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_full_matrix(scheduler, preset, granularity):
    for path in [*XRBENCH, POISSON]:
        inst = instance(path, preset, granularity, 200)
        replay(inst, make_scheduler(scheduler))

"""``sla_rate`` per tenant and ``utilisation`` per accelerator and overall, on a hand-made
two-accelerator schedule whose figures are worked out by hand below (docs/metrics.md)."""

import json

import numpy as np
import pytest

from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import Instance, TaskInfo
from rtmm_opt.metrics import accelerator_busy, compute_metrics
from rtmm_opt.schedule.schedule import JobStatus, Schedule
from rtmm_opt.schedule.validator import validate

C, D = JobStatus.COMPLETED, JobStatus.DROPPED


def toy():
    """Tenant "alice" sends tasks a1 and a2, tenant "bob" task b (default tenant: its name
    would be "b", here given explicitly). Two accelerators, x and y; every op lasts 4 on x and
    6 on y. Jobs (release, deadline) and what ran:

    J0 a1 (0, 10):  op0 x 0..4, op1 x 4..8      C = 8  on time
    J1 a2 (2, 10):  op2 y 2..8, op3 y 8..14     C = 14 late
    J2 b  (5, 20):  op4 x 8..12, op5 x 12..16   C = 16 on time
    J3 b  (10, 14): op6 y 14..20, then dropped at 20 (op7 never ran)

    Window: first release 0 to last op end 20 → 20. Busy: x 4+4+4+4 = 16, y 6+6+6 = 18.
    utilisation x = 16/20 = 0.8, y = 18/20 = 0.9, overall (16 + 18) / (2 · 20) = 0.85.
    sla_rate: alice 1 on time of 2 = 0.5; bob 1 of 2 = 0.5; overall 2 of 4 = 0.5.
    """
    op = OpSpec([4, 6])
    chain = [op, OpSpec([4, 6], preds=[0])]
    tasks = [TaskInfo("a1", "m", tenant="alice"), TaskInfo("a2", "m", tenant="alice"),
             TaskInfo("b", "m", tenant="bob")]  # fmt: skip
    jobs = [
        JobSpec(0, 0, 10, chain),
        JobSpec(1, 2, 10, chain),
        JobSpec(2, 5, 20, chain),
        JobSpec(2, 10, 14, chain, frame=1),
    ]
    instance = assemble("toy", accelerators=("x", "y"), tasks=tasks, jobs=jobs)
    runs = {0: (0, 0, 4), 1: (0, 4, 8), 2: (1, 2, 8), 3: (1, 8, 14), 4: (0, 8, 12),
            5: (0, 12, 16), 6: (1, 14, 20)}  # fmt: skip
    accelerator = np.full(instance.n_ops, -1, np.int64)
    start, end = accelerator.copy(), accelerator.copy()
    for index, (acc, begin, finish) in runs.items():
        accelerator[index], start[index], end[index] = acc, begin, finish
    schedule = Schedule(
        op_accelerator=accelerator,
        op_start=start,
        op_end=end,
        job_status=np.array([C, C, C, D]),
        job_variant=np.zeros(4, np.int64),
        job_drop_time=np.array([0, 0, 0, 20]),
    )
    return instance, schedule


def test_toy_schedule_is_valid():
    assert validate(*toy()).ok


def test_utilisation_by_hand():
    instance, schedule = toy()
    assert accelerator_busy(instance, schedule) == ([16, 18], 20)
    metrics = compute_metrics(instance, schedule)
    assert metrics.utilisation_per_accelerator == {"x": 0.8, "y": 0.9}
    assert metrics.utilisation == pytest.approx(0.85)


def test_sla_rate_per_tenant_by_hand():
    metrics = compute_metrics(*toy())
    assert metrics.sla_rate == 0.5
    assert list(metrics.per_tenant) == ["alice", "bob"]
    alice, bob = metrics.per_tenant["alice"], metrics.per_tenant["bob"]
    assert (alice.jobs, alice.completed, alice.late, alice.sla_rate) == (2, 2, 1, 0.5)
    assert (bob.jobs, bob.dropped, bob.late, bob.sla_rate) == (2, 1, 0, 0.5)
    # per_task is unchanged by tenants
    assert metrics.per_task["a1"].sla_rate == 1.0 and metrics.per_task["a2"].sla_rate == 0.0


def test_without_tenants_each_task_is_its_own_tenant():
    instance, schedule = toy()
    plain = Instance.from_dict(
        {
            **instance.to_dict(),
            "tasks": [{**t, "tenant": t["name"]} for t in instance.to_dict()["tasks"]],
        }
    )
    metrics = compute_metrics(plain, schedule)
    assert list(metrics.per_tenant) == ["a1", "a2", "b"]
    assert metrics.per_tenant["b"] == metrics.per_task["b"]


def test_idle_schedule_has_zero_utilisation():
    instance, _ = toy()
    nothing = Schedule.empty(instance)
    assert compute_metrics(instance, nothing).utilisation == 0.0


def test_to_dict_carries_the_new_figures_as_json():
    data = json.loads(json.dumps(compute_metrics(*toy()).to_dict()))
    assert data["utilisation"] == pytest.approx(0.85)
    assert data["utilisation_per_accelerator"] == {"x": 0.8, "y": 0.9}
    assert data["per_tenant"]["alice"]["sla_rate"] == 0.5


def test_tenant_is_written_only_when_it_differs_from_the_task_name():
    instance, _ = toy()
    tasks = instance.to_dict()["tasks"]
    assert [t.get("tenant") for t in tasks] == ["alice", "alice", "bob"]
    same = TaskInfo("t", "m", tenant="t")
    assert same.tenant == "t" and TaskInfo("t", "m").tenant == "t"
    back = Instance.from_dict(json.loads(instance.to_json()))
    assert [t.tenant for t in back.tasks] == ["alice", "alice", "bob"]
    assert back.content_hash == instance.content_hash


def test_results_file_without_utilisation_gains_the_column(tmp_path):
    """A study results file written before ``utilisation`` existed opens, keeps its rows and
    reads the new column as missing; a file lacking a NOT NULL column is still refused."""
    import sqlite3

    from rtmm_opt.errors import InputError
    from rtmm_opt.studies.store import COLUMNS, ResultStore

    old = [(name, kind) for name, kind in COLUMNS if name != "utilisation"]
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE runs ({', '.join(f'{n} {k}' for n, k in old)})")
        connection.execute(
            "INSERT INTO runs (key, study, params, seed, status, sla_rate) "
            "VALUES ('k', 's', '{}', 0, 'done', 0.75)"
        )
    connection.close()
    with ResultStore(path) as store:
        rows = store.connection.execute("SELECT key, sla_rate, utilisation FROM runs").fetchall()
    assert rows == [("k", 0.75, None)]
    broken = tmp_path / "broken.sqlite"
    with sqlite3.connect(broken) as connection:
        connection.execute("CREATE TABLE runs (key TEXT PRIMARY KEY)")
    connection.close()
    with pytest.raises(InputError, match="lacks the columns study"):
        ResultStore(broken)

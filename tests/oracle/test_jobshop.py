"""Job-shop benchmark files: the readers, and the oracle against published optima.

ft06 = 55 (Fisher & Thompson 1963), la01 = 666 (Lawrence 1984), ft10 = 930 (proven by Carlier
& Pinson 1989), ta01 = 1231 (Taillard 1993, optimum later proven) and Brandimarte's Mk01 = 40 are
the optimal makespans of these instances, as the benchmark literature reports them (e.g. the
JSPLIB ``instances.json`` and the FJSP surveys). The files and their origins are listed in
``tests/data/jobshop/README.md``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import TEST_DATA

from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError
from rtmm_opt.oracle import evaluate, parse_objective, solve
from rtmm_opt.oracle.jobshop import parse_jobshop, read_jobshop
from rtmm_opt.schedule.validator import validate
from rtmm_opt.schedulers import make_scheduler, scheduler_names

DATA = TEST_DATA / "jobshop"
MAKESPAN = parse_objective("makespan")


def _solve(name, format="jsplib", time_limit=60.0, workers=2):
    instance = read_jobshop(DATA / name, format)
    result = solve(instance, "makespan", time_limit=time_limit, workers=workers)
    assert result.schedule is not None
    assert validate(instance, result.schedule).ok
    return instance, result


# -- published optima ----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "optimum"), [("ft06", 55), ("la01", 666)])
def test_small_classics_are_proven_optimal(name, optimum):
    _, result = _solve(name)
    assert result.status == "optimal"
    assert result.objective == optimum
    assert result.bound == optimum


def test_brandimarte_mk01_is_proven_optimal():
    _, result = _solve("mk01.fjs", "fjs")
    assert (result.status, result.objective, result.bound) == ("optimal", 40, 40)


@pytest.mark.slow
def test_ft10_is_proven_optimal():
    # Measured with 2 workers: 34-52 s over seeds 0-2 (16 s with 8 workers).
    _, result = _solve("ft10", time_limit=300)
    assert (result.status, result.objective, result.bound) == ("optimal", 930, 930)


@pytest.mark.slow
def test_ta01_is_proven_optimal():
    # Measured with 2 workers: 16-31 s.
    _, result = _solve("ta01.txt", "taillard", time_limit=300)
    assert (result.status, result.objective, result.bound) == ("optimal", 1231, 1231)


def test_every_heuristic_is_no_better_than_the_optimum_on_ft06():
    instance = read_jobshop(DATA / "ft06")
    for name in scheduler_names():
        if name == "xrbench":
            continue  # runs whole jobs on one accelerator; no ft06 job fits on one machine
        schedule = replay(instance, make_scheduler(name))
        assert evaluate(instance, schedule, MAKESPAN) >= 55, name


def test_hand_made_flexible_instance():
    # Two machines. Job 1: op 1 on m1 (2) or m2 (4), then op 2 on m1 only (3). Job 2: one op on
    # m1 (3) or m2 (3). Job 3: one op on m1 (2) or m2 (3).
    # Makespan 5 would need both machines loaded <= 5 out of at least 10 units of work: m1
    # holds job 1's op 2 (3) plus at most 2 more, i.e. job 1's op 1 or job 3 (2 each). Then m2
    # holds job 2 + job 3 = 6, or job 1's op 1 (4) + job 2 = 7. So 5 is impossible, and
    # m1: J1.1 [0,2] J1.2 [2,5], m2: J2 [0,3] J3 [3,6] reaches 6.
    text = "3 2 1.33\n2 2 1 2 2 4 1 1 3\n1 2 1 3 2 3\n1 2 1 2 2 3\n"
    instance = parse_jobshop(text, "fjs", name="hand")
    result = solve(instance, "makespan", time_limit=10, workers=1)
    assert (result.status, result.objective, result.bound) == ("optimal", 6, 6)


# -- what the readers build ----------------------------------------------------------------------
def test_ft06_instance_shape():
    instance = read_jobshop(DATA / "ft06")
    assert (instance.n_jobs, instance.n_ops, instance.n_accelerators) == (6, 36, 6)
    assert instance.accelerators[0] == "m0"
    # Job 0 is "2 1 0 3 1 6 3 7 5 3 4 6": step 0 runs 1 unit on machine 2 only.
    assert instance.op_duration[0].tolist() == [-1, -1, 1, -1, -1, -1]
    assert instance.op_duration[5].tolist() == [-1, -1, -1, -1, 6, -1]
    assert instance.preds_of(5).tolist() == [4] and instance.preds_of(6).tolist() == []
    total = 1 + 3 + 6 + 7 + 3 + 6 + 8 + 5 + 10 + 10 + 10 + 4 + 5 + 4 + 8 + 9 + 1 + 7
    total += 5 + 5 + 5 + 3 + 8 + 9 + 9 + 3 + 5 + 4 + 3 + 1 + 3 + 3 + 9 + 10 + 4 + 1
    assert set(instance.job_deadline.tolist()) == {total + 1}
    assert set(instance.job_release.tolist()) == {0}
    assert instance.settings.drops == "never"
    assert int(instance.op_energy[instance.op_duration >= 0].sum()) == 0
    assert instance.metadata["jobshop"]["format"] == "jsplib"


def test_taillard_sample_sizes_and_one_based_machines():
    instance = read_jobshop(DATA / "ta01.txt", "taillard")
    assert (instance.n_jobs, instance.n_ops, instance.n_accelerators) == (15, 225, 15)
    assert instance.accelerators[0] == "m1"
    # Job 1: times 94 66 ..., machines 7 13 ...: step 0 runs 94 units on m7 (index 6).
    assert int(instance.op_duration[0, 6]) == 94 and int((instance.op_duration[0] >= 0).sum()) == 1
    assert int(instance.op_duration[1, 12]) == 66
    note = instance.metadata["jobshop"]
    assert (note["time_seed"], note["machine_seed"]) == (840612802, 398197754)
    # Each job visits every machine once (Taillard's instances are classic job shops).
    for job in range(instance.n_jobs):
        used = (instance.op_duration[list(instance.ops_of(job))] >= 0).sum(axis=0)
        assert used.tolist() == [1] * 15


def test_fjs_sample_sizes_and_alternatives():
    instance = read_jobshop(DATA / "mk01.fjs", "fjs")
    assert (instance.n_jobs, instance.n_ops, instance.n_accelerators) == (10, 55, 6)
    assert np.diff(instance.job_op_offsets).tolist() == [6, 5, 5, 5, 6, 6, 5, 5, 6, 6]
    # Job 1 op 1 is "2 1 5 3 4": m1 for 5 or m3 for 4.
    assert instance.op_duration[0].tolist() == [5, -1, 4, -1, -1, -1]
    assert instance.metadata["jobshop"]["flexible"] is True


def test_taillard_file_with_two_instances_and_index(tmp_path):
    block = (
        "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound\n"
        "  1  2  0  0  {ub}  0\nTimes\n 3 {t}\nMachines\n 2 1\n"
    )
    path = tmp_path / "two.txt"
    path.write_text(block.format(ub=8, t=5) + block.format(ub=9, t=6))
    first = read_jobshop(path, "taillard")
    second = read_jobshop(path, "taillard", index=1)
    assert first.op_duration.tolist() == [[-1, 3], [5, -1]]
    assert second.op_duration.tolist() == [[-1, 3], [6, -1]]
    assert second.name == "two[1]" and second.metadata["jobshop"]["header_upper_bound"] == 9
    with pytest.raises(InputError, match="holds 2 instance"):
        read_jobshop(path, "taillard", index=2)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda machines: st.lists(
            st.permutations(range(machines)).flatmap(
                lambda order: st.lists(
                    st.integers(1, 99), min_size=len(order), max_size=len(order)
                ).map(lambda times: list(zip(order, times, strict=True)))
            ),
            min_size=1,
            max_size=4,
        )
    )
)
def test_the_three_formats_agree(routes):
    machines = len(routes[0])
    jsplib = f"# generated\n{len(routes)} {machines}\n" + "".join(
        " ".join(f"{m} {t}" for m, t in route) + "\n" for route in routes
    )
    taillard = (
        "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound\n"
        f"{len(routes)} {machines} 1 2 3 4\nTimes\n"
        + "".join(" ".join(str(t) for _, t in route) + "\n" for route in routes)
        + "Machines\n"
        + "".join(" ".join(str(m + 1) for m, _ in route) + "\n" for route in routes)
    )
    fjs = f"{len(routes)} {machines} 1\n" + "".join(
        f"{len(route)} " + " ".join(f"1 {m + 1} {t}" for m, t in route) + "\n" for route in routes
    )
    parsed = [parse_jobshop(text, fmt) for text, fmt in
              ((jsplib, "jsplib"), (taillard, "taillard"), (fjs, "fjs"))]  # fmt: skip
    expected = np.full((sum(len(r) for r in routes), machines), -1)
    for row, (machine, time) in enumerate(step for route in routes for step in route):
        expected[row, machine] = time
    for instance in parsed:
        assert instance.op_duration.tolist() == expected.tolist()
        assert instance.op_preds.tolist() == parsed[0].op_preds.tolist()
        assert set(instance.job_deadline.tolist()) == {int(expected.max(axis=1).sum()) + 1}


# -- malformed files -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("format", "text", "line", "reason"),
    [
        ("jsplib", "", 1, "ends where 'jobs machines'"),
        ("jsplib", "# only a comment\n2 2\n0 1 1 2\n", 3, "ends where job 2"),
        ("jsplib", "2 2 5\n", 1, "expected 'jobs machines', got 3 numbers"),
        ("jsplib", "1 2\n0 1 1 x\n", 2, "'x' is not an integer"),
        ("jsplib", "1 2\n0 1 1 2 3\n", 2, "expected 2 'machine duration' pairs"),
        ("jsplib", "1 2\n0 1 2 2\n", 2, "machine 2 is out of range 0..1"),
        ("jsplib", "1 2\n0 0 1 2\n", 2, "duration 0 must be at least 1"),
        ("jsplib", "0 2\n", 1, "number of jobs must be at least 1"),
        ("jsplib", "1 1\n0 1\n\n0 1\n", 4, "unexpected content after the last job"),
        ("taillard", "15 15\n", 1, "expected the line 'Nb of jobs"),
        ("taillard", "Nb of jobs, ...\n1 2 0 0 0\n", 2, "expected six numbers"),
        ("taillard", "Nb of jobs\n1 2 0 0 0 0\nTime\n", 3, "expected 'Times', got 'Time'"),
        ("taillard", "Nb of jobs\n1 2 0 0 0 0\nTimes\n3\n", 4, "expected 2 numbers, got 1"),
        ("taillard", "Nb of jobs\n1 2 0 0 0 0\nTimes\n3 4\nMachines\n0 1\n", 6,
         "machine 0 is out of range 1..2"),
        ("taillard", "Nb of jobs\n1 2 0 0 0 0\nTimes\n3 4\nMachines\n", 5,
         "ends where the machines of job 1"),
        ("fjs", "1 2 1 7\n", 1, "expected 'jobs machines [average machines per op]'"),
        ("fjs", "1 2 x\n1 1 1 1\n", 1, "'x' is not a number"),
        ("fjs", "1 2\n1 2 1 3 1 4\n", 2, "machine 1 is listed twice"),
        ("fjs", "1 2\n2 1 1 3 1 2\n", 2, "the line ends where job 1 op 2's duration"),
        ("fjs", "1 2\n1 1 1 3 9\n", 2, "1 number(s) left after its 1 ops"),
        ("fjs", "1 2\n1 1 3 3\n", 2, "machine 3 is out of range 1..2"),
        ("fjs", "1 2\n1 0\n", 2, "machine count must be at least 1"),
        ("fjs", "2 2\n1 1 1 3\n", 2, "ends where job 2"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_line(tmp_path, format, text, line, reason):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_jobshop(path, format)
    assert info.value.file == str(path)
    assert info.value.field == f"line {line}"
    assert reason in info.value.reason


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="did you mean 'jsplib'"):
        read_jobshop(DATA / "ft06", "jsplb")
    with pytest.raises(InputError, match="cannot read the file"):
        read_jobshop(tmp_path / "absent", "jsplib")

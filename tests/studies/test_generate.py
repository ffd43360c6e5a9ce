"""``rtmm generate``: the search space, the certified score, resume, writing and re-verifying.

Independent truth: the hand-made instance of ``test_library_api.waiting_pays`` (an online
scheduler must miss job B, the clairvoyant oracle misses nothing), the scenario parser and the
instance builder (every sampled point must build within the size cap), and a second replay and
solve of every written instance.
"""

from __future__ import annotations

import json

import pytest

from rtmm_opt.cli.main import main
from rtmm_opt.engine import replay
from rtmm_opt.instance import Instance
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import TaskInfo
from rtmm_opt.oracle import evaluate, parse_objective
from rtmm_opt.scenario.scenario import load_scenario, scenario_from_dict
from rtmm_opt.schedulers import make_scheduler
from rtmm_opt.studies.generate import GenerateConfig, generate, measure, mutate, score_of
from rtmm_opt.studies.space import (
    RandomTrial,
    SearchSpace,
    build_point,
    isolated_latencies,
    point_system,
    sample,
    space_from_dict,
)

optuna = pytest.importorskip("optuna")


def waiting_pays(weight_b: int = 1):
    tasks = [TaskInfo("long", "m"), TaskInfo("short", "m")]
    jobs = [
        JobSpec(task=0, release=0, deadline=100, ops=[OpSpec([10])]),
        JobSpec(task=1, release=1, deadline=5, ops=[OpSpec([2])], weight=weight_b),
    ]
    return assemble("waiting-pays", accelerators=("npu",), tasks=tasks, jobs=jobs)


# -- the search space -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(25))
def test_every_sampled_point_builds_a_valid_instance_within_the_cap(seed):
    space = SearchSpace(max_jobs=30, max_ops=120)
    point = sample(RandomTrial(seed), space)
    built = build_point(point, space)
    scenario = scenario_from_dict(built.scenario)  # the written scenario parses
    assert len(scenario.tasks) == point["n_tasks"]
    assert built.instance.n_jobs <= 30 or built.build["duration_ns"] == 1_000_000
    assert built.instance.n_ops <= 120 or built.build["duration_ns"] == 1_000_000
    for i, task in enumerate(built.scenario["tasks"]):
        assert task["model"] in space.models
        assert task.get("fps", 0) <= space.max_fps
        assert ("depends_on" in task) == point[f"cascade_{i}"]
    # the same point builds the same instance
    assert build_point(point, space).instance.content_hash == built.instance.content_hash


def test_one_task_runs_at_the_utilisation_over_its_isolated_latency():
    point = {"system": "xrb4k-J", "pes": None, "dram_bandwidth_gbps": None, "contention": False,
             "cost": "analytical", "granularity": "model", "duration_ms": 50, "trace_seed": 0,
             "utilisation": 0.2, "n_tasks": 1, "model_0": "GE_FBNet_C", "cascade_0": False,
             "share_0": 0.3, "deadline_0": "period", "priority_0": 1, "dynamic_0": "none"}
    built = build_point(point, SearchSpace())
    instance = built.instance
    t_iso_ns = instance.isolated_latency(0) * instance.time_unit_ns  # measured independently
    assert isolated_latencies(point) == [pytest.approx(t_iso_ns)]
    accelerators = len(point_system(point).accelerators)
    expected = 0.2 * accelerators * 1e9 / t_iso_ns
    assert expected < SearchSpace().max_fps
    assert built.scenario["tasks"][0]["fps"] == pytest.approx(expected, abs=1e-3)


def test_the_space_file_overrides_defaults_and_refuses_bad_keys():
    space = space_from_dict({"tasks": [2, 2], "systems": ["xrb4k-A"], "max_jobs": 10})
    assert space.tasks == (2, 2) and space.systems == ("xrb4k-A",) and space.max_jobs == 10
    assert space.models == SearchSpace().models
    for seed in range(5):
        assert sample(RandomTrial(seed), space)["n_tasks"] == 2


@pytest.mark.parametrize(("text", "field", "words"), [
    ("utilisaton: [0.5, 1]\n", "utilisaton", "did you mean 'utilisation'"),
    ("utilisation: [2, 1]\n", "utilisation", "above high"),
    ("utilisation: 0.5\n", "utilisation", "range [low, high]"),
    ("models: [ES_RITNet, NoSuchNet]\n", "models[1]", "not a bundled model"),
    ("systems: [xrb4k-Z]\n", "systems[0]", ""),
    ("granularities: [layers]\n", "granularities[0]", "expected one of"),
    ("max_jobs: -3\n", "max_jobs", ">= 1"),
    ("tasks: [1, 2.5]\n", "tasks[1]", "integer"),
])
def test_a_bad_space_file_is_exit_2_naming_file_and_key(tmp_path, capsys, text, field, words):
    bad = tmp_path / "space.yaml"
    bad.write_text(text)
    status = main(["generate", "--target", "edf", "--space", str(bad), "--trials", "1",
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert f"{bad}: {field}:" in err and words in err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_bad_flags_are_exit_2(tmp_path, capsys):
    assert main(["generate", "--target", "nosuch", "--out", str(tmp_path)]) == 2
    assert "--target" in capsys.readouterr().err
    assert main(["generate", "--target", "edf", "--against", "edf", "--out", str(tmp_path)]) == 2
    assert main(["generate", "--target", "edf", "--budget", "soon", "--out", str(tmp_path)]) == 2
    assert main(["generate", "--target", "edf"]) == 2
    assert main(["generate", "--verify", str(tmp_path / "missing")]) == 2


# -- the score and the certified interval -----------------------------------------------------


@pytest.mark.parametrize("weight_b", [1, 3])
def test_the_certified_gap_on_the_hand_made_instance(weight_b):
    instance = waiting_pays(weight_b)
    record = measure(instance, "edf", ["fcfs"], parse_objective("misses"), 5.0, 0)
    # EDF runs A at 0 (B is not released yet) and B misses; the oracle waits for B: no miss
    assert record["target_value"] == weight_b
    assert record["oracle"]["status"] == "optimal"
    assert record["oracle"]["objective"] == 0 and record["oracle"]["bound"] == 0
    assert record["certified_gap"] == weight_b
    assert record["gap_interval"] == [weight_b, weight_b]
    assert record["best_other"] == {"name": "fcfs", "value": weight_b}
    assert record["gap_to_best_other"] == 0  # being online costs this much, not EDF's weakness
    assert record["ratio"] is None  # UB = 0
    # the score (H − UB) / (UB + u), u the mean job weight (1 + weight_b) / 2: with UB = 0,
    # the certified gap counted in average jobs
    assert record["unit"] == pytest.approx((1 + weight_b) / 2)
    assert score_of(record, "oracle") == pytest.approx(2 * weight_b / (1 + weight_b))
    assert score_of(record, "fcfs") == 0
    # the share of the job weight missed needlessly is recorded beside it
    assert record["share"] == pytest.approx(weight_b / (1 + weight_b))


def test_the_interval_keeps_the_bound_when_the_oracle_is_cut_short():
    record = {"target_value": 10.0, "oracle": {"objective": 6.0}, "others": {"x": 8.0},
              "scale": 20.0, "unit": 2.0}
    assert score_of(record, "oracle") == pytest.approx(4 / (6 + 2))
    assert score_of(record, "x") == pytest.approx(2 / (8 + 2))
    # not bounded by 1: an optimum without misses scores the certified gap in average jobs
    assert score_of({**record, "oracle": {"objective": 0.0}}, "oracle") == pytest.approx(5.0)
    assert score_of({**record, "oracle": {"objective": None}}, "oracle") == 0.0


def test_the_default_space_stays_out_of_deep_overload():
    assert SearchSpace().utilisation == (0.4, 1.2)
    for seed in range(10):
        assert sample(RandomTrial(seed), SearchSpace())["utilisation"] <= 1.2


# -- the search: resume, determinism, random mode, writing and verifying ----------------------

SMALL = SearchSpace(tasks=(2, 3), max_jobs=24, max_ops=80, duration_ms=(20, 80),
                    granularities=("model", "block:2"))


def _config(tmp_path, **changes):
    base = dict(target="edf", out=tmp_path, space=SMALL, trials=6, count=1, seed=3,
                others=("fcfs", "llf", "dream"), screen_time=0.5, certify_time=1.0)
    return GenerateConfig(**{**base, **changes})


def _trials(out):
    storage = f"sqlite:///{out / 'search.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    return study, study.get_trials(deepcopy=False)


def test_the_search_is_reproducible_with_its_seed(tmp_path):
    first = generate(_config(tmp_path / "a"))
    second = generate(_config(tmp_path / "b"))
    assert first.evaluations == second.evaluations == 6
    assert first.history == second.history
    _, a = _trials(tmp_path / "a")
    _, b = _trials(tmp_path / "b")
    assert [t.params for t in a] == [t.params for t in b]


def test_a_mutation_changes_one_or_two_parameters_within_their_ranges():
    import numpy as np
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    distributions = {"a": FloatDistribution(0.0, 1.0), "b": IntDistribution(0, 3),
                     "c": CategoricalDistribution(["x", "y", "z"]),
                     "fixed": CategoricalDistribution([None]),
                     "one": IntDistribution(2, 2)}  # fmt: skip
    params = {"a": 0.99, "b": 3, "c": "y", "fixed": None, "one": 2}
    changed_counts = set()
    for seed in range(40):
        child = mutate(params, distributions, np.random.default_rng(seed))
        changed = {k for k in params if child[k] != params[k]}
        assert 1 <= len(changed) <= 2 and not changed & {"fixed", "one"}
        assert 0.0 <= child["a"] <= 1.0 and child["b"] in range(4) and child["c"] in "xyz"
        changed_counts.add(len(changed))
    assert changed_counts == {1, 2}


def test_the_search_refines_its_best_points_and_random_mode_does_not(tmp_path):
    generate(_config(tmp_path / "tpe", trials=10, count=0, startup_trials=4, refine=1.0))
    _, trials = _trials(tmp_path / "tpe")
    parents = [t.user_attrs.get("refined_from") for t in trials]
    assert parents[:4] == [None] * 4  # the start-up points are TPE's (random)
    assert all(p is not None for p in parents[4:])
    for trial in trials[4:]:  # a child of one of the best points evaluated before it
        earlier = sorted((t for t in trials[: trial.number] if t.value is not None),
                         key=lambda t: (-t.value, t.number))[:3]  # fmt: skip
        assert trial.user_attrs["refined_from"] in {t.number for t in earlier}
        parent = trials[trial.user_attrs["refined_from"]].params
        assert trial.params != parent
    generate(_config(tmp_path / "none", trials=8, count=0, startup_trials=4, refine=0.0))
    generate(_config(tmp_path / "rnd", mode="random", trials=8, count=0, refine=1.0))
    for name in ("none", "rnd"):
        _, trials = _trials(tmp_path / name)
        assert all("refined_from" not in t.user_attrs for t in trials)


def test_a_killed_search_resumes_where_it_stopped(tmp_path):
    generate(_config(tmp_path, trials=4, count=0))
    study, trials = _trials(tmp_path)
    assert len(trials) == 4
    # a run killed mid-evaluation leaves a RUNNING trial behind
    running = study.ask()
    point = sample(running, SMALL)
    result = generate(_config(tmp_path, trials=6, count=0))
    assert result.evaluations == 6
    _, trials = _trials(tmp_path)
    states = [t.state.name for t in trials]
    assert states.count("RUNNING") == 0
    # the interrupted point was evaluated again, not lost
    redone = [t for t in trials if t.number > running.number and t.state.name == "COMPLETE"]
    assert any(t.user_attrs["point"] == point for t in redone)
    assert len([t for t in trials if t.state.name == "COMPLETE"]) == 6


def test_random_mode_is_the_seeded_baseline(tmp_path):
    a = generate(_config(tmp_path / "a", mode="random", count=0))
    b = generate(_config(tmp_path / "b", mode="random", count=0))
    generate(_config(tmp_path / "c", mode="random", seed=4, count=0))
    assert a.history == b.history and a.evaluations == 6
    _, ta = _trials(tmp_path / "a")
    _, tc = _trials(tmp_path / "c")
    assert [t.params for t in ta] != [t.params for t in tc]


def test_written_instances_carry_metadata_that_reverifies(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["generate", "--target", "edf", "--trials", "12", "--count", "2", "--seed",
                   "1", "--others", "fcfs,llf,dream", "--screen-time", "0.5",
                   "--certify-time", "2", "--out", str(out), "--json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    metas = sorted(out.glob("*.meta.json"))
    assert len(metas) == len(report["written"]) >= 1
    for path in metas:
        meta = json.loads(path.read_text())
        assert (out / meta["scenario"]).exists()
        assert len(load_scenario(out / meta["scenario"]).tasks) == meta["point"]["n_tasks"]
        instance = Instance.load(out / meta["instance"])
        assert instance.content_hash == meta["instance_hash"]
        # the target's value, recomputed here from a fresh replay
        schedule = replay(instance, make_scheduler("edf"))
        h = evaluate(instance, schedule, parse_objective("misses"))
        assert meta["target_value"] == h
        ub, lb = meta["oracle"]["objective"], meta["oracle"]["bound"]
        assert lb <= ub <= h and meta["certified_gap"] == h - ub > 0
        assert meta["gap_interval"] == [h - ub, h - lb]
        assert set(meta["others"]) == {"fcfs", "llf", "dream"}
        assert meta["search"]["seed"] == 1 and meta["versions"]["ortools"]
    assert main(["generate", "--verify", str(out), "--markdown", str(tmp_path / "t.md")]) == 0
    table = (tmp_path / "t.md").read_text()
    assert table.count("| `edf-") == len(metas)
    # a tampered record is caught
    meta = json.loads(metas[0].read_text())
    meta["target_value"] += 1
    metas[0].write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(["generate", "--verify", str(out)]) == 1
    assert "target_value: recorded" in capsys.readouterr().err


@pytest.mark.slow
def test_the_issue_command_writes_three_reverified_instances(tmp_path):
    out = tmp_path / "out"
    assert main(["generate", "--target", "edf", "--budget", "2m", "--count", "3",
                 "--out", str(out)]) == 0
    assert len(list(out.glob("*.meta.json"))) == 3
    assert main(["generate", "--verify", str(out)]) == 0

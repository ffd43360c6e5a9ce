"""dysta, dysta_naive and dysta_oracle: hand-computed keys, the authors' simulator, examples.

The hand-made instances use ``time_unit_ns = 10**9``, so one time unit is one second and the
default ``time_scale`` is 1: every number in the comments is in seconds, as in
``shared/dysta/README.md`` §4.6. Every schedule goes through the validator (``replay``).
"""

import csv
import gzip
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pytest
from support import DYSTA, ROOT, needs_dysta

from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance import TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.schedule import JobStatus
from rtmm_opt.schedulers import make_scheduler
from rtmm_opt.schedulers.dysta import Dysta, DystaOracle

SECOND = 10**9  # time_unit_ns for the hand-made instances: 1 unit = 1 s

NAMES = ("dysta", "dysta_naive", "dysta_oracle")


def layers(*specs):
    """A chain of ops; each spec is (predicted, realised, sparsity_mean, sparsity)."""
    return [
        OpSpec([real], predicted=[pred], preds=[i - 1] if i else [], sparsity_mean=mean, sparsity=s)
        for i, (pred, real, mean, s) in enumerate(specs)
    ]


def make(jobs, accelerators=("acc",), time_unit_ns=SECOND):
    return assemble(
        "dysta-test",
        accelerators=accelerators,
        tasks=[TaskInfo("t", "m")],
        jobs=jobs,
        time_unit_ns=time_unit_ns,
    )


@dataclass
class Recording(Dysta):
    """dysta that logs, per decision: time, {job: key}, {job: γ}, and the picked jobs."""

    log: list = field(default_factory=list, init=False, repr=False)

    def job_keys(self, view):
        keys = super().job_keys(view)
        by_job = {job: key for key, job in keys}
        self.log.append((view.now, by_job, {job: self.gamma(job) for job in by_job}, []))
        return keys

    def decide(self, view):
        decision = super().decide(view)
        for op, _ in decision.dispatches if decision else []:
            self.log[-1][3].append(int(self.static.op_job[op]))
        return decision


def test_gamma_and_keys_hand_computed():
    # job0: release 0, deadline 20, four layers predicted 2 s each (T_est = 8), realised 1 s.
    #   density ratios (1 - s)/(1 - avgSp): l0 (1-0)/(1-0) = 1; l1 NaN sparsity -> no term;
    #   l2 (1-0.75)/(1-0.5) = 0.5; l3 (1-0.2)/(1-0.6) = 2 (after its last layer: never used).
    # job1: release 1, deadline 10, two layers predicted = realised = 3 s (T_est = 6), ratio 1.
    inst = make(
        [
            JobSpec(
                0,
                0,
                20,
                layers(
                    (2, 1, 0.0, 0.0),
                    (2, 1, math.nan, math.nan),
                    (2, 1, 0.5, 0.75),
                    (2, 1, 0.6, 0.2),
                ),
            ),
            JobSpec(0, 1, 10, layers((3, 3, 0.5, 0.5), (3, 3, 0.5, 0.5))),
        ]
    )
    policy = Recording()
    schedule = replay(inst, policy)
    expected = [
        # t=0, N=1: job0 γ=1, r = 8, urgency = 20-0-8 = 12, penalty 0 -> 8 + 0.01*12 = 8.12
        (0, {0: 8.12}, {0: 1.0}, [0]),
        # t=1 (l0 done: γ0 = 1/1), N=2:
        #   job0 r = 6, urgency = 19-6 = 13, penalty ((1-1)/8)/2 = 0 -> 6.13
        #   job1 r = 6, urgency = 9-6 = 3, penalty ((1-1)/6)/2 = 0 -> 6.03: less slack wins
        (1, {0: 6.13, 1: 6.03}, {0: 1.0, 1: 1.0}, [1]),
        # t=4, N=2: job0 r = 6, urgency = 16-6 = 10, penalty ((4-1)/8)/2 = 0.1875 -> 6.101875
        #           job1 (γ1 = 1) r = 3, urgency = 6-3 = 3, penalty 0 -> 3.03
        (4, {0: 6.101875, 1: 3.03}, {0: 1.0, 1: 1.0}, [1]),
        # t=7, N=1: job0 r = 6, urgency = 13-6 = 7, penalty ((7-1)/8)/1 = 0.75 -> 6.0775
        (7, {0: 6.0775}, {0: 1.0}, [0]),
        # t=8 (l1 done, NaN: γ0 stays 1/1): r = 4, urgency = 12-4 = 8, penalty 0 -> 4.08
        (8, {0: 4.08}, {0: 1.0}, [0]),
        # t=9 (l2 done: γ0 = (1 + 0.5)/2 = 0.75): r = 0.75*2 = 1.5, urgency = 11-1.5 = 9.5,
        #   penalty 0 -> 1.5 + 0.095 = 1.595
        (9, {0: 1.595}, {0: 0.75}, [0]),
    ]
    assert [entry[0] for entry in policy.log] == [e[0] for e in expected]
    for (_, keys, gammas, picked), (t, want_keys, want_gammas, want_picked) in zip(
        policy.log, expected, strict=True
    ):
        assert keys == pytest.approx(want_keys, rel=1e-12, abs=0), f"t={t}"
        assert gammas == want_gammas, f"t={t}"
        assert picked == want_picked, f"t={t}"
    # job0 runs [0,1), waits for job1 [1,4) [4,7), then [7,8) [8,9) [9,10)
    assert schedule.op_start.tolist() == [0, 7, 8, 9, 1, 4]


def gamma_case():
    # job0: release 0, deadline 100, three layers predicted 4 s, realised 1 s: its activations
    #   are much sparser than average (s = 0.9 vs avgSp = 0.5, ratio 0.1/0.5 = 0.2 per layer).
    # job1: release 1, deadline 100, one layer predicted = realised = 5 s, no sparsity data.
    return make(
        [
            JobSpec(0, 0, 100, layers(*[(4, 1, 0.5, 0.9)] * 3)),
            JobSpec(0, 1, 100, layers((5, 5, math.nan, math.nan))),
        ]
    )


def test_gamma_changes_the_pick_and_helps():
    # t=0: only job0, which starts [0,1). At t=1, N=2, job0 has 8 s of predicted work left:
    #   dysta (γ0 = 0.2): job0 r = 1.6, key = 1.6 + 0.01*(99-1.6) = 2.574
    #                     job1 r = 5,   key = 5 + 0.01*(99-5) = 5.94 -> job0 continues
    #   dysta_naive (γ=1): job0 r = 8,  key = 8 + 0.01*(99-8) = 8.91 -> job1 preempts
    inst = gamma_case()
    with_gamma = replay(inst, make_scheduler("dysta"))
    naive = replay(inst, make_scheduler("dysta_naive"))
    off = replay(inst, make_scheduler("dysta", {"use_gamma": False}))
    # dysta: job0 [0,1) [1,2) [2,3), job1 [3,8); naive: job1 [1,6), job0 [6,7) [7,8)
    assert with_gamma.op_start.tolist() == [0, 1, 2, 3]
    assert naive.op_start.tolist() == [0, 6, 7, 1]
    assert off.op_start.tolist() == naive.op_start.tolist()
    # ANTT with T_iso = 3 s and 5 s: dysta (3/3 + 7/5)/2 = 1.2; naive (8/3 + 5/5)/2 = 1.8333
    assert compute_metrics(inst, with_gamma).antt == pytest.approx(1.2)
    assert compute_metrics(inst, naive).antt == pytest.approx(11 / 6)


def test_oracle_uses_realised_durations():
    # Both released at 0, deadline 100, N = 2, no penalty yet:
    #   job0 predicted 6 s, realised 2 s; job1 predicted = realised = 4 s.
    #   dysta: 6 + 0.01*94 = 6.94 vs 4 + 0.01*96 = 4.96 -> job1 first: job1 [0,4), job0 [4,6)
    #   oracle: 2 + 0.01*98 = 2.98 vs 4.96 -> job0 first: job0 [0,2), job1 [2,6)
    inst = make(
        [
            JobSpec(0, 0, 100, layers((6, 2, math.nan, math.nan))),
            JobSpec(0, 0, 100, layers((4, 4, math.nan, math.nan))),
        ]
    )
    assert replay(inst, make_scheduler("dysta")).op_start.tolist() == [4, 0]
    assert replay(inst, make_scheduler("dysta_oracle")).op_start.tolist() == [0, 2]
    assert DystaOracle.clairvoyant and not Dysta.clairvoyant


def test_oracle_penalty_uses_realised_total():
    # job0: release 0, deadline 100, one layer 6 s predicted and realised; it starts [0,6).
    # job1: release 1, deadline 100, layers predicted 2+2, realised 1+9 (T_real = 10, T_est = 4).
    # job2: release 1, deadline 100, one layer predicted 6, realised 10 (T_real = 10).
    # At t=6, N=2 (job0 done), both waited 5 s:
    #   oracle: job1 10 + 0.01*(84 + (5/10)/2) = 10.8425; job2 10 + 0.01*(84 + 0.25) = 10.8425
    #     -> a tie, first admitted (job1) wins.
    #   With T_est in place of T_real job1's penalty would be (5/4)/2 = 0.625 and job2 would win.
    inst = make(
        [
            JobSpec(0, 0, 100, layers((6, 6, math.nan, math.nan))),
            JobSpec(0, 1, 100, layers((2, 1, math.nan, math.nan), (2, 9, math.nan, math.nan))),
            JobSpec(0, 1, 100, layers((6, 10, math.nan, math.nan))),
        ]
    )
    schedule = replay(inst, make_scheduler("dysta_oracle"))
    # job1 [6,7); at t=7 job1 r = 9 < job2 r = 10: job1 [7,16); job2 [16,26)
    assert schedule.op_start.tolist() == [0, 6, 7, 16]


def test_oracle_knows_a_realised_early_exit():
    # job0: three layers of 2 s, realised exit after layer 0 (R_real = T_real = 2);
    # job1: one layer of 3 s. Both released at 0, deadline 100, N = 2.
    #   oracle: job0 2 + 0.01*98 = 2.98 < job1 3 + 0.01*97 = 3.97 -> job0 [0,2) and done
    #   dysta (cannot know): job0 6 + 0.01*94 = 6.94 > 3.97 -> job1 [0,3), job0 [3,5)
    nan = math.nan
    inst = make(
        [
            JobSpec(0, 0, 100, layers(*[(2, 2, nan, nan)] * 3), exit_op=0),
            JobSpec(0, 0, 100, layers((3, 3, nan, nan))),
        ]
    )
    assert replay(inst, make_scheduler("dysta_oracle")).op_start.tolist() == [0, -1, -1, 2]
    assert replay(inst, make_scheduler("dysta")).op_start.tolist() == [3, -1, -1, 0]


def test_ties_go_to_the_first_admitted_job():
    # Identical jobs released together: job0 (index and admission order first) runs first.
    same = [JobSpec(0, 0, 50, layers((3, 3, math.nan, math.nan))) for _ in range(2)]
    assert replay(make(same), make_scheduler("dysta")).op_start.tolist() == [0, 3]
    # job0 (index 0) is released at 1, job1 (index 1) at 0 with layers 1 + 3 s.
    # At t=1, N=2: job1 r = 3, urgency 100-1-3 = 96, penalty ((1-1)/4)/2 = 0 -> 3.96;
    # job0 r = 3, urgency 96, penalty ((1-1)/3)/2 = 0 -> 3.96. Equal keys: job1 was admitted
    # first and wins although its index is higher: job1 [1,4), then job0 [4,7).
    inst = make(
        [
            JobSpec(0, 1, 100, layers((3, 3, math.nan, math.nan))),
            JobSpec(0, 0, 100, layers((1, 1, math.nan, math.nan), (3, 3, math.nan, math.nan))),
        ]
    )
    for name in NAMES:
        assert replay(inst, make_scheduler(name)).op_start.tolist() == [4, 0, 1], name


def test_several_idle_accelerators_take_jobs_by_key():
    # Accelerators x, y; all released at 0 with deadline 100, N = 3, one op each.
    #   job0 predicted (5, 10): R_est = min = 5 -> 5 + 0.01*95 = 5.95
    #   job1 predicted (3, 3):  R_est = 3        -> 3 + 0.01*97 = 3.97
    #   job2 predicted (8, 4):  R_est = min = 4  -> 4 + 0.01*96 = 4.96
    # Order job1, job2, job0. job1 -> x (3 = 3, lowest index), job2 -> y (the only one left).
    # At t=3 x is idle: job0 -> x [3,8). (With R_est on x alone, job2's key would be 8.92 and
    # job0 would take y at t=0.)
    inst = make(
        [
            JobSpec(0, 0, 100, [OpSpec([5, 10])]),
            JobSpec(0, 0, 100, [OpSpec([3, 3])]),
            JobSpec(0, 0, 100, [OpSpec([8, 4])]),
        ],
        accelerators=("x", "y"),
    )
    for name in NAMES:
        schedule = replay(inst, make_scheduler(name))
        assert schedule.op_start.tolist() == [3, 0, 0], name
        assert schedule.op_accelerator.tolist() == [0, 0, 1], name


def test_default_time_scale_is_seconds():
    # The same instance in 1 ns units (everything x 1e9) gives the same keys: the key is formed
    # in seconds, so the penalty (a ratio) keeps its weight against the time terms.
    def scaled(unit_ns, factor):
        return make(
            [
                JobSpec(0, 0, 20 * factor, layers(*[(2 * factor, 1 * factor, 0.5, 0.6)] * 3)),
                JobSpec(0, 1 * factor, 9 * factor, layers((3 * factor, 3 * factor, 0.5, 0.5))),
            ],
            time_unit_ns=unit_ns,
        )

    in_seconds, in_ns = Recording(), Recording()
    replay(scaled(SECOND, 1), in_seconds)
    replay(scaled(1, SECOND), in_ns)
    assert len(in_seconds.log) == len(in_ns.log) == 4
    for (_, keys_s, gammas_s, picked_s), (_, keys_ns, gammas_ns, picked_ns) in zip(
        in_seconds.log, in_ns.log, strict=True
    ):
        assert keys_ns == pytest.approx(keys_s, rel=1e-12)
        assert gammas_ns == gammas_s and picked_ns == picked_s
    # Seconds: t=0 job0 6 + 0.01*14 = 6.14, runs [0,1) (γ0 = (1-0.6)/(1-0.5) = 0.8);
    # t=1 job0 0.8*4 + 0.01*(19 - 3.2) = 3.358, job1 3 + 0.01*(8-3) = 3.05 -> job1 [1,4);
    # t=4 job0 3.2 + 0.01*(12.8 + ((4-1)/6)/1) = 3.333; t=5 job0 1.6 + 0.01*13.4 = 1.734.
    expected = [{0: 6.14}, {0: 3.358, 1: 3.05}, {0: 3.333}, {0: 1.734}]
    assert len(in_seconds.log) == len(expected)
    for log, keys in zip(in_seconds.log, expected, strict=True):
        assert log[1] == pytest.approx(keys, rel=1e-12)  # one flat mapping at a time
    # time_scale = 1 on the ns instance keys in ns: the time terms grow 1e9-fold, the penalty
    # (a ratio) does not, so it loses its weight. At t = 4e9:
    # 3.2e9 + 0.01*(12.8e9 + 0.5) = 3.328000000005e9, not 1e9 x the seconds key (3.333e9).
    raw = Recording(time_scale=1.0)
    replay(scaled(1, SECOND), raw)
    assert raw.log[2][1][0] == pytest.approx(3.2e9 + 0.01 * (12.8e9 + 0.5), rel=1e-15)


def test_parameters_are_checked():
    for name, params in [
        ("dysta", {"beta": -0.1}),
        ("dysta", {"time_scale": 0}),
        ("dysta", {"accelerator": "fastest"}),
        ("dysta_naive", {"use_gamma": True}),  # not a parameter of the ablation
        ("dysta_oracle", {"use_gamma": False}),
    ]:
        with pytest.raises(InputError):
            make_scheduler(name, params)
    assert make_scheduler("dysta", {"time_scale": 1}).time_scale == 1.0


# -- the authors' simulator (shared/dysta/README.md §6) ----------------------------------------


def reference_instance(data: str, tag: str, scheduler: str):
    """The reference run's requests as an instance in ns: one accelerator, one op per layer.

    Realised latencies are the simulator's (``exec`` dump), estimates the per-pattern layer
    averages avgLatPattern and avgSp (``meta/lut_avg``), measured sparsities the tables'
    (Sanger stores 1 - density). Times are rounded to whole ns.
    """
    root = DYSTA
    reference = root / "reference"
    average = defaultdict(dict)
    with open(reference / "meta" / f"lut_avg_{data}.csv") as file:
        for row in csv.DictReader(file):
            average[row["model"]][int(row["layer_indx"])] = (
                float(row["avg_lat_per_pattern_s"]),
                float(row["avg_sparsity_stored"]),
            )
    sparsity = {}
    for table in (root / "latency_tables" / data).glob("*.csv"):
        with open(table) as file:
            for row in csv.DictReader(file):
                value = float(row["overall-sparsity"])
                key = (table.stem, int(row["batch-indx"]), int(row["layer-indx"]))
                sparsity[key] = 1 - value if data == "sanger" else value
    with gzip.open(reference / "exec" / f"exec_{tag}_{scheduler}.csv.gz", "rt") as file:
        executed = list(csv.DictReader(file))
    latency = {
        (int(r["reqst_indx"]), int(r["layer_indx"])): float(r["latency_s"]) for r in executed
    }

    def ns(seconds):
        return max(1, round(seconds * 1e9))

    jobs = []
    with open(reference / f"requests_{tag}.csv") as file:
        for row in csv.DictReader(file):
            job, model, sample = int(row["reqst_indx"]), row["model"], int(row["sample_id"])
            ops = [
                OpSpec(
                    [ns(latency[job, i])],
                    predicted=[ns(average[model][i][0])],
                    preds=[i - 1] if i else [],
                    sparsity=sparsity[model, sample, i],
                    sparsity_mean=average[model][i][1],
                )
                for i in range(int(row["n_layers"]))
            ]
            jobs.append(JobSpec(0, ns(float(row["arrival_s"])), ns(float(row["deadline_s"])), ops))
    order = [(int(r["reqst_indx"]), int(r["layer_indx"])) for r in executed]
    gammas = [float(r["gamma_at_pick"]) for r in executed]
    return make(jobs, time_unit_ns=1), order, gammas


@dataclass
class PickGammas(Dysta):
    """dysta that logs γ of every picked job at its decision (the dump's ``gamma_at_pick``)."""

    picks: list = field(default_factory=list, init=False, repr=False)

    def decide(self, view):
        decision = super().decide(view)
        for op, _ in decision.dispatches if decision else []:
            self.picks.append(self.gamma(int(self.static.op_job[op])))
        return decision


@pytest.mark.parametrize(
    "data,tag", [("eyerissv2", "eyerissv2_3_2_1"), ("sanger", "sanger_60_2_1")]
)
@pytest.mark.parametrize("scheduler", ["dysta", "dysta_oracle"])
@needs_dysta
def test_execution_order_matches_the_authors_simulator(data, tag, scheduler):
    inst, order, gammas = reference_instance(data, tag, scheduler)
    offsets = inst.job_op_offsets

    def execution_order(schedule):
        ran = np.argsort(schedule.op_start, kind="stable")
        return [(int(inst.op_job[op]), int(op - offsets[inst.op_job[op]])) for op in ran]

    policy = PickGammas() if scheduler == "dysta" else make_scheduler(scheduler)
    # every layer of all 300 requests, in the simulator's order (its clock rewinds only shift
    # times while the queue is empty, so they do not change the order)
    assert execution_order(replay(inst, policy)) == order
    left_to_right = make_scheduler(scheduler, {"reference_sums": True})
    assert execution_order(replay(inst, left_to_right)) == order
    if scheduler == "dysta":
        # γ is the same float64 as the simulator's: a left-to-right sum divided by the count
        assert policy.picks == gammas


# -- example workloads ---------------------------------------------------------------------------


def example_instances():
    yield (
        "dysta_poisson",
        load_workload(
            ROOT / "instances/examples/dysta_poisson.yaml",
            system="xrb-Single_4K-WS",
            cost="table:xrbench",
            granularity="layer",
            seed=3,
        ),
    )
    for granularity in ("layer", "block:4", "model"):
        yield (
            f"VR_gaming/{granularity}",
            load_workload(
                ROOT / "instances/xrbench/VR_gaming.yaml",
                system="xrb4k-J",
                cost="table:xrbench",
                duration_ns=200_000_000,
                granularity=granularity,
                seed=3,
            ),
        )


def test_examples_run_valid_and_reproducible():
    for label, inst in example_instances():
        for name in NAMES:
            first = replay(inst, make_scheduler(name))  # replay validates the schedule
            again = replay(inst, make_scheduler(name))
            assert (first.job_status == JobStatus.COMPLETED).all(), (label, name)  # never drops
            for column in ("op_accelerator", "op_start", "op_end"):
                assert np.array_equal(getattr(first, column), getattr(again, column)), (label, name)
            sums = replay(inst, make_scheduler(name, {"reference_sums": True}))
            assert np.array_equal(first.op_start, sums.op_start), (label, name)
        if label == "dysta_poisson":
            # this example has per-sample sparsity, so the monitor changes decisions
            dysta = replay(inst, make_scheduler("dysta"))
            naive = replay(inst, make_scheduler("dysta_naive"))
            assert not np.array_equal(dysta.op_start, naive.op_start)

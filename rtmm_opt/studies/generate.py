"""Hard instances with certified gaps: ``rtmm generate`` (``docs/hard_instances.md``).

A search over the space of :mod:`rtmm_opt.studies.space` for instances on which a target online
scheduler is provably far from what was possible (MetaOpt, NSDI'24; van Hemert, Evolutionary
Computation 2006).

**Certified gaps.** For a minimisation objective the oracle returns a validated schedule of value
UB and a proven bound LB ≤ OPT ≤ UB. A scheduler with value H is at least ``H − UB`` and at most
``H − LB`` worse than optimal: the *certified gap* is ``H − UB`` (= H − OPT when the oracle
proved optimality) and ``[H − UB, H − LB]`` its interval. Every UB comes from a validated
schedule, so even a short solve certifies a (smaller) gap.

**The score** the search maximises is the certified gap relative to what the reference
could not avoid, ``(H − R) / (|R| + u)``: the ratio ``(H + u) / (R + u) − 1``, i.e. the
competitive ratio H / R minus one with ``u`` added to both sides so that R = 0 stays finite.
R is the reference (the oracle's UB with ``against="oracle"``, else the named scheduler's
value). For ``misses`` u is the mean job weight (S / jobs, S the total job weight), so the
score is the number of (average) jobs the target misses needlessly per job the optimum had
to miss, plus one: an instance the optimum schedules without a miss scores H / u, the
certified gap in jobs. For every other objective u = 0 (the competitive ratio minus one). The
score is not bounded by 1, so a search has room above what random sampling finds. The
metadata also records the share ``(H − UB) / S``, ``H / UB`` and the gap per job.

**The search** (:func:`generate`): Optuna's multivariate TPE sampler with a local refinement
stage (or its random sampler, the baseline), seeded, ask/tell in batches of one point per
worker, with its trials in SQLite (``DIR/search.db``) so that a killed search resumes where it
stopped. Every point gets a cheap screen (:func:`evaluate_point`: build, replay the target and
the other schedulers, a short deterministic oracle solve warm-started with their schedules), in
parallel on the studies' Dask executor (:func:`rtmm_opt.studies.sweep.dask_client`, or in
process with ``workers=0``). The screen stops at ``search_share`` of the budget (or after
``trials`` points, for runs that must not depend on the machine's speed). Then the best distinct
candidates are certified by successive halving: each round solves the survivors with four times
the previous round's oracle time and keeps the better half, the last round with
``certify_time``. An instance is written only when the oracle's relative gap is at most
``max_oracle_gap`` (default 5 %).

**Reproducible.** Every recorded oracle solve is deterministic (one worker, CP-SAT's
deterministic time, a fixed seed) and warm-started with the schedules of the target and the
other schedulers in a fixed order, so :func:`rtmm_opt.studies.hard.verify` reproduces the
recorded numbers from the written instance on any machine.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance import Instance
from rtmm_opt.oracle import SolverLimits, evaluate, parse_objective, solve
from rtmm_opt.oracle.objectives import Objective
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedulers import make_scheduler, scheduler_names
from rtmm_opt.studies.cells import versions
from rtmm_opt.studies.space import SearchSpace, build_point, effective_load, sample

MODES = ("tpe", "random")
CLAIRVOYANT = ("dysta_oracle",)  # told realised latencies: not an online baseline
FORMAT = "rtmm-hard-instance"


def default_others(target: str) -> tuple[str, ...]:
    """Every registered online scheduler but the target and the clairvoyant ones."""
    return tuple(n for n in scheduler_names() if n != target and n not in CLAIRVOYANT)


@dataclass(frozen=True)
class GenerateConfig:
    """What one ``rtmm generate`` run searches for (module docstring)."""

    target: str
    out: Path
    objective: str = "misses"
    against: str = "oracle"
    space: SearchSpace = field(default_factory=SearchSpace)
    budget_s: float = 600.0
    trials: int | None = None
    count: int = 5
    seed: int = 0
    workers: int = 0
    mode: str = "tpe"
    others: tuple[str, ...] | None = None
    screen_time: float = 1.0
    certify_time: float = 20.0
    search_share: float = 0.6
    max_oracle_gap: float = 0.05
    startup_trials: int = 8
    refine: float = 0.5

    def __post_init__(self) -> None:
        names = scheduler_names()
        if self.target not in names:
            raise InputError(f"unknown scheduler {self.target!r}; valid: {', '.join(names)}",
                             field="--target")  # fmt: skip
        if self.against != "oracle" and self.against not in names:
            raise InputError(f"expected 'oracle' or a scheduler, got {self.against!r}",
                             field="--against")  # fmt: skip
        if self.against == self.target:
            raise InputError("the target cannot be measured against itself", field="--against")
        if self.mode not in MODES:
            raise InputError(f"expected one of {', '.join(MODES)}", field="--mode")
        if not 0 <= self.refine <= 1:
            raise InputError(f"expected a share in [0, 1], got {self.refine!r}", field="refine")
        for other in self.others or ():
            if other not in names:
                raise InputError(f"unknown scheduler {other!r}", field="--others")
        parse_objective(self.objective)  # InputError on a bad objective

    @property
    def other_names(self) -> tuple[str, ...]:
        others = self.others if self.others is not None else default_others(self.target)
        if self.against not in ("oracle", *others):
            others = (*others, self.against)
        return tuple(o for o in others if o != self.target)


def oracle_limits(time_limit: float, seed: int) -> SolverLimits:
    """The limits of every recorded oracle solve: one worker, deterministic time."""
    return SolverLimits(time_limit=time_limit, workers=1, seed=seed, deterministic=True)


def is_misses(objective: Objective) -> bool:
    return objective.names == ("misses",) and len(objective.terms) == 1


def scale(instance: Instance, objective: Objective, value: float) -> float:
    """S: the total job weight for ``misses``, else ``max(|H|, 1e-9)`` (the share's
    denominator)."""
    if is_misses(objective):
        return max(float(instance.job_weight.sum()), 1.0)
    return max(abs(value), 1e-9)


def unit(instance: Instance, objective: Objective) -> float:
    """u of the score ``(H − R) / (|R| + u)``: the mean job weight for ``misses``, else 0."""
    if is_misses(objective):
        return max(float(instance.job_weight.sum()), 1.0) / max(instance.n_jobs, 1)
    return 0.0


def measure(instance: Instance, target: str, others: Sequence[str], objective: Objective,
            time_limit: float, seed: int) -> dict[str, Any]:  # fmt: skip
    """Replay the target and the others on ``instance`` and solve it once (deterministic,
    warm-started with their schedules in that order); every number of a candidate's record."""
    values: dict[str, float] = {}
    schedules: list[Schedule] = []
    for name in (target, *others):
        schedule = replay(instance, make_scheduler(name))  # validated
        values[name] = float(evaluate(instance, schedule, objective))
        schedules.append(schedule)
    result = solve(instance, objective, limits=oracle_limits(time_limit, seed), hints=schedules)
    h = values[target]
    best_other = min(others, key=lambda n: (values[n], n)) if others else None
    ub, lb = result.objective, result.bound
    return {
        "target_value": h,
        "others": {n: values[n] for n in others},
        "best_other": None if best_other is None else {"name": best_other,
                                                      "value": values[best_other]},
        "oracle": {"status": result.status, "objective": ub, "bound": lb, "gap": result.gap,
                   "incumbent": result.solver.get("incumbent"),
                   "time_limit": time_limit, "workers": 1, "seed": seed,
                   "deterministic": True},
        "certified_gap": None if ub is None else h - ub,
        "gap_interval": [None if ub is None else h - ub, None if lb is None else h - lb],
        "ratio": None if not ub else h / ub,
        "gap_per_job": None if ub is None else (h - ub) / max(instance.n_jobs, 1),
        "gap_to_best_other": None if best_other is None else h - values[best_other],
        "scale": scale(instance, objective, h),
        "unit": unit(instance, objective),
        "share": None if ub is None else (h - ub) / scale(instance, objective, h),
        "jobs": instance.n_jobs, "ops": instance.n_ops,
        "instance_hash": instance.content_hash,
    }  # fmt: skip


def score_of(record: Mapping[str, Any], against: str) -> float:
    """The searched score of a record: ``(H − R) / (|R| + u)`` (module docstring)."""
    h = float(record["target_value"])
    if against == "oracle":
        reference = record["oracle"]["objective"]
        if reference is None:
            return 0.0
    else:
        reference = record["others"][against]
    r = float(reference)
    return (h - r) / max(abs(r) + float(record["unit"]), 1e-9)


def evaluate_point(point: Mapping[str, Any], config: GenerateConfig,
                   time_limit: float) -> dict[str, Any]:  # fmt: skip
    """Build the point's instance and measure it with an oracle solve of ``time_limit``
    (deterministic seconds); never raises (an error becomes ``{"error": ...}``)."""
    began = time.perf_counter()
    try:
        built = build_point(point, config.space)
        record = measure(built.instance, config.target, config.other_names,
                         parse_objective(config.objective), time_limit, config.seed)  # fmt: skip
        record["load"] = effective_load(built.instance)
        record["score"] = score_of(record, config.against)
    except Exception as error:  # a point the space allows but the builder refuses
        return {"error": f"{type(error).__name__}: {error}", "wall_s": time.perf_counter() - began}
    record["wall_s"] = time.perf_counter() - began
    return record


@dataclass
class GenerateResult:
    """What a run did: evaluations (this run and earlier ones), the instances written."""

    evaluations: int
    failed: int
    written: list[Path]
    best_score: float | None
    history: list[tuple[int, float]]  # (evaluation, best certified score so far)
    certified: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations, "failed": self.failed,
                "written": [str(p) for p in self.written], "best_score": self.best_score,
                "history": self.history}  # fmt: skip


class _Executor:
    """Maps an evaluation over points: in process (``workers=0``) or on Dask."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._context: Any = None
        self.client: Any = None

    def __enter__(self) -> _Executor:
        if self.workers > 0:
            from rtmm_opt.studies.sweep import dask_client

            self._context = dask_client(self.workers, None)
            self.client = self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)

    @property
    def batch(self) -> int:
        return max(1, self.workers)

    def map(self, points: Sequence[Mapping[str, Any]], config: GenerateConfig,
            time_limit: float) -> list[dict[str, Any]]:  # fmt: skip
        if self.client is None:
            return [evaluate_point(p, config, time_limit) for p in points]
        futures = [self.client.submit(evaluate_point, dict(p), config, time_limit, pure=False)
                   for p in points]  # fmt: skip
        return list(self.client.gather(futures))


def _study(config: GenerateConfig) -> Any:
    try:
        import optuna
    except ImportError:  # pragma: no cover - the search extra brings it
        raise InputError("rtmm generate needs Optuna: pip install 'rtmm-opt[search]'",
                         field="--mode") from None  # fmt: skip
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler: Any
    if config.mode == "tpe":
        with warnings.catch_warnings():  # multivariate, group and constant_liar: experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=config.seed, n_startup_trials=config.startup_trials, multivariate=True,
                group=True, constant_liar=True,
            )  # fmt: skip
    else:
        sampler = optuna.samplers.RandomSampler(seed=config.seed)
    config.out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(config.out / 'search.db').resolve()}"
    name = f"{config.target}-{config.objective}-{config.against}-{config.mode}-{config.seed}"
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                direction="maximize", load_if_exists=True)  # fmt: skip
    return study


def _tell(study: Any, trial: Any, record: Mapping[str, Any]) -> None:
    import optuna

    for key in ("error", "target_value", "others", "oracle", "certified_gap", "score", "share",
                "jobs", "ops", "instance_hash", "load", "point", "refined_from"):
        if key in record:
            trial.set_user_attr(key, record[key])
    if "error" in record:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, float(record["score"]))


def generate(config: GenerateConfig, *,
             progress: Callable[[str], None] | None = None) -> GenerateResult:  # fmt: skip
    """Search, certify and write ``config.count`` hard instances (module docstring)."""
    import optuna

    say = progress or (lambda message: None)
    started = time.perf_counter()
    study = _study(config)
    elapsed_before = float(study.user_attrs.get("elapsed_s", 0.0))
    search_until = config.search_share * config.budget_s
    with _Executor(config.workers) as executor:
        # trials a killed run left running: mark them failed and ask their points again
        stale = [t for t in study.get_trials(deepcopy=False)
                 if t.state == optuna.trial.TrialState.RUNNING]  # fmt: skip
        interrupted = list(study.user_attrs.get("interrupted", []))
        for frozen in stale:
            study.tell(frozen.number, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(frozen.params)
            interrupted.append(frozen.number)
        study.set_user_attr("interrupted", interrupted)
        while True:
            done = len(study.get_trials(deepcopy=False)) - len(interrupted)
            spent = elapsed_before + time.perf_counter() - started
            if config.trials is not None:
                if done >= config.trials:
                    break
                size = min(executor.batch, config.trials - done)
            else:
                if spent >= search_until:
                    break
                size = executor.batch
            trials = [_ask(study, config, done + k) for k in range(size)]
            points = [sample(trial, config.space) for trial in trials]
            for trial, point in zip(trials, points, strict=True):
                trial.set_user_attr("point", point)
            records = executor.map(points, config, config.screen_time)
            for trial, point, record in zip(trials, points, records, strict=True):
                record["point"] = point
                _tell(study, trial, record)
            study.set_user_attr("elapsed_s", elapsed_before + time.perf_counter() - started)
            best = _best_value(study)
            say(f"{done + size} evaluations, best score {best if best is None else round(best, 4)}")
        certified = _certify(study, config, executor, say)
    written = _write(certified, config, study)
    trials_all = evaluated(study)
    return GenerateResult(
        evaluations=len(trials_all),
        failed=sum(t.state == optuna.trial.TrialState.FAIL for t in trials_all),
        written=written, best_score=_best_value(study), history=search_history(study),
        certified=certified,
    )  # fmt: skip


def mutate(params: Mapping[str, Any], distributions: Mapping[str, Any],
           rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    """The incumbent's parameters with one or two of them changed: a categorical one to
    another of its choices, a numeric one by a Gaussian step of 15 % of its range (clipped).
    Parameters that the change makes necessary (a new task's, a new deadline rule's) are left
    out, so the sampler draws them."""
    import optuna.distributions as d

    def movable(dist: Any) -> bool:
        if isinstance(dist, d.CategoricalDistribution):
            return len(dist.choices) > 1
        return bool(dist.high > dist.low)

    names = sorted(n for n in params if movable(distributions[n]))
    child = dict(params)
    if not names:
        return child
    for name in rng.choice(names, size=min(len(names), int(rng.integers(1, 3))), replace=False):
        dist, value = distributions[str(name)], params[str(name)]
        if isinstance(dist, d.CategoricalDistribution):
            choices = [c for c in dist.choices if c != value]
            child[str(name)] = choices[int(rng.integers(len(choices)))]
        else:
            step = float(rng.normal(0.0, 0.15 * (dist.high - dist.low)))
            new = min(dist.high, max(dist.low, value + step))
            if isinstance(dist, d.IntDistribution):
                new = round(new)
                if new == value:  # a step too small to move, or clipped: one unit inwards
                    up = (step >= 0 and value < dist.high) or value == dist.low
                    new = value + 1 if up else value - 1
            child[str(name)] = new
    return child


def _ask(study: Any, config: GenerateConfig, index: int) -> Any:
    """The next trial. In ``tpe`` mode, after the start-up trials a ``refine`` share of them
    (drawn from a generator seeded by the seed and the trial's index, so a run is
    reproducible) are mutations of one of the three best points so far (:func:`mutate`,
    local refinement in the spirit of van Hemert's evolutionary search); the rest are TPE's."""
    if config.mode != "tpe" or index < config.startup_trials:
        return study.ask()
    rng = np.random.default_rng([config.seed, index])
    if rng.random() >= config.refine:
        return study.ask()
    ranked = sorted((t for t in evaluated(study) if t.value is not None),
                    key=lambda t: (-float(t.value), t.number))[:3]  # fmt: skip
    if not ranked:
        return study.ask()
    weights = np.array([0.6, 0.25, 0.15][: len(ranked)])
    parent = ranked[int(rng.choice(len(ranked), p=weights / weights.sum()))]
    study.enqueue_trial(mutate(parent.params, parent.distributions, rng),
                        user_attrs={"refined_from": parent.number})  # fmt: skip
    return study.ask()


def evaluated(study: Any) -> list[Any]:
    """The study's finished trials in order, without those a killed run interrupted (their
    points were asked again)."""
    interrupted = set(study.user_attrs.get("interrupted", []))
    return [t for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
            if t.state.is_finished() and t.number not in interrupted]


def _best_value(study: Any) -> float | None:
    values = [t.value for t in study.get_trials(deepcopy=False) if t.value is not None]
    return max(values) if values else None


def search_history(study: Any) -> list[tuple[int, float]]:
    """(evaluation number, best screened score so far), in trial order."""
    history, best = [], -math.inf
    for i, trial in enumerate(evaluated(study)):
        if trial.value is not None:
            best = max(best, float(trial.value))
        if best > -math.inf:
            history.append((i + 1, best))
    return history


def _certify(study: Any, config: GenerateConfig, executor: _Executor,
             say: Callable[[str], None]) -> list[dict[str, Any]]:  # fmt: skip
    """Successive halving of oracle time over the best distinct candidates."""
    ranked = sorted((t for t in study.get_trials(deepcopy=False) if t.value is not None),
                    key=lambda t: (-float(t.value), t.number))  # fmt: skip
    seen: set[str] = set()
    candidates = []
    for trial in ranked:
        digest = trial.user_attrs.get("instance_hash")
        if digest in seen or float(trial.value) <= 0:
            continue
        seen.add(digest)
        candidates.append({"trial": trial.number, "point": trial.user_attrs["point"]})
        if len(candidates) >= 2 * config.count + 2:
            break
    rounds = max(1, math.ceil(math.log2(max(1, len(candidates) / max(config.count, 1)))) + 1)
    # each round 4x the last, ending at certify_time, never below twice the screen's time
    times = [min(config.certify_time, max(2 * config.screen_time,
                                          config.certify_time / 4 ** (rounds - 1 - r)))
             for r in range(rounds)]  # fmt: skip
    survivors = candidates
    for r, time_limit in enumerate(times):
        if not survivors:
            break
        say(f"certifying {len(survivors)} candidates, oracle {time_limit:g} s (deterministic)")
        records = executor.map([c["point"] for c in survivors], config, time_limit)
        for candidate, record in zip(survivors, records, strict=True):
            candidate.update(record)
            candidate["certify_round"] = r
        survivors = [c for c in survivors if "error" not in c]
        survivors.sort(key=lambda c: (-c["score"], c["oracle"]["gap"] or 0.0, c["trial"]))
        if r < len(times) - 1:
            keep = max(config.count, math.ceil(len(survivors) / 2))
            # prefer candidates the oracle can certify within the gap limit
            good = [c for c in survivors if (c["oracle"]["gap"] or 0) <= config.max_oracle_gap]
            rest = [c for c in survivors if c not in good]
            survivors = (good + rest)[:keep]
    final = [c for c in survivors if c["oracle"]["status"] == "optimal"
             or (c["oracle"]["gap"] is not None and c["oracle"]["gap"] <= config.max_oracle_gap)]
    final = [c for c in final if c["score"] > 0]
    return final[: config.count]


def _write(certified: list[dict[str, Any]], config: GenerateConfig, study: Any) -> list[Path]:
    """Write each certified candidate: instance JSON, scenario YAML, metadata JSON."""
    written = []
    n_trials = len(evaluated(study))
    for i, record in enumerate(certified, start=1):
        stem = f"{config.target}-{i:02d}"
        built = build_point(record["point"], config.space, name=stem)
        instance = built.instance
        if instance.content_hash != record["instance_hash"]:  # pragma: no cover - a bug
            raise RuntimeError("the rebuilt instance differs from the certified one")
        instance.to_json(config.out / f"{stem}.json")
        # JSON is YAML 1.2, and every WORKLOAD argument reads it; a .yaml file inside the
        # bundled instances/ folder would join the bundled scenarios (rtmm scenarios list)
        (config.out / f"{stem}.scenario.json").write_text(json.dumps(built.scenario, indent=1)
                                                         + "\n")
        meta = {
            "format": FORMAT, "version": 1,
            "instance": f"{stem}.json", "scenario": f"{stem}.scenario.json",
            "target": config.target, "objective": config.objective, "against": config.against,
            "score_name": "(H - R) / (|R| + u), R = UB (oracle) or the named scheduler's "
                          "value, u = mean job weight (misses) or 0",
            "score": record["score"], "share": record["share"], "unit": record["unit"],
            **{k: record[k] for k in ("target_value", "others", "best_other", "oracle",
                                      "certified_gap", "gap_interval", "ratio", "gap_per_job",
                                      "gap_to_best_other", "jobs", "ops", "instance_hash",
                                      "load")},
            "build": built.build, "point": record["point"],
            "search": {"mode": config.mode, "seed": config.seed, "trial": record["trial"],
                       "evaluations": n_trials, "screen_time": config.screen_time,
                       "certify_time": config.certify_time, "space": config.space.to_dict()},
            "versions": versions(),
        }  # fmt: skip
        (config.out / f"{stem}.meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        written.append(config.out / f"{stem}.meta.json")
    return written

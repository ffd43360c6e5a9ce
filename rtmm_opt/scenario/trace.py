"""Traces: the concrete jobs of one seeded run of a scenario.

:func:`generate_trace` turns a :class:`Scenario` into jobs with integer-nanosecond releases and
deadlines, upstream links and realised dynamic outcomes. The rules (``docs/scenarios.md``
has them in full):

* **Periodic** task (``fps``, period P, phase φ): candidate frame i has the nominal time
  φ + i·P. Jitter delays its release by U(0, jitter) but leaves the deadline alone, which is
  frame-aligned as in XRBench.
* **Poisson** task (rate λ): arrival i is the sum of i+1 exponential gaps with mean 1/λ.
* **Trigger**: each candidate frame exists with the task's ``trigger_probability``. This is one
  independent draw per frame, as XRBench's ``Probability`` works.
* **Cascade**: frame i of a task with ``depends_on`` exists only if frame i of every upstream
  task exists and its own trigger draw succeeds. Its release is the latest of its own nominal
  time (if it has an ``fps``) and the upstream releases. The engine releases it when the
  upstream jobs complete.
* **Window**: a frame belongs to the trace if its release is before ``duration_ns``. Under
  ``compat: xrbench`` a periodic frame also needs its frame to end within the window (its
  nominal end, the next frame's nominal time, at most ``duration_ns``): the XRBench harness
  makes ``floor(window / period)`` requests per model (``HET_load-generator.hpp``,
  ``LoadGenerator::Initialize``), e.g. 43 frames of a 16 ms model in 700 ms, not 44.

**Randomness.** Each task owns independent streams, ``SeedSequence(seed, spawn_key=(hash of
the task name, purpose))``. There is one purpose per kind of draw (arrivals, jitter, triggers,
per-sample shift, per-layer noise of each variant, exits). So adding, removing or reordering
other tasks, or switching one kind of behaviour on, leaves every other draw as it was. Draws
are made per candidate frame index, in frame order, so a longer window extends a shorter
one: its jobs released before the shorter end are the same.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.limits import INT_LIMIT, JOBS, check_quantity
from rtmm_opt.scenario.scenario import (
    MAX_SPARSITY,
    NS_PER_MS,
    NS_PER_S,
    LatencyFactorModel,
    Scenario,
    Task,
)

FloatArray = npt.NDArray[np.float64]

MAX_DURATION_NS = 10**13  # 10^4 s of simulated time

# Stream purposes (the last element of a task's spawn key).
_ARRIVALS, _JITTER, _TRIGGER, _SAMPLE_SHIFT, _EXIT, _SAMPLE_FACTOR = range(6)
_PER_VARIANT = 16  # per-layer streams of variant v: 16 + 2v (sparsity), 17 + 2v (factor)


@dataclass(frozen=True)
class JobOutcome:
    """What one job's sample turns out to be, per variant of its task.

    ``latency_factor[v]`` multiplies the static cost of each layer of variant v (indexed by
    position in the variant model's topological order). ``None`` means 1 everywhere.
    ``sparsity[v]`` is the realised input sparsity per layer, or ``None`` without a sparsity
    model. ``exit_after`` is the layer position after which the job leaves through an early
    exit (variant 0 only), or ``None`` to run to the end.
    """

    latency_factor: tuple[FloatArray | None, ...]
    sparsity: tuple[FloatArray | None, ...]
    exit_after: int | None = None


STATIC = JobOutcome((None,), (None,))


@dataclass(frozen=True)
class TraceJob:
    """One inference request. Times in ns; ``upstream`` are indices of earlier trace jobs."""

    task: int
    frame: int
    release_ns: int
    deadline_ns: int
    upstream: tuple[int, ...] = ()
    outcome: JobOutcome = STATIC


@dataclass(frozen=True)
class Trace:
    """The jobs of one run, sorted by (release, task's topological rank, frame).

    Every upstream job therefore comes before its dependents.
    """

    scenario: Scenario = field(compare=False, repr=False)
    duration_ns: int
    seed: int
    jobs: tuple[TraceJob, ...]

    def __len__(self) -> int:
        return len(self.jobs)

    def jobs_of(self, task: int) -> list[int]:
        return [j for j, job in enumerate(self.jobs) if job.task == task]


# -- random streams -------------------------------------------------------------------------------


def _task_key(name: str) -> tuple[int, int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


def _stream(seed: int, task: Task, purpose: int) -> np.random.Generator:
    sequence = np.random.SeedSequence(seed, spawn_key=(*_task_key(task.name), purpose))
    return np.random.default_rng(sequence)


def _latency_factors(
    model: LatencyFactorModel, rng: np.random.Generator, shape: tuple[int, ...]
) -> FloatArray:
    """Draws with the model's mean and standard deviation (see :class:`LatencyFactorModel`)."""
    mean, std = model.mean, model.std
    if std <= 1e-9 * mean:  # no spread worth drawing; also keeps gamma's shape (mean/std)² finite
        return np.full(shape, mean)
    if model.distribution == "lognormal":
        sigma2 = math.log1p((std / mean) ** 2)
        return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), shape)
    if model.distribution == "gamma":
        return rng.gamma((mean / std) ** 2, std**2 / mean, shape)
    half_width = std * math.sqrt(3)
    return rng.uniform(mean - half_width, mean + half_width, shape)


# -- per-task frame candidates ---------------------------------------------------------------


@dataclass
class _Frames:
    """The candidate frames of one task, before triggers and the window cut."""

    exists: npt.NDArray[np.bool_]
    release: npt.NDArray[np.int64]
    frame_end: npt.NDArray[np.int64]  # nominal time of the next frame (deadline rule 'period')


def _periodic(task: Task, period: float, duration_ns: int, seed: int) -> _Frames:
    phase = task.phase_ms * NS_PER_MS
    count = max(0, math.ceil((duration_ns - phase) / period)) if phase < duration_ns else 0
    # guard against float error at the boundary: frame i is a candidate iff its nominal time < D
    while count > 0 and round(phase + (count - 1) * period) >= duration_ns:
        count -= 1
    while round(phase + count * period) < duration_ns:
        count += 1
    frames = np.arange(count + 1, dtype=np.float64)
    nominal = np.rint(phase + frames * period).astype(np.int64)
    release = nominal[:-1].copy()
    if task.jitter_ms > 0:
        delay = _stream(seed, task, _JITTER).uniform(0.0, task.jitter_ms * NS_PER_MS, count)
        release += np.rint(delay).astype(np.int64)
    return _Frames(np.ones(count, bool), release, nominal[1:])


def _poisson(task: Task, rate: float, duration_ns: int, seed: int) -> _Frames:
    rng = _stream(seed, task, _ARRIVALS)
    mean_gap = NS_PER_S / rate
    expected = duration_ns / mean_gap
    chunk = int(expected + 5 * math.sqrt(expected) + 16)
    arrivals: list[FloatArray] = []
    last = 0.0
    while last < duration_ns:
        times = last + np.cumsum(rng.exponential(mean_gap, chunk))
        arrivals.append(times)
        last = float(times[-1])
    release = np.rint(np.concatenate(arrivals)).astype(np.int64)
    count = int(np.searchsorted(release, duration_ns, side="left"))
    release = release[:count]
    return _Frames(np.ones(count, bool), release, np.full(count, -1, np.int64))


def expected_jobs(scenario: Scenario, duration_ns: int) -> list[float]:
    """About how many jobs each task makes in ``duration_ns``, estimated before any draw (a
    little above the mean): duration / period + 1 for a periodic task, rate × duration + 1 for a
    Poisson one; a cascaded task makes at most as many as its fewest upstream task."""
    counts = [0.0] * len(scenario.tasks)
    for index in scenario.topological_order:
        task = scenario.tasks[index]
        period = scenario.own_period_ns(task)
        own = math.inf
        if period is not None:
            own = duration_ns / period + 1
        elif task.poisson is not None:
            own = task.poisson * duration_ns / NS_PER_S + 1
        upstream = [counts[scenario.task_index(up)] for up in task.depends_on]
        counts[index] = min([own, *upstream])
    return counts


def check_job_count(scenario: Scenario, duration_ns: int) -> list[float]:
    """:func:`expected_jobs`, refused above the jobs limit (:data:`rtmm_opt.io.limits.JOBS`)."""
    counts = expected_jobs(scenario, duration_ns)
    rated = [i for i, task in enumerate(scenario.tasks) if task.fps or task.poisson]
    busiest = max(rated, key=lambda i: counts[i])
    key = "fps" if scenario.tasks[busiest].fps else "poisson"
    JOBS.check(
        sum(counts),
        f"the scenario over {duration_ns / NS_PER_S:g} s",
        file=scenario.file,
        field=f"tasks[{busiest}].{key}",
        advice="shorten the duration or lower the rates",
    )
    return counts


# -- the generator ---------------------------------------------------------------------------


def generate_trace(
    scenario: Scenario,
    duration_ns: int,
    seed: int,
    *,
    isolated_latency: Mapping[str, float] | None = None,
) -> Trace:
    """The jobs of ``scenario`` released in ``[0, duration_ns)``, drawn with ``seed``.

    ``isolated_latency`` maps task names to their model's isolated latency in ns. Tasks with an
    ``slo`` deadline need it; :func:`rtmm_opt.instance.builder.build_instance` supplies the
    static latency of the task's first variant on its fastest accelerator. Same inputs give the
    same trace, always.
    """
    if isinstance(duration_ns, bool) or not isinstance(duration_ns, int | np.integer):
        raise InputError(
            f"expected an integer number of ns, got {excerpt(duration_ns)}", field="duration"
        )
    if not 0 < duration_ns <= MAX_DURATION_NS:
        raise InputError(
            f"must be in (0, {MAX_DURATION_NS / NS_PER_S:g} s], got {duration_ns} ns",
            field="duration",
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"must be a non-negative integer, got {excerpt(seed)}", field="seed")
    duration_ns, seed = int(duration_ns), int(seed)
    check_job_count(scenario, duration_ns)

    topological = scenario.topological_order
    index_of = {task.name: i for i, task in enumerate(scenario.tasks)}
    frames: dict[int, _Frames] = {}
    for index in topological:
        frames[index] = _task_frames(scenario, index, duration_ns, seed, frames)

    ranks = {task: rank for rank, task in enumerate(topological)}
    keys: list[tuple[int, int, int]] = []
    for index, candidate in frames.items():
        present = np.flatnonzero(candidate.exists & (candidate.release < duration_ns))
        keys.extend(
            zip(
                candidate.release[present].tolist(),
                [ranks[index]] * len(present),
                present.tolist(),
                strict=True,
            )
        )
    keys.sort()
    order = {(topological[rank], frame): j for j, (_, rank, frame) in enumerate(keys)}

    outcomes = {
        index: _outcomes(scenario.tasks[index], len(candidate.exists), seed)
        for index, candidate in frames.items()
    }
    jobs = []
    for release, rank, frame in keys:  # plain ints: the keys were built with int()
        index = topological[rank]
        task = scenario.tasks[index]
        deadline = _deadline(scenario, index, frames[index], frame, release, isolated_latency)
        upstream = tuple(order[(index_of[up], frame)] for up in task.depends_on)
        jobs.append(TraceJob(index, frame, release, deadline, upstream, outcomes[index](frame)))
    return Trace(scenario, duration_ns, seed, tuple(jobs))


def _task_frames(
    scenario: Scenario, index: int, duration_ns: int, seed: int, done: Mapping[int, _Frames]
) -> _Frames:
    task = scenario.tasks[index]
    period = scenario.own_period_ns(task)
    if period is not None:
        candidate = _periodic(task, period, duration_ns, seed)
    elif task.poisson is not None:
        candidate = _poisson(task, task.poisson, duration_ns, seed)
    else:  # cascaded without a rate of its own: one candidate per upstream frame index
        upstream = [done[scenario.task_index(up)] for up in task.depends_on]
        count = min(len(up.exists) for up in upstream)
        candidate = _Frames(
            np.ones(count, bool),
            np.max([up.release[:count] for up in upstream], axis=0),
            np.max([up.frame_end[:count] for up in upstream], axis=0),
        )
    if scenario.compat == "xrbench" and period is not None:
        candidate.exists &= candidate.frame_end <= duration_ns  # the harness's request count
    if task.depends_on:
        for up_name in task.depends_on:
            up = done[scenario.task_index(up_name)]
            count = len(candidate.exists)
            paired = np.zeros(count, bool)
            shared = min(count, len(up.exists))
            # an upstream frame outside the window does not exist, so neither does its dependent
            paired[:shared] = up.exists[:shared] & (up.release[:shared] < duration_ns)
            candidate.exists &= paired
            candidate.release[:shared] = np.maximum(candidate.release[:shared], up.release[:shared])
    if task.trigger_probability < 1.0:
        draws = _stream(seed, task, _TRIGGER).random(len(candidate.exists))
        candidate.exists &= draws < task.trigger_probability
    return candidate


def _deadline(
    scenario: Scenario,
    index: int,
    candidate: _Frames,
    frame: int,
    release: int,
    isolated_latency: Mapping[str, float] | None,
) -> int:
    task = scenario.tasks[index]
    rule = task.deadline
    if rule.kind == "period":
        deadline = int(candidate.frame_end[frame])
    elif rule.kind == "ms":
        assert rule.value is not None
        deadline = release + round(rule.value * NS_PER_MS)
    else:
        assert rule.value is not None
        if isolated_latency is None or task.name not in isolated_latency:
            raise InputError(
                "an slo deadline needs the model's isolated latency: build the instance with a "
                "system and a cost model",
                file=scenario.file,
                field=f"tasks[{index}].deadline",
            )
        slo_ns = rule.value * isolated_latency[task.name]
        if not slo_ns <= INT_LIMIT:
            check_quantity(
                slo_ns,
                f"the deadline of '{task.name}' after its release, in ns,",
                file=scenario.file,
                field=f"tasks[{index}].deadline",
            )
        deadline = release + math.ceil(slo_ns)
    # A cascaded frame whose upstream is released after its own frame ends is due at once.
    return max(deadline, release + 1)


def _outcomes(task: Task, count: int, seed: int) -> Callable[[int], JobOutcome]:
    """A function frame -> JobOutcome, with all draws made up front for ``count`` frames."""
    dynamic = task.dynamic
    variants = task.variants
    if not dynamic.varies_latency and not dynamic.early_exit:
        static = JobOutcome((None,) * len(variants), (None,) * len(variants))
        return lambda frame: static

    shift = None
    if dynamic.sparsity is not None:
        shift = _stream(seed, task, _SAMPLE_SHIFT).standard_normal(count)
    sample_factor = None
    if dynamic.latency_factor is not None and dynamic.latency_factor.per == "sample":
        sample_factor = _latency_factors(
            dynamic.latency_factor, _stream(seed, task, _SAMPLE_FACTOR), (count,)
        )
    factors: list[FloatArray | None] = []
    sparsities: list[FloatArray | None] = []
    for v, variant in enumerate(variants):
        n_layers = len(variant.graph)
        factor: FloatArray | None = None
        sparsity: FloatArray | None = None
        if dynamic.sparsity is not None:
            assert shift is not None
            model = dynamic.sparsity
            mean = np.asarray(model.mean_for(n_layers))
            noise = _stream(seed, task, _PER_VARIANT + 2 * v).standard_normal((count, n_layers))
            rho = model.correlation
            sparsity = np.clip(
                mean + model.std * (math.sqrt(rho) * shift[:, None] + math.sqrt(1 - rho) * noise),
                0.0,
                MAX_SPARSITY,
            )
            factor = model.dense_fraction + (1 - model.dense_fraction) * (1 - sparsity) / (1 - mean)
        if dynamic.latency_factor is not None:
            if sample_factor is not None:
                extra = np.broadcast_to(sample_factor[:, None], (count, n_layers))
            else:
                extra = _latency_factors(
                    dynamic.latency_factor,
                    _stream(seed, task, _PER_VARIANT + 2 * v + 1),
                    (count, n_layers),
                )
            factor = extra.copy() if factor is None else factor * extra
        factors.append(factor)
        sparsities.append(sparsity)

    exit_after = np.full(count, -1, np.int64)
    if dynamic.early_exit:
        draws = _stream(seed, task, _EXIT).random(count)
        cumulative = np.cumsum([point.probability for point in dynamic.early_exit])
        positions = np.array([point.after_layer for point in dynamic.early_exit] + [-1])
        exit_after = positions[np.searchsorted(cumulative, draws, side="right")]

    def outcome(frame: int) -> JobOutcome:
        return JobOutcome(
            tuple(None if f is None else f[frame] for f in factors),
            tuple(None if s is None else s[frame] for s in sparsities),
            None if exit_after[frame] < 0 else int(exit_after[frame]),
        )

    return outcome

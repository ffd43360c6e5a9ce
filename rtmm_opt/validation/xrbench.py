"""Agreement with the XRBench harness (XRBench-MLSys2023, ``XRBench-MAESTRO.cpp``).

:func:`run_reference` does what ``rtmm run SCENARIO.m --system xrb-HW-DATAFLOW --cost COST
--scheduler xrbench --granularity model`` does: it builds the scenario (an XRBench ``.m`` file
gives an instance with ``settings.compat == "xrbench"``), replays it under ``xrbench`` (which
then replays the harness's event loop) and scores it with the metrics (which then keep the
harness's log). :func:`read_reference_summary` reads what the harness itself wrote
(``summary_*.csv``: per model RT, EN and UX, then the overall score), and
:func:`compare_reference_runs` pairs the two for every run of ``reference/runs.csv``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.io.units import NS_PER_MS
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedulers import make_scheduler


@dataclass(frozen=True)
class ModelScores:
    """One model's line of the harness's summary: mean RT and EN over its executed frames (0
    when none ran) and UX = 1 − dropped/logged."""

    rt: float
    en: float
    ux: float


@dataclass(frozen=True)
class XRBenchScores:
    """Per-model scores of the models in the log (by name) and the overall score (0..100)."""

    per_model: Mapping[str, ModelScores]
    overall: float


@dataclass(frozen=True)
class ReferenceComparison:
    """One run: the project's scores, the harness's, and how far apart they are."""

    scenario: str
    hw_config: str
    dataflow: str
    ours: XRBenchScores
    theirs: XRBenchScores
    dispatch: DispatchAgreement | None = None  # against the run's timeline, when there is one

    @property
    def overall_diff(self) -> float:
        """|ours − theirs| of the overall score, in score points."""
        return abs(self.ours.overall - self.theirs.overall)

    @property
    def model_diff(self) -> float:
        """The largest |ours − theirs| over the models' RT, EN and UX (inf if the two logs
        hold different models)."""
        if set(self.ours.per_model) != set(self.theirs.per_model):
            return math.inf
        return max(
            (
                abs(getattr(self.ours.per_model[name], key) - getattr(score, key))
                for name, score in self.theirs.per_model.items()
                for key in ("rt", "en", "ux")
            ),
            default=0.0,
        )

    def to_dict(self) -> dict[str, Any]:
        def scores(result: XRBenchScores) -> dict[str, Any]:
            return {
                "overall": result.overall,
                "per_model": {
                    name: {"rt": s.rt, "en": s.en, "ux": s.ux}
                    for name, s in result.per_model.items()
                },
            }

        return {
            "scenario": self.scenario,
            "hw_config": self.hw_config,
            "dataflow": self.dataflow,
            "ours": scores(self.ours),
            "theirs": scores(self.theirs),
            "overall_diff": self.overall_diff,
            "model_diff": self.model_diff,
            "dispatch": None if self.dispatch is None else asdict(self.dispatch),
        }


def replay_reference(
    scenario_m: Path | str,
    hw_config: str,
    dataflow: str,
    cost: str,
    *,
    duration_ns: int | None = None,
    seed: int = 0,
) -> tuple[Instance, Schedule]:
    """The instance of one harness run and its ``xrbench`` replay (validated): the scenario on
    preset ``xrb-{hw_config}-{dataflow}`` with cost model ``cost`` (e.g. ``table:xrbench`` or
    ``table:PATH/layer_costs.csv.gz``), whole models, under ``xrbench`` with its default
    ``compat: auto``. ``duration_ns`` defaults to the scenario's 700 ms; ``seed`` draws the
    triggers of probabilistic scenarios."""
    instance = load_workload(
        scenario_m,
        system=f"xrb-{hw_config}-{dataflow}",
        cost=cost,
        duration_ns=duration_ns,
        seed=seed,
        granularity="model",
    )
    return instance, replay(instance, make_scheduler("xrbench"))


def scores(instance: Instance, schedule: Schedule) -> XRBenchScores:
    """The XRBench scores of a schedule, as the harness's summary lists them: models with no
    logged frame are left out."""
    metrics = compute_metrics(instance, schedule)
    per_model = {
        name: ModelScores(task.xrbench_rt, task.xrbench_en, task.xrbench_ux)
        for name, task in sorted(metrics.per_task.items())
        if task.xrbench_logged
    }
    return XRBenchScores(per_model, metrics.xrbench_score)


def run_reference(
    scenario_m: Path | str, hw_config: str, dataflow: str, cost: str, **options: Any
) -> XRBenchScores:
    """The project's XRBench scores for one harness run (:func:`replay_reference`, which takes
    the same arguments)."""
    return scores(*replay_reference(scenario_m, hw_config, dataflow, cost, **options))


@dataclass(frozen=True)
class DispatchAgreement:
    """How many of the harness's executed inferences the replay ran on the same accelerator,
    and the largest dispatch-time difference over those (ms)."""

    matched: int
    total: int
    max_start_diff_ms: float


def dispatch_agreement(
    instance: Instance, schedule: Schedule, timeline_csv: Path | str
) -> DispatchAgreement:
    """Compare a whole-model replay with a harness timeline (``schedule_*.csv``: one row per
    executed inference with its ``AcceleratorID``, ``Model Name``, ``Frame ID`` and
    ``Dispatch Time (ms)``). An inference the replay did not run counts as unmatched."""
    ours: dict[tuple[str, int], tuple[int, float]] = {}
    for job in range(instance.n_jobs):
        op = int(instance.job_op_offsets[job])
        if schedule.op_accelerator[op] < 0:
            continue
        task = instance.tasks[int(instance.job_task[job])].name
        start_ms = float(schedule.op_start[op]) * instance.time_unit_ns / NS_PER_MS
        ours[task, int(instance.job_frame[job])] = (int(schedule.op_accelerator[op]), start_ms)
    matched, total, worst = 0, 0, 0.0
    with Path(timeline_csv).open(newline="") as handle:
        for row in csv.DictReader(handle):
            total += 1
            mine = ours.get((row["Model Name"], int(row["Frame ID"])))
            if mine is None or mine[0] != int(row["AcceleratorID"]):
                continue
            matched += 1
            worst = max(worst, abs(mine[1] - float(row["Dispatch Time (ms)"])))
    return DispatchAgreement(matched, total, worst)


def read_reference_summary(path: Path | str) -> XRBenchScores:
    """A harness summary CSV (``SummaryGenerator``: a header, one ``model, RT, EN, UX`` line per
    model, then ``Overall Score, S``)."""
    per_model: dict[str, ModelScores] = {}
    overall: float | None = None
    with Path(path).open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    for line, row in enumerate(rows[1:], start=2):
        try:
            if row[0] == "Overall Score":
                overall = float(row[1])
            else:
                per_model[row[0]] = ModelScores(float(row[1]), float(row[2]), float(row[3]))
        except (IndexError, ValueError):
            raise InputError(
                f"expected 'model, RT, EN, UX' or 'Overall Score, S', got {excerpt(row)}",
                file=path,
                field=f"line {line}",
            ) from None
    if overall is None:
        raise InputError("no 'Overall Score' line", file=path, field="Overall Score")
    return XRBenchScores(per_model, overall)


def reference_runs(reference_dir: Path | str) -> Iterator[dict[str, str]]:
    """The rows of ``reference/runs.csv`` (``scenario, hw_config, dataflow, ...,
    summary_csv``)."""
    with (Path(reference_dir) / "runs.csv").open(newline="") as handle:
        yield from csv.DictReader(handle)


def compare_reference_runs(
    xrbench_dir: Path | str, cost: str, *, limit: int | None = None
) -> list[ReferenceComparison]:
    """Every run of ``XRBENCH_DIR/reference/runs.csv`` (the scenario from
    ``XRBENCH_DIR/scenarios``; the first ``limit`` runs if given), ours against the harness's
    summary and, where the run has one, its timeline."""
    root = Path(xrbench_dir)
    comparisons = []
    for run in list(reference_runs(root / "reference"))[:limit]:
        scenario = run["scenario"]
        instance, schedule = replay_reference(
            root / "scenarios" / f"{scenario}.m", run["hw_config"], run["dataflow"], cost
        )
        theirs = read_reference_summary(root / "reference" / run["summary_csv"])
        timeline = root / "reference" / run.get("timeline_csv", "")
        dispatch = (
            dispatch_agreement(instance, schedule, timeline)
            if run.get("timeline_csv") and timeline.is_file()
            else None
        )
        comparisons.append(
            ReferenceComparison(
                scenario,
                run["hw_config"],
                run["dataflow"],
                scores(instance, schedule),
                theirs,
                dispatch,
            )
        )
    return comparisons

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtmm_opt.engine.policy import replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.metrics.metrics import compute_metrics
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
        }


def run_reference(
    scenario_m: Path | str,
    hw_config: str,
    dataflow: str,
    cost: str,
    *,
    duration_ns: int | None = None,
    seed: int = 0,
) -> XRBenchScores:
    """The project's XRBench scores for one harness run: the scenario on preset
    ``xrb-{hw_config}-{dataflow}`` with cost model ``cost`` (e.g. ``table:xrbench`` or
    ``table:PATH/layer_costs.csv.gz``), whole models, under ``xrbench`` with its default
    ``compat: auto``. ``duration_ns`` defaults to the scenario's 700 ms; ``seed`` draws the
    triggers of probabilistic scenarios. Models with no logged frame are left out, as in the
    harness's summary."""
    instance = load_workload(
        scenario_m,
        system=f"xrb-{hw_config}-{dataflow}",
        cost=cost,
        duration_ns=duration_ns,
        seed=seed,
        granularity="model",
    )
    metrics = compute_metrics(instance, replay(instance, make_scheduler("xrbench")))
    per_model = {
        name: ModelScores(task.xrbench_rt, task.xrbench_en, task.xrbench_ux)
        for name, task in sorted(metrics.per_task.items())
        if task.xrbench_logged
    }
    return XRBenchScores(per_model, metrics.xrbench_score)


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
                f"expected 'model, RT, EN, UX' or 'Overall Score, S', got {row!r}",
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


def compare_reference_runs(xrbench_dir: Path | str, cost: str) -> list[ReferenceComparison]:
    """Every run of ``XRBENCH_DIR/reference/runs.csv`` (the scenario from
    ``XRBENCH_DIR/scenarios``), ours against the harness's summary."""
    root = Path(xrbench_dir)
    comparisons = []
    for run in reference_runs(root / "reference"):
        scenario = run["scenario"]
        ours = run_reference(
            root / "scenarios" / f"{scenario}.m", run["hw_config"], run["dataflow"], cost
        )
        theirs = read_reference_summary(root / "reference" / run["summary_csv"])
        comparisons.append(
            ReferenceComparison(scenario, run["hw_config"], run["dataflow"], ours, theirs)
        )
    return comparisons

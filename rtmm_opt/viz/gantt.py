"""Gantt charts of schedules with matplotlib (the optional extra ``rtmm-opt[plot]``).

One row per accelerator, top to bottom in the instance's order, and a ``dropped`` row when jobs
were dropped. Every executed op is a bar, coloured by task (:func:`task_colors`, a fixed palette
indexed by task, so one task has one colour in every chart of an instance). Ops of late jobs get
a red edge and a red × at the job's completion; ops of dropped jobs (wasted work) are hatched and
faded, and each drop is a ▼ at its drop time on the ``dropped`` row. The x axis is in ms.
Neighbouring bars are separated by a white hairline; on a dense chart (more than
``DENSE_OPS_PER_ROW`` ops drawn on one row, i.e. bars a few pixels wide) edges and hatches would
hide the task colours, so only the faces, the × and the ▼ are drawn: zoom in with
``time_range`` to see single ops.

Bars are drawn with one ``broken_barh`` per (task, accelerator, job outcome), not one artist per
op, so 10^5 ops plot in about a second and the files stay small. Figures are built without pyplot
(``matplotlib.figure.Figure`` on the Agg canvas): no display is needed, and figures made in a
long sweep are freed like any object.

Matplotlib is imported only when a chart is drawn; without it, :class:`InputError` says how to
install it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.instance.instance import Instance, IntArray
from rtmm_opt.io.units import NS_PER_MS
from rtmm_opt.metrics.metrics import completion_times
from rtmm_opt.schedule.schedule import JobStatus, Schedule

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

IMAGE_FORMATS = ("png", "svg", "pdf")
MISS_COLOR = "#d62728"
BAR_HEIGHT = 0.8
# Above this many ops drawn on one row, bars are a few pixels wide: draw faces only.
DENSE_OPS_PER_ROW = 400

# Job outcomes, in drawing order.
ON_TIME, LATE, DROPPED = 0, 1, 2
_OUTCOME_NAMES = ("on_time", "late", "dropped")

# tab10 / tab20 without their reds, which mark deadline misses.
_TAB10_NO_RED: tuple[int, ...] = (0, 1, 2, 4, 5, 6, 7, 8, 9)
_TAB20_NO_RED: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)


def _matplotlib() -> ModuleType:
    try:
        import matplotlib
        import matplotlib.collections
        import matplotlib.figure
        import matplotlib.lines
        import matplotlib.patches
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        raise InputError(
            "drawing a Gantt chart needs matplotlib: pip install 'rtmm-opt[plot]'"
        ) from None
    return matplotlib


def task_colors(n_tasks: int) -> list[tuple[float, float, float, float]]:
    """One RGBA colour per task index: tab10 (≤ 9 tasks) or tab20, reds left out, cycled."""
    matplotlib = _matplotlib()
    if n_tasks <= len(_TAB10_NO_RED):
        cmap, picks = matplotlib.colormaps["tab10"], _TAB10_NO_RED
    else:
        cmap, picks = matplotlib.colormaps["tab20"], _TAB20_NO_RED
    return [tuple(cmap(picks[i % len(picks)])) for i in range(n_tasks)]


@dataclass(frozen=True)
class _Outcomes:
    """Per job: outcome (ON_TIME/LATE/DROPPED) and completion time (-1 if dropped)."""

    outcome: IntArray
    completion: IntArray

    @classmethod
    def of(cls, instance: Instance, schedule: Schedule) -> _Outcomes:
        completion = completion_times(instance, schedule)
        completed = schedule.job_status == JobStatus.COMPLETED
        outcome = np.where(
            completed, np.where(completion > instance.job_deadline, LATE, ON_TIME), DROPPED
        ).astype(np.int64)
        return cls(outcome, completion)

    def summary(self) -> str:
        counts = np.bincount(self.outcome, minlength=3)
        return f"{len(self.outcome)} jobs, {counts[LATE]} late, {counts[DROPPED]} dropped"


def _to_ms(instance: Instance, times: IntArray) -> np.ndarray:
    return np.asarray(times, dtype=np.float64) * (instance.time_unit_ns / NS_PER_MS)


def _draw(
    ax: Axes,
    instance: Instance,
    schedule: Schedule,
    outcomes: _Outcomes,
    time_range: tuple[float, float] | None,
    drop_row: bool,
) -> tuple[float, float]:
    """Bars, miss and drop markers, rows and x limits of one schedule on ``ax``.

    ``drop_row``: add the ``dropped`` row (even if this schedule dropped nothing, so that two
    charts of a pair have the same rows). Returns the x limits it set.
    """
    colors = task_colors(len(instance.tasks))
    op_job = instance.op_job
    executed = schedule.executed
    start_ms = _to_ms(instance, schedule.op_start[executed])
    end_ms = _to_ms(instance, schedule.op_end[executed])
    if time_range is not None:
        visible = (end_ms >= time_range[0]) & (start_ms <= time_range[1])
        executed, start_ms, end_ms = executed[visible], start_ms[visible], end_ms[visible]
    task = instance.job_task[op_job[executed]]
    accelerator = schedule.op_accelerator[executed]
    outcome = outcomes.outcome[op_job[executed]]
    widths = end_ms - start_ms
    dense = bool(len(accelerator)) and int(np.bincount(accelerator).max()) > DENSE_OPS_PER_ROW

    # One broken_barh per (outcome, accelerator, task) group.
    order = np.lexsort((executed, task, accelerator, outcome))
    keys = np.stack((outcome[order], accelerator[order], task[order]), axis=1)
    bounds = [0, *(np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1), len(order)]
    for first, stop in itertools.pairwise(bounds):
        if first == stop:
            continue
        group = order[first:stop]
        kind, row, task_index = (int(v) for v in keys[first])
        # A white hairline separates neighbouring ops; when bars are a few pixels wide, edges
        # and hatches would hide the task colours, so dense charts draw faces only.
        style: dict[str, Any] = {"edgecolor": "white", "linewidth": 0 if dense else 0.5}
        if kind == LATE:
            style = {"edgecolor": MISS_COLOR, "linewidth": 0 if dense else 1.0}
        elif kind == DROPPED:
            style = {"edgecolor": "0.25", "linewidth": 0, "alpha": 0.45}
            if not dense:
                style["hatch"] = "////"
        bars = ax.broken_barh(
            list(zip(start_ms[group].tolist(), widths[group].tolist(), strict=True)),
            (row - BAR_HEIGHT / 2, BAR_HEIGHT),
            facecolors=colors[task_index],
            **style,
        )
        bars.set_gid(f"ops/{instance.tasks[task_index].name}/{row}/{_OUTCOME_NAMES[kind]}")

    # A red × at the completion of each late job, on the row of the op that completed it.
    late_jobs = np.flatnonzero(outcomes.outcome == LATE)
    if len(late_jobs):
        ran = schedule.executed
        finishing = ran[schedule.op_end[ran] == outcomes.completion[op_job[ran]]]
        jobs, first = np.unique(op_job[finishing], return_index=True)
        row_of_job = dict(
            zip(jobs.tolist(), schedule.op_accelerator[finishing[first]].tolist(), strict=True)
        )
        marks = ax.scatter(
            _to_ms(instance, outcomes.completion[late_jobs]),
            [row_of_job[j] for j in late_jobs.tolist()],
            marker="x",
            s=14 if dense else 40,
            linewidths=1.0 if dense else 1.8,
            color=MISS_COLOR,
            zorder=3,
        )
        marks.set_gid("late")

    labels = list(instance.accelerators)
    dropped_jobs = np.flatnonzero(outcomes.outcome == DROPPED)
    if drop_row:
        labels.append("dropped")
    if len(dropped_jobs):
        drops = ax.scatter(
            _to_ms(instance, schedule.job_drop_time[dropped_jobs]),
            np.full(len(dropped_jobs), len(instance.accelerators)),
            marker="v",
            s=36,
            c=[colors[t] for t in instance.job_task[dropped_jobs].tolist()],
            edgecolors="0.15",
            linewidths=0.6,
            zorder=3,
        )
        drops.set_gid("dropped")

    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first accelerator on top
    if time_range is not None:
        ax.set_xlim(*time_range)
    else:
        shown = np.concatenate(
            (
                _to_ms(instance, instance.job_release),
                end_ms,
                _to_ms(instance, schedule.job_drop_time[dropped_jobs]),
            )
        )
        low, high = (float(shown.min()), float(shown.max())) if len(shown) else (0.0, 1.0)
        margin = 0.01 * (high - low) or 1e-3
        ax.set_xlim(low - margin, high + margin)
    ax.set_xlabel("time (ms)")
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    low, high = ax.get_xlim()
    return float(low), float(high)


def _legend_handles(instance: Instance, outcomes: Sequence[_Outcomes]) -> list[Any]:
    matplotlib = _matplotlib()
    Patch, Line2D = matplotlib.patches.Patch, matplotlib.lines.Line2D
    colors = task_colors(len(instance.tasks))
    handles: list[Any] = [
        Patch(facecolor=colors[i], label=task.name) for i, task in enumerate(instance.tasks)
    ]
    if any(np.any(o.outcome == LATE) for o in outcomes):
        handles.append(
            Line2D(
                [],
                [],
                color=MISS_COLOR,
                marker="x",
                linestyle="none",
                markersize=7,
                markeredgewidth=1.8,
                label="late job (red edge, × at completion)",
            )
        )
    if any(np.any(o.outcome == DROPPED) for o in outcomes):
        handles.append(
            Line2D(
                [],
                [],
                color="0.5",
                marker="v",
                linestyle="none",
                markeredgecolor="0.15",
                label="dropped job (at drop time; hatched: its ops that ran)",
            )
        )
    return handles


def _new_figure(rows: int, stacked: int = 1) -> Figure:
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = stacked * max(1.8, 0.45 * rows + 1.2)
    figure = Figure(figsize=(12, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _default_title(instance: Instance, schedule: Schedule, outcomes: _Outcomes) -> str:
    producer = f" · {schedule.producer}" if schedule.producer else ""
    return f"{instance.name}{producer} — {outcomes.summary()}"


def plot_gantt(
    instance: Instance,
    schedule: Schedule,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    time_range: tuple[float, float] | None = None,
) -> tuple[Figure, Axes]:
    """Draw ``schedule`` as a Gantt chart (layout: the module docstring).

    ``ax``: draw there (the figure is then the axes' own); otherwise a new figure.
    ``time_range``: (start, end) in ms to show; ops outside it are not drawn at all.
    ``title``: default ``instance · producer — N jobs, L late, D dropped``.
    Returns ``(figure, axes)``.
    """
    outcomes = _Outcomes.of(instance, schedule)
    has_drops = bool(np.any(outcomes.outcome == DROPPED))
    figure = (
        _new_figure(instance.n_accelerators + has_drops)
        if ax is None
        else cast("Figure", ax.figure)
    )
    if ax is None:
        ax = figure.add_subplot()
    _draw(ax, instance, schedule, outcomes, time_range, has_drops)
    ax.set_title(title if title is not None else _default_title(instance, schedule, outcomes))
    ax.legend(
        handles=_legend_handles(instance, [outcomes]),
        loc="upper left",
        bbox_to_anchor=(1.005, 1.0),
        fontsize="small",
        frameon=False,
    )
    return figure, ax


def plot_gantt_pair(
    instance: Instance,
    left: Schedule,
    right: Schedule,
    labels: tuple[str, str] = ("left", "right"),
    *,
    title: str | None = None,
    time_range: tuple[float, float] | None = None,
) -> tuple[Figure, tuple[Axes, Axes]]:
    """Two schedules of one instance for comparison (e.g. the oracle vs the worst heuristic).

    The charts are stacked, ``left`` above ``right``, on one shared time axis, so the same
    instant lines up in both; colours and the legend are shared. Each chart is titled with its
    label and its outcome summary; both have a ``dropped`` row if either dropped a job.
    Returns ``(figure, (upper_axes, lower_axes))``.
    """
    outcomes = [_Outcomes.of(instance, schedule) for schedule in (left, right)]
    has_drops = any(bool(np.any(o.outcome == DROPPED)) for o in outcomes)
    figure = _new_figure(instance.n_accelerators + int(has_drops), stacked=2)
    upper, lower = figure.subplots(2, 1, sharex=True)
    spans = []
    for ax, schedule, outcome, label in zip(
        (upper, lower), (left, right), outcomes, labels, strict=True
    ):
        spans.append(_draw(ax, instance, schedule, outcome, time_range, has_drops))
        ax.set_title(f"{label} — {outcome.summary()}", fontsize="medium")
    # The axes share x, so the last chart's limits hold for both: widen them to the union.
    upper.set_xlim(min(span[0] for span in spans), max(span[1] for span in spans))
    upper.set_xlabel("")
    figure.suptitle(title if title is not None else instance.name)
    upper.legend(
        handles=_legend_handles(instance, outcomes),
        loc="upper left",
        bbox_to_anchor=(1.005, 1.0),
        fontsize="small",
        frameon=False,
    )
    return figure, (upper, lower)


def save_figure(figure: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``figure`` as PNG, SVG or PDF, chosen by the extension of ``path``.

    The date stamps of SVG and PDF files are left out and SVG ids are seeded, so equal charts
    give equal files.
    """
    matplotlib = _matplotlib()
    path = Path(path)
    image_format = path.suffix.lower().removeprefix(".")
    if image_format not in IMAGE_FORMATS:
        raise InputError(
            f"unsupported image format {excerpt(path.suffix or '(none)')}; use .png, .svg or .pdf",
            file=path,
        )
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(image_format)
    try:
        with matplotlib.rc_context({"svg.hashsalt": "rtmm-opt"}):
            figure.savefig(path, format=image_format, dpi=dpi, metadata=metadata)
    except OSError as exc:
        raise InputError(f"cannot write the chart: {exc.strerror or exc}", file=path) from None
    return path


def save_gantt(
    path: str | Path,
    instance: Instance,
    schedule: Schedule,
    *,
    title: str | None = None,
    time_range: tuple[float, float] | None = None,
    dpi: int = 150,
) -> Path:
    """:func:`plot_gantt` written to ``path`` (``.png``, ``.svg`` or ``.pdf``), headless."""
    figure, _ = plot_gantt(instance, schedule, title=title, time_range=time_range)
    return save_figure(figure, path, dpi=dpi)

"""``rtmm report``: a markdown summary and PNG plots of one study's results.

What it draws (``docs/studies.md`` shows an example):

* **metric against each varied parameter**: the mean over seeds with its spread (± one standard
  deviation as a band or error bar), one line per scheduler when the scheduler varies;
* **optimality gaps** (when the study ran the oracle): the distribution of each scheduler's
  certified excess over the oracle's incumbent, and of its relative gap;
* **a performance profile** of the schedulers: for each τ, the fraction of instances on which a
  scheduler is within τ of the best scheduler on that instance. It is the absolute form of
  Dolan and Moré's profile (Math. Programming 91, 2002): with miss counts, the best value is
  often 0, which makes their ratio undefined;
* **sensitivity indices** for ``sobol`` and ``morris`` designs (SALib): first-order and total
  Sobol indices with their confidence intervals, or Morris μ* and σ, for every output metric and
  every combination of the grid's other parameters (e.g. per scheduler).

The markdown opens with the study's size and key numbers, computed from the rows; a study
author's own opening (``intro``) goes above them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.errors import InputError
from rtmm_opt.studies.store import ResultStore, load_runs
from rtmm_opt.studies.study import study_from_dict

METRICS: dict[str, str] = {  # column → axis label with its unit
    "miss_rate": "miss rate (dropped + late) / jobs",
    "energy_mJ": "energy (mJ)",
    "antt": "ANTT (turnaround / isolated latency)",
    "sla_rate": "SLA rate (on-time jobs / jobs)",
    "utilisation": "utilisation (busy time / accelerators × window)",
    "xrbench_score": "XRBench score (0-100)",
    "uxcost": "UXCost (mJ × miss rate)",
}
GAP_METRICS: dict[str, str] = {
    "excess": "excess over the oracle's incumbent (objective units)",
    "gap": "relative gap (h − oracle) / h",
}


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote."""

    study: str
    markdown: Path
    figures: tuple[Path, ...]
    findings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "markdown": str(self.markdown),
            "figures": [str(f) for f in self.figures],
            "findings": list(self.findings),
        }


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - the studies extra brings it
        raise InputError("a report needs matplotlib: pip install 'rtmm-opt[studies]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _study_spec(db: str | Path, study: str | None) -> tuple[str, dict[str, Any]]:
    with ResultStore(db) as store:
        studies = store.studies()
    if not studies:
        raise InputError("no study in this results file", file=db)
    if study is None:
        if len(studies) > 1:
            raise InputError(
                f"several studies ({', '.join(studies)}); choose one with --study", file=db,
                field="--study",
            )  # fmt: skip
        study = next(iter(studies))
    if study not in studies:
        raise InputError(f"no study '{study}'; studies: {', '.join(studies)}", file=db,
                         field="--study")  # fmt: skip
    return study, studies[study]


def _label(name: str) -> str:
    units = {"fps_scale": "fps scale (×)", "slo": "SLO multiplier (×)", "pes": "PEs",
             "dram_bandwidth_gbps": "DRAM bandwidth (GB/s)", "clock_ghz": "clock (GHz)",
             "trigger_probability": "trigger probability"}  # fmt: skip
    return units.get(name, name)


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def write_report(
    db: str | Path, out: str | Path, *, study: str | None = None, intro: str | None = None
) -> Report:
    """Write ``README.md`` and the figures of one study into ``out`` (see the module docstring)."""
    name, spec = _study_spec(db, study)
    definition = study_from_dict(spec, file=str(db))
    runs = load_runs(db, study=name)
    # Rows of cells the study no longer has (it was edited since) are not part of it.
    runs = runs[runs["key"].isin({cell.key for cell in definition.cells()})]
    done = runs[runs["status"] == "done"].copy()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    figures: list[Path] = []
    sections: list[str] = []
    varied = [p for p in definition.grid if p in done.columns and done[p].nunique() > 1]
    design = definition.design
    has_oracle = "oracle_status" in done and done["oracle_status"].notna().any()
    by = "scheduler" if "scheduler" in varied else None
    metrics = [m for m in METRICS if m in done and done[m].notna().any()]
    for parameter in [p for p in varied if p != "scheduler"]:
        path = folder / f"metrics_vs_{parameter.replace('.', '_')}.png"
        _plot_against(plt, done, parameter, metrics, by, path, name)
        figures.append(path)
        sections.append(f"### Metrics against `{parameter}`\n\n![]({path.name})\n")
    if by is not None:
        path = folder / "metrics_by_scheduler.png"
        _plot_by_scheduler(plt, done, metrics, path, name)
        figures.append(path)
        sections.append(f"### Metrics by scheduler\n\n![]({path.name})\n")
    if has_oracle:
        path = folder / "optimality_gaps.png"
        _plot_gaps(plt, done, path, name)
        figures.append(path)
        sections.append("### Optimality gaps\n\nThe excess is certified: the scheduler is at "
                         "least this much worse than optimal on the instance (its objective "
                         "minus the oracle's validated incumbent).\n\n"
                         f"![]({path.name})\n")  # fmt: skip
    if "scheduler" in done and done["scheduler"].nunique() > 1:
        path = folder / "performance_profile.png"
        column = "objective" if has_oracle else "miss_rate"
        _plot_profile(plt, done, column, path, name)
        figures.append(path)
        sections.append(
            f"### Performance profile ({column})\n\nFor each τ, the share of instances on which "
            f"a scheduler's {column} is within τ of the best scheduler's on that instance.\n\n"
            f"![]({path.name})\n"
        )
    indices_tables: list[str] = []
    if design is not None:
        for group, rows in _design_groups(done, definition):
            title = ", ".join(f"{k}={v}" for k, v in group.items()) or "all cells"
            slug = "_".join(str(v) for v in group.values()).replace("/", "_") or "all"
            path = folder / f"design_scatter_{slug}.png"
            _plot_design_scatter(plt, rows, design.names, metrics[:3], title, path, name)
            figures.append(path)
            sections.append(f"### Design points ({title})\n\n![]({path.name})\n")
    if design is not None and design.kind in ("sobol", "morris"):
        for group, rows in _design_groups(done, definition):
            for metric in metrics[:3] + (["gap"] if has_oracle else []):
                result = _analyze(design, rows, metric)
                if result is None:
                    title = ", ".join(f"{k}={v}" for k, v in group.items()) or "all cells"
                    indices_tables.append(
                        f"### {metric} ({title})\n\nNo indices: {metric} does not vary over the "
                        "design (or some design points failed).\n"
                    )
                    continue
                slug = "_".join([metric, *(str(v) for v in group.values())]).replace("/", "_")
                path = folder / f"{design.kind}_{slug}.png"
                title = ", ".join(f"{k}={v}" for k, v in group.items()) or "all cells"
                _plot_indices(plt, design.kind, design.names, result, metric, title, path)
                figures.append(path)
                indices_tables.append(_indices_table(design.kind, design.names, result, metric,
                                                     title, path.name))  # fmt: skip
    findings = _findings(done, varied, has_oracle)
    failed = int((runs["status"] != "done").sum())
    oracle_note = (
        f" Oracle: `{json.dumps(spec['oracle'], sort_keys=True)}`." if spec.get("oracle") else ""
    )
    header = [f"# Study `{name}`", ""]
    if intro:
        header += [intro.strip(), ""]
    header += [
        f"{len(runs)} cells ({len(done)} done, {failed} failed) from "
        f"`{json.dumps(spec.get('base', {}), sort_keys=True)}`, varying "
        + (", ".join(f"`{p}`" for p in definition.varied()) or "nothing")
        + f", over {len(definition.seeds)} seed(s)."
        + oracle_note,
        "",
        "## Key numbers",
        "",
        *[f"* {line}" for line in findings],
        "",
        "## Figures",
        "",
        *sections,
    ]
    if indices_tables:
        header += ["## Sensitivity indices", "", *indices_tables]
    markdown = folder / "README.md"
    markdown.write_text("\n".join(header).rstrip() + "\n")
    for figure in figures:
        if not figure.exists():  # pragma: no cover - a plot that failed to save
            raise RuntimeError(f"figure {figure} was not written")
    return Report(study=name, markdown=markdown, figures=tuple(figures),
                  findings=tuple(findings))  # fmt: skip


# -- plots ---------------------------------------------------------------------------------------
def _grid_of(n: int) -> tuple[int, int]:
    columns = min(3, n)
    return max(1, math.ceil(n / columns)), max(1, columns)


def _plot_against(plt: Any, done: Any, parameter: str, metrics: list[str], by: str | None,
                  path: Path, study: str) -> None:  # fmt: skip
    rows, columns = _grid_of(len(metrics))
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    numeric = _numeric(list(done[parameter].dropna().unique()))
    lines = sorted(done[by].unique()) if by else [None]
    colours = plt.get_cmap("tab20" if len(lines) > 10 else "tab10")
    pooled = [p for p in done.columns if p == "seed"]
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for index, line in enumerate(lines):
            subset = done if line is None else done[done[by] == line]
            stats = subset.groupby(parameter)[metric].agg(["mean", "std"]).reset_index()
            stats["std"] = stats["std"].fillna(0.0)
            x = stats[parameter] if numeric else np.arange(len(stats))
            colour = colours(index % colours.N)
            label = line if line is not None else metric
            ax.plot(x, stats["mean"], marker="o", markersize=3, color=colour, label=label)
            ax.fill_between(x, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                            color=colour, alpha=0.10, linewidth=0)  # fmt: skip
            if not numeric:
                ax.set_xticks(np.arange(len(stats)), [str(v) for v in stats[parameter]])
                plt.setp(ax.get_xticklabels(), rotation=40, ha="right")
        ax.set_xlabel(_label(parameter))
        ax.set_ylabel(METRICS[metric])
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    spread = "seeds" if done.groupby([parameter, *( [by] if by else [])]).size().max() <= max(
        1, done["seed"].nunique() if pooled else 1
    ) else "seeds and the other varied parameters"  # fmt: skip
    figure.suptitle(f"{study}: metrics against {parameter} (mean, band ± one std over {spread})")
    if by:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="center right", title=by, fontsize="small")
        figure.tight_layout(rect=(0, 0, 0.88, 1))
    else:
        figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_by_scheduler(plt: Any, done: Any, metrics: list[str], path: Path, study: str) -> None:
    rows, columns = _grid_of(len(metrics))
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    schedulers = sorted(done["scheduler"].unique())
    for ax, metric in zip(axes.flat, metrics, strict=False):
        data = [done.loc[done["scheduler"] == s, metric].dropna().to_numpy() for s in schedulers]
        ax.boxplot(data, tick_labels=schedulers)
        ax.set_xlabel("scheduler")
        ax.set_ylabel(METRICS[metric])
        ax.set_title(f"{metric} over all cells")
        plt.setp(ax.get_xticklabels(), rotation=40, ha="right")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    figure.suptitle(f"{study}: each scheduler over every cell")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_gaps(plt: Any, done: Any, path: Path, study: str) -> None:
    solved = done[done["oracle_status"].isin(["optimal", "feasible"])]
    schedulers = sorted(solved["scheduler"].unique()) if "scheduler" in solved else []
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), squeeze=False)
    objective = str(solved["objective_spec"].dropna().iloc[0]) if len(solved) else "objective"
    for ax, (column, label) in zip(axes.flat, GAP_METRICS.items(), strict=True):
        label = label.replace("objective units", f"{objective} units")
        groups = (
            [solved.loc[solved["scheduler"] == s, column].dropna().to_numpy() for s in schedulers]
            if schedulers
            else [solved[column].dropna().to_numpy()]
        )
        ax.boxplot(groups, tick_labels=schedulers or ["all"])
        ax.set_xlabel("scheduler")
        ax.set_ylabel(label)
        ax.set_title(f"{column} per scheduler ({len(solved)} cells)")
        plt.setp(ax.get_xticklabels(), rotation=40, ha="right")
        ax.grid(alpha=0.3)
    figure.suptitle(f"{study}: distance to the oracle")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def performance_profile(done: Any, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per scheduler, (τ values, share of instances where it is within τ of the best)."""
    table = done.pivot_table(index="cell_group", columns="scheduler", values=column,
                             aggfunc="first").dropna()  # fmt: skip
    if table.empty:
        return {}
    excess = table.sub(table.min(axis=1), axis=0)
    taus = np.unique(np.concatenate([[0.0], excess.to_numpy().ravel()]))
    return {
        str(s): (taus, np.array([(excess[s] <= tau + 1e-12).mean() for tau in taus]))
        for s in excess.columns
    }


def _plot_profile(plt: Any, done: Any, column: str, path: Path, study: str) -> None:
    profile = performance_profile(done, column)
    figure, ax = plt.subplots(figsize=(6.5, 4.2))
    for scheduler, (taus, share) in sorted(profile.items()):
        ax.step(taus, share, where="post", label=scheduler)
    ax.set_xlabel(f"τ: excess over the best scheduler's {column}")
    ax.set_ylabel("share of instances within τ")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{study}: performance profile ({column})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_design_scatter(plt: Any, rows: Any, names: list[str], metrics: list[str], title: str,
                         path: Path, study: str) -> None:  # fmt: skip
    """Each metric against each design parameter, one point per design point (mean over
    seeds)."""
    means = rows.groupby("design_index")[[*names, *metrics]].mean()
    size = (3.4 * len(names), 2.8 * len(metrics))
    figure, axes = plt.subplots(len(metrics), len(names), figsize=size, squeeze=False)
    for i, metric in enumerate(metrics):
        for j, name in enumerate(names):
            ax = axes[i][j]
            ax.scatter(means[name], means[metric], s=8, alpha=0.6)
            ax.set_xlabel(_label(name))
            ax.set_ylabel(METRICS[metric] if j == 0 else "")
            ax.grid(alpha=0.3)
    figure.suptitle(f"{study}: design points ({title})")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# -- sensitivity ---------------------------------------------------------------------------------
def _design_groups(done: Any, definition: Any) -> list[tuple[dict[str, Any], Any]]:
    """The rows of each combination of the grid's parameters (each is one design's samples)."""
    keys = [k for k in definition.grid if k in done.columns]
    if not keys:
        return [({}, done)]
    groups = []
    for values, rows in done.groupby(keys, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        groups.append((dict(zip(keys, values, strict=True)), rows))
    return groups


def _analyze(design: Any, rows: Any, metric: str) -> dict[str, Any] | None:
    """SALib's analysis of one metric, averaged over seeds per design point; None when some
    design points have no value (failed cells) or the metric does not vary."""
    if metric not in rows:
        return None
    means = rows.groupby("design_index")[metric].mean()
    samples = design.samples()
    if len(means) != len(samples) or means.isna().any():
        return None
    y = means.sort_index().to_numpy(dtype=float)
    if np.allclose(y, y[0]):
        return None
    if design.kind == "sobol":
        from SALib.analyze import sobol

        return dict(sobol.analyze(design.problem(), y, calc_second_order=False, seed=design.seed))
    from SALib.analyze import morris

    return dict(morris.analyze(design.problem(), samples, y, num_levels=design.levels,
                               seed=design.seed))  # fmt: skip


def _plot_indices(plt: Any, kind: str, names: list[str], result: dict[str, Any], metric: str,
                  title: str, path: Path) -> None:  # fmt: skip
    figure, ax = plt.subplots(figsize=(6.5, 4))
    x = np.arange(len(names))
    if kind == "sobol":
        ax.bar(x - 0.2, result["S1"], 0.4, yerr=result["S1_conf"], capsize=3,
               label="first order S1")  # fmt: skip
        ax.bar(x + 0.2, result["ST"], 0.4, yerr=result["ST_conf"], capsize=3, label="total ST")
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylabel("Sobol index (share of variance)")
        ax.set_xlabel("parameter")
    else:
        ax.errorbar(result["mu_star"], result["sigma"], xerr=result["mu_star_conf"], fmt="o",
                    capsize=3)  # fmt: skip
        for name, mu, sigma in zip(names, result["mu_star"], result["sigma"], strict=True):
            ax.annotate(name, (mu, sigma), textcoords="offset points", xytext=(4, 4))
        ax.set_xlabel(f"μ* (mean |elementary effect| on {metric})")
        ax.set_ylabel("σ (spread of the effects)")
    ax.set_title(f"{metric}: {kind} indices ({title})")
    ax.grid(alpha=0.3)
    if kind == "sobol":
        ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _indices_table(kind: str, names: list[str], result: dict[str, Any], metric: str,
                   title: str, figure: str) -> str:  # fmt: skip
    lines = [f"### {metric} ({title})", ""]
    if kind == "sobol":
        lines += ["| parameter | S1 | ± | ST | ± |", "|---|---|---|---|---|"]
        for i, name in enumerate(names):
            lines.append(f"| `{name}` | {result['S1'][i]:.3f} | {result['S1_conf'][i]:.3f} | "
                         f"{result['ST'][i]:.3f} | {result['ST_conf'][i]:.3f} |")  # fmt: skip
    else:
        lines += ["| parameter | μ* | ± | σ |", "|---|---|---|---|"]
        for i, name in enumerate(names):
            lines.append(
                f"| `{name}` | {result['mu_star'][i]:.4g} | {result['mu_star_conf'][i]:.3g} | "
                f"{result['sigma'][i]:.4g} |"
            )
    lines += ["", f"![]({figure})", ""]
    return "\n".join(lines)


# -- findings ------------------------------------------------------------------------------------
def _findings(done: Any, varied: list[str], has_oracle: bool) -> list[str]:
    """Key numbers, each computed from the rows."""
    lines: list[str] = []
    if done.empty:
        return ["no cell finished"]
    if "scheduler" in done and done["scheduler"].nunique() > 1:
        means = done.groupby("scheduler")["miss_rate"].mean().sort_values()
        lines.append(
            "mean miss rate by scheduler, best first: "
            + ", ".join(f"{s} {v:.3f}" for s, v in means.items())
        )
    for parameter in [p for p in varied if p != "scheduler"]:
        stats = done.groupby(parameter)["miss_rate"].mean()
        if len(stats) > 1:
            lines.append(
                f"miss rate against `{parameter}`: "
                + ", ".join(f"{k}: {v:.3f}" for k, v in stats.items())
            )
    if has_oracle:
        solved = done[done["oracle_status"].notna()]
        groups = solved.drop_duplicates("cell_group")
        proven = int((groups["oracle_status"] == "optimal").sum())
        lines.append(f"the oracle proved optimality on {proven} of {len(groups)} instances")
        if "scheduler" in solved:
            excess = solved.groupby("scheduler")["excess"].agg(["median", "max"])
            lines.append(
                "certified excess over the oracle (median / max), by scheduler: "
                + ", ".join(
                    f"{s} {r['median']:.3g} / {r['max']:.3g}" for s, r in excess.iterrows()
                )
            )
    return lines

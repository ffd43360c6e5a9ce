"""RELMAS's evaluation (docs/schedulers/relmas.md): held-out traces of the multi-tenant scenarios,
the XRBench scenarios, the oracle, and the ablations, written as markdown tables.

    python scripts/relmas_eval.py --out docs/schedulers/relmas \
        [--ablation NAME=CHECKPOINT ...] [--seeds 5] [--workers 2]

Held out from training (which draws its traces from the training seed and validates on seeds
9001-9002, 200 ms each, loads 0.5-1.5 on hetero-2s2e): seeds 101..100+N of the whole 1 s
scenarios, at their stock load (1.0) and at 1.75 (outside the training range), on hetero-2s2e and
on hetero-4s4e (a system it never saw). Every schedule goes through the validator.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt import compute_metrics, load_workload, make_scheduler, replay, validate
from rtmm_opt.studies.comparison import compare

SCENARIOS = ("light", "medium", "heavy")
LOADS = (1.0, 1.75)
SYSTEMS = ("hetero-2s2e", "hetero-4s4e")
HEURISTICS = ("fcfs", "edf", "rr", "llf", "sjf", "prema", "planaria", "sdrm3", "dysta",
              "dysta_naive", "dream", "herald", "xrbench")  # fmt: skip
XRBENCH = ("VR_gaming", "AR_gaming", "AR_Assistant", "outdoor_activity_A",
           "outdoor_activity_B", "social_interactionA", "social_interactionB")  # fmt: skip


def run_one(case: tuple[str, float, str, int, str, dict[str, Any]]) -> dict[str, Any]:
    workload, load, system, seed, name, params = case
    instance = load_workload(workload, system=system, seed=seed, fps_scale=load)
    options = {key: value for key, value in params.items() if key != "label"}
    schedule = replay(instance, make_scheduler(name, options), check=False)
    report = validate(instance, schedule)
    if not report.ok:
        raise AssertionError(f"{name} {workload} {seed}: {report}")
    m = compute_metrics(instance, schedule)
    return {
        "workload": workload, "load": load, "system": system, "seed": seed,
        "scheduler": name, "label": params.get("label", name),
        "sla_rate": m.sla_rate, "energy_mJ": m.energy_mJ, "utilisation": m.utilisation,
        "xrbench_score": m.xrbench_score, "jobs": m.jobs,
    }  # fmt: skip


def relmas_cases(ablations: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = [("relmas", {"label": "relmas"})]
    for label, policy in ablations.items():
        params: dict[str, Any] = {"label": label}
        if policy.startswith("cycle_us="):
            params["cycle_us"] = float(policy.split("=", 1)[1])
        elif policy == "keep_late":
            params["drop_late"] = False
        else:
            params["policy"] = policy
        cases.append(("relmas", params))
    return cases


def mean(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.fmean(row[key] for row in rows)


def table(rows: list[dict[str, Any]], group: tuple[str, ...]) -> list[str]:
    """Per group: each label's mean SLA rate, energy and utilisation; the best heuristic."""
    by: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        by[tuple(row[g] for g in group)][row["label"]].append(row)
    lines = [
        "| " + " | ".join(group) + " | best heuristic | its SLA | its energy (mJ) | relmas SLA | "
        "relmas energy (mJ) | energy vs best | relmas util. | best util. |",
        "|" + "---|" * (len(group) + 9),
    ]
    for key, runs in sorted(by.items()):
        heuristic = max(
            (h for h in HEURISTICS if h in runs),
            key=lambda h: (round(mean(runs[h], "sla_rate"), 9), -mean(runs[h], "energy_mJ")),
        )
        best, ours = runs[heuristic], runs["relmas"]
        e_best, e_ours = mean(best, "energy_mJ"), mean(ours, "energy_mJ")
        lines.append(
            "| "
            + " | ".join(str(k) for k in key)
            + f" | {heuristic} | {mean(best, 'sla_rate'):.4f} | {e_best:.1f} | "
            f"{mean(ours, 'sla_rate'):.4f} | {e_ours:.1f} | {100 * (e_ours / e_best - 1):+.1f} % | "
            f"{mean(ours, 'utilisation'):.3f} | {mean(best, 'utilisation'):.3f} |"
        )
    return lines


def full_table(rows: list[dict[str, Any]], labels: list[str]) -> list[str]:
    """Every scheduler's mean SLA rate / energy per scenario and load (one system's rows)."""
    cols = sorted({(r["workload"], r["load"]) for r in rows})
    head = "| scheduler | " + " | ".join(f"{Path(w).stem} ×{lo}" for w, lo in cols) + " |"
    lines = [head, "|---|" + "---|" * len(cols)]
    for label in labels:
        cells = []
        for w, lo in cols:
            runs = [
                r for r in rows if r["label"] == label and r["workload"] == w and r["load"] == lo
            ]
            cells.append(f"{mean(runs, 'sla_rate'):.3f} / {mean(runs, 'energy_mJ'):.0f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def summary_table(rows: list[dict[str, Any]], labels: list[str]) -> list[str]:
    """Per scheduler and system: mean SLA rate, energy and utilisation over all traces."""
    lines = ["| scheduler | " + " | ".join(f"{s}: SLA / energy (mJ) / util." for s in SYSTEMS)
             + " |", "|---|" + "---|" * len(SYSTEMS)]  # fmt: skip
    for label in labels:
        cells = []
        for system in SYSTEMS:
            runs = [r for r in rows if r["label"] == label and r["system"] == system]
            cells.append(f"{mean(runs, 'sla_rate'):.4f} / {mean(runs, 'energy_mJ'):.0f} / "
                         f"{mean(runs, 'utilisation'):.3f}")  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def oracle_rows(seeds: int) -> list[str]:
    """``rtmm compare`` (objective: missed jobs) on 30 ms traces the oracle can solve."""
    lines = [
        "| scenario | seed | jobs | oracle misses (bound) | status | relmas "
        "| best heuristic (misses) |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        for seed in range(101, 101 + min(seeds, 2)):
            instance = load_workload(f"instances/multitenant/{scenario}.yaml", system="hetero-2s2e",
                                     seed=seed, duration_ns=30_000_000)  # fmt: skip
            result = compare(instance, ["relmas", *HEURISTICS], "misses", time_limit=30.0,
                             workers=2, seed=0)  # fmt: skip
            rows = {r.name: r for r in result.schedulers}
            best = min(HEURISTICS, key=lambda h: rows[h].objective)
            oracle = result.oracle
            lines.append(
                f"| {scenario} | {seed} | {instance.n_jobs} | {oracle.objective} "
                f"({oracle.bound}) | {oracle.status} | {rows['relmas'].objective} | "
                f"{best} ({rows[best].objective}) |"
            )
    return lines


def learning_curves(curves: list[Path], out: Path) -> list[str]:
    """One plot of several training runs: episode SLA rate (smoothed) and validation SLA rate
    against training steps; a table of each run's best validation score and where it was."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    lines = ["| run | episodes | best validation SLA rate | at step | last 20 episodes' SLA rate |",
             "|---|---|---|---|---|"]  # fmt: skip
    for path in curves:
        rows = list(csv.DictReader(path.open()))
        steps = np.array([int(r["step"]) for r in rows])
        sla = np.array([float(r["sla_rate"]) for r in rows])
        window = 25
        smooth = np.convolve(sla, np.ones(window) / window, mode="valid")
        name = path.name.removesuffix(".curve.csv")
        left.plot(steps[window - 1 :], smooth, label=name)
        validation = [(int(r["step"]), float(r["validation"])) for r in rows
                      if r["validation"] != "nan"]  # fmt: skip
        steps_v = [s for s, _ in validation]
        right.plot(steps_v, [v for _, v in validation], label=name)
        best_v, best_s = max(((v, s) for s, v in validation), default=(float("nan"), 0))
        lines.append(f"| {name} | {len(rows)} | {best_v:.4f} | {best_s} | {sla[-20:].mean():.4f} |")
    left.set_title("training episodes (SLA rate, mean of 25)")
    right.set_title("validation traces (mean SLA rate)")
    for ax in (left, right):
        ax.set_xlabel("training step (decision points)")
        ax.grid(alpha=0.3)
    left.set_ylabel("SLA rate")
    right.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ablation", action="append", default=[], metavar="NAME=CHECKPOINT")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-oracle", action="store_true")
    parser.add_argument("--curves", nargs="*", type=Path, default=[], metavar="X.curve.csv")
    args = parser.parse_args()
    ablations = dict(item.split("=", 1) for item in args.ablation)
    args.out.mkdir(parents=True, exist_ok=True)
    variants = relmas_cases(ablations)
    labels = [*HEURISTICS, *(p["label"] for _, p in variants)]
    cases = []
    for system in SYSTEMS:
        for scenario in SCENARIOS:
            for load in LOADS:
                for seed in range(101, 101 + args.seeds):
                    workload = f"instances/multitenant/{scenario}.yaml"
                    runs = [(h, {}) for h in HEURISTICS] + variants
                    cases += [(workload, load, system, seed, n, p) for n, p in runs]
    for scenario in XRBENCH:
        cases += [
            (scenario, 1.0, "xrb4k-J", 0, n, p)
            for n, p in [(h, {}) for h in HEURISTICS] + variants[:1]
        ]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(run_one, cases, chunksize=8))
    for row in rows:  # six digits are enough for tables of four
        for key in ("sla_rate", "energy_mJ", "utilisation", "xrbench_score"):
            row[key] = round(row[key], 6)
    lines = ",\n".join(json.dumps(row, separators=(",", ":")) for row in rows)
    (args.out / "evaluation.json").write_text(f"[\n{lines}\n]\n")
    multi = [r for r in rows if r["workload"].startswith("instances/multitenant")]
    xr = [r for r in rows if not r["workload"].startswith("instances/multitenant")]
    seeds = f"seeds 101-{100 + args.seeds}"
    out = ["# RELMAS evaluation tables", "",
           "Written by `python scripts/relmas_eval.py`; docs/schedulers/relmas.md reads them.",
           "", f"## Held-out multi-tenant traces ({seeds}, 1 s, mean over seeds)", ""]  # fmt: skip
    out += table(multi, ("system", "workload", "load"))
    out += [
        "",
        "## Means over every held-out multi-tenant trace (3 scenarios × 2 loads × seeds)",
        "",
    ]
    out += summary_table(multi, labels)
    for system in SYSTEMS:
        out += ["", f"## Every scheduler and ablation on {system} (SLA rate / energy mJ, mean "
                "over seeds)", ""]  # fmt: skip
        out += full_table([r for r in multi if r["system"] == system], labels)
    out += ["", "## XRBench scenarios (xrb4k-J, seed 0): SLA rate = frames on time", ""]
    out += table(xr, ("workload",))
    out += ["", "XRBench score (higher is better):", "",
            "| scenario | " + " | ".join([*HEURISTICS, "relmas"]) + " |",
            "|---|" + "---|" * (len(HEURISTICS) + 1)]  # fmt: skip
    for scenario in XRBENCH:
        score = {r["label"]: r["xrbench_score"] for r in xr if r["workload"] == scenario}
        out.append(
            f"| {scenario} | "
            + " | ".join(f"{score[h]:.1f}" for h in [*HEURISTICS, "relmas"])
            + " |"
        )
    if not args.no_oracle:
        out += [
            "",
            "## Against the oracle (`rtmm compare`, objective: missed requests, 30 ms traces, "
            "hetero-2s2e)",
            "",
        ]
        out += oracle_rows(args.seeds)
    if args.curves:
        out += ["", "## Learning curves (learning_curves.png)", ""]
        out += learning_curves(args.curves, args.out)
    (args.out / "evaluation.md").write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()

"""The hard-instance search against random sampling at equal budget (docs/hard_instances.md).

For each target (default ``edf`` and ``dream``) and seed (default 0, 1, 2), runs
:func:`rtmm_opt.studies.generate.generate` twice with the same number of screened points: once
with Optuna's TPE sampler (the search) and once with its random sampler (the baseline). Every
screened point is already certified: its UB comes from a validated schedule, so ``H − UB`` is a
proven lower bound on the target's excess over the optimum. The budget is a number of
evaluations, not seconds, so the figures do not depend on the machine or its load (every oracle
solve runs in CP-SAT's deterministic time).

Prints, per target and seed, the best score each found (the quantity searched:
``(H − UB) / (UB + u)``, u the mean job weight), the best absolute certified gap (H − UB,
weighted misses) and the best share of the job weight missed needlessly ((H − UB) / S, the
score before), and the ratio search / random of the best scores; then the median ratios over
seeds per target. Target of issue 12: a median ratio of best scores of at least 1.5.

    python benchmarks/bench_generate.py [--trials 60] [--workers 2] [--seeds 0,1,2]
        [--targets edf,dream] [--json F.json] [--plot F.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from rtmm_opt.studies.generate import GenerateConfig, evaluated, generate


def best_of(out: Path, key: str) -> float:
    """The largest value of a recorded field (``certified_gap``, ``share``) over the run."""
    import optuna

    storage = f"sqlite:///{out / 'search.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    values = [t.user_attrs.get(key) for t in evaluated(study)]
    return max((float(v) for v in values if v is not None), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--targets", default="edf,dream")
    parser.add_argument("--json", help="write every run's history here")
    parser.add_argument("--plot", help="best score against evaluations, search against random")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    targets = args.targets.split(",")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for target in targets:
            for seed in seeds:
                row = {"target": target, "seed": seed}
                for mode in ("tpe", "random"):
                    out = Path(tmp) / f"{target}-{seed}-{mode}"
                    began = time.perf_counter()
                    result = generate(GenerateConfig(target=target, out=out, trials=args.trials,
                                                     count=0, seed=seed, workers=args.workers,
                                                     mode=mode))  # fmt: skip
                    row[mode] = {
                        "best_score": result.best_score or 0.0,
                        "best_certified_gap": best_of(out, "certified_gap"),
                        "best_share": best_of(out, "share"),
                        "history": result.history, "failed": result.failed,
                        "wall_s": time.perf_counter() - began,
                    }  # fmt: skip
                tpe, rnd = row["tpe"]["best_score"], row["random"]["best_score"]
                row["ratio"] = tpe / rnd if rnd > 0 else float("inf")
                runs.append(row)
                gap = row["tpe"]["best_certified_gap"]
                base = row["random"]["best_certified_gap"]
                print(f"{target} seed {seed}: search {tpe:.4f} (gap {gap:g}), "
                      f"random {rnd:.4f} (gap {base:g}), "
                      f"ratio {row['ratio']:.3f}  [{row['tpe']['wall_s']:.0f} s + "
                      f"{row['random']['wall_s']:.0f} s]", flush=True)  # fmt: skip
    print(f"\n{args.trials} evaluations per run, {args.workers} workers")
    print(table(runs))
    for target in targets:
        ratios = [r["ratio"] for r in runs if r["target"] == target]
        gap_ratios = [r["tpe"]["best_certified_gap"] / r["random"]["best_certified_gap"]
                      if r["random"]["best_certified_gap"] > 0 else float("inf")
                      for r in runs if r["target"] == target]  # fmt: skip
        print(f"{target}: median ratio of best scores {statistics.median(ratios):.3f}, "
              f"of best absolute certified gaps {statistics.median(gap_ratios):.3f} "
              f"(target ≥ 1.5)")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    if args.plot:
        plot(runs, targets, Path(args.plot))


def table(runs: list[dict]) -> str:
    """The Markdown table of docs/hard_instances.md."""
    lines = ["| target | seed | search: best score | H − UB | share | random: best score "
             "| H − UB | share | ratio of scores |", "|---|---|---|---|---|---|---|---|---|"]
    for row in runs:
        tpe, rnd = row["tpe"], row["random"]
        lines.append(f"| {row['target']} | {row['seed']} | {tpe['best_score']:.2f} "
                     f"| {tpe['best_certified_gap']:g} | {tpe['best_share']:.3f} "
                     f"| {rnd['best_score']:.2f} | {rnd['best_certified_gap']:g} "
                     f"| {rnd['best_share']:.3f} | {row['ratio']:.3f} |")  # fmt: skip
    return "\n".join(lines)


def plot(runs: list[dict], targets: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.6), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        for row in (r for r in runs if r["target"] == target):
            for mode, color in (("tpe", "tab:red"), ("random", "tab:gray")):
                history = row[mode]["history"]
                if history:
                    xs, ys = zip(*history, strict=True)
                    ax.step(xs, ys, where="post", color=color, alpha=0.8,
                            label=f"{'search (TPE)' if mode == 'tpe' else 'random'}"
                            if row["seed"] == runs[0]["seed"] else None)  # fmt: skip
        ax.set_title(f"target {target}")
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best score (H − UB) / (UB + u)")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()

"""``rtmm train relmas``: train RELMAS's actor with DDPG (or TD3) and write its checkpoint.

Only parses and prints: the training is :func:`rtmm_opt.rl.train.train`
(``docs/schedulers/relmas.md``). Needs the ``rl`` extra (PyTorch, Gymnasium); the checkpoint it
writes runs without them (``rtmm run --scheduler relmas --param policy=FILE``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rtmm_opt.cli.arguments import non_negative_int, positive_int
from rtmm_opt.cli.output import output_path, print_json
from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.units import NS_PER_MS, parse_duration

ALGORITHMS = ("ddpg", "td3")


def register(commands: Any) -> None:
    train = commands.add_parser("train", help="train a learned scheduler (RELMAS)")
    learners = train.add_subparsers(dest="learner", required=True, metavar="SCHEDULER")
    relmas = learners.add_parser(
        "relmas", help="RELMAS: DDPG on the scheduling environment (docs/schedulers/relmas.md)"
    )
    relmas.add_argument(
        "--scenario",
        action="append",
        required=True,
        help="training WORKLOAD (repeatable; one is drawn per episode)",
    )
    relmas.add_argument(
        "--system",
        action="append",
        required=True,
        help="system preset or file (repeatable; one is drawn per episode)",
    )
    relmas.add_argument(
        "--steps", type=positive_int, default=20_000, help="decision points (default 20000)"
    )
    relmas.add_argument(
        "--seed", type=non_negative_int, default=0, help="training seed (default 0)"
    )
    relmas.add_argument("--out", required=True, help="checkpoint file to write (.npz)")
    relmas.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default="ddpg",
        help="ddpg (default) or td3 (twin critics)",
    )
    relmas.add_argument(
        "--expert",
        default="herald",
        help="scheduler whose decisions start the training (demonstrations); 'none' for none",
    )
    relmas.add_argument("--demo-steps", type=non_negative_int, default=2_000,
                        help="steps that follow the expert (default 2000)")  # fmt: skip
    relmas.add_argument(
        "--episode", default="200ms", help="trace length per episode (default 200ms)"
    )
    relmas.add_argument(
        "--load", default="0.5:1.5", help="load factor (fps scale) per episode: X or LOW:HIGH"
    )
    relmas.add_argument("--granularity", default="model", help="model | block:N | layer")
    relmas.add_argument("--cycle-us", type=float, default=0.0,
                        help="scheduling cycle T_s in µs (0: every decision point)")  # fmt: skip
    relmas.add_argument("--mlp", action="store_true", help="ablation: an MLP instead of the LSTM")
    relmas.add_argument(
        "--no-bandwidth", action="store_true", help="ablation: no bandwidth features"
    )
    relmas.add_argument("--quiet", action="store_true", help="no progress bar")
    relmas.add_argument("--json", action="store_true", help="print one JSON object")
    relmas.set_defaults(handler=run_train)


def _load(text: str) -> tuple[float, float]:
    low, _, high = text.partition(":")
    try:
        values = (float(low), float(high or low))
    except ValueError:
        raise InputError(f"expected X or LOW:HIGH, got {excerpt(text)}", field="--load") from None
    if not 0 < values[0] <= values[1] <= 100:
        raise InputError(f"expected 0 < LOW ≤ HIGH ≤ 100, got {excerpt(text)}", field="--load")
    return values


def _episode_ms(text: str) -> float:
    return parse_duration(text, field="--episode") / NS_PER_MS


def run_train(args: argparse.Namespace) -> int:
    try:
        from rtmm_opt.rl.train import TrainConfig, train, write_outputs
    except ImportError as exc:
        raise InputError(
            f"rtmm train needs PyTorch and Gymnasium ({exc.name} is missing): "
            "pip install 'rtmm-opt[rl]'",
            field="train",
        ) from None
    from rtmm_opt.schedulers.registry import scheduler_class

    if not args.out.endswith(".npz"):
        raise InputError("the checkpoint file must end in .npz", file=args.out, field="--out")
    out = output_path(args.out, "--out")
    expert = None if args.expert == "none" else args.expert
    if expert is not None:
        scheduler_class(expert)  # an unknown name is an input error before any work
    from rtmm_opt.hardware.presets import get_system
    from rtmm_opt.instance.workload import read_workload

    for scenario in args.scenario:  # bad inputs are refused before any work
        read_workload(scenario)
    for system in args.system:
        get_system(system)
    if not args.cycle_us >= 0:
        raise InputError(f"expected a non-negative number, got {args.cycle_us}", field="--cycle-us")
    config = TrainConfig(
        scenarios=list(args.scenario),
        system=args.system if len(args.system) > 1 else args.system[0],
        steps=args.steps,
        seed=args.seed,
        duration_ms=_episode_ms(args.episode),
        load=_load(args.load),
        granularity=args.granularity,
        cycle_us=args.cycle_us,
        recurrent=not args.mlp,
        bandwidth=not args.no_bandwidth,
        twin=args.algorithm == "td3",
        expert=expert,
        demo_steps=args.demo_steps if expert else 0,
    )
    bar: Any = None
    if not args.quiet and not args.json:
        from tqdm import tqdm

        bar = tqdm(total=args.steps, unit="step", file=sys.stderr, dynamic_ncols=True)

    def progress(done: int, last: dict[str, float]) -> None:
        if bar is None:
            return
        bar.update(1)
        if last:
            bar.set_postfix(episode=int(last["episode"]), sla=f"{last['sla_rate']:.3f}",
                            refresh=False)  # fmt: skip

    result = train(config, progress=progress)
    if bar is not None:
        bar.close()
    written = write_outputs(result, Path(out))
    tail = result.curve[-10:]
    summary = {
        "checkpoint": str(out),
        "files": [str(p) for p in written],
        "algorithm": result.actor.meta["algorithm"],
        "steps": args.steps,
        "episodes": len(result.curve),
        "sla_rate_last_episodes": (
            round(sum(row["sla_rate"] for row in tail) / len(tail), 6) if tail else None
        ),
        "seconds": round(result.seconds, 2),
    }
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {', '.join(summary['files'])}")
        print(
            f"{summary['episodes']} episodes, {args.steps} steps, {summary['seconds']} s; "
            f"mean SLA rate of the last {len(tail)} episodes: {summary['sla_rate_last_episodes']}"
        )
    return 0

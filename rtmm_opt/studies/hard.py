"""Re-verifying hard instances (``rtmm generate --verify DIR``, ``docs/hard_instances.md``).

:func:`verify` reads every ``*.meta.json`` that :func:`rtmm_opt.studies.generate.generate`
wrote into a folder, loads the instance JSON beside it, checks its content hash, replays the
target and the other schedulers, solves the oracle again with the recorded deterministic limits
and the same warm starts, and compares every recorded number: the target's value, the others',
the oracle's status, UB and LB, and the certified gap. :func:`markdown_table` is the table of
``instances/hard/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtmm_opt.errors import InputError
from rtmm_opt.instance import Instance
from rtmm_opt.io.strict import load_json
from rtmm_opt.oracle import parse_objective
from rtmm_opt.studies.generate import FORMAT, measure

CHECKED = ("target_value", "others", "certified_gap", "gap_interval", "jobs", "ops",
           "instance_hash")  # fmt: skip
ORACLE_CHECKED = ("status", "objective", "bound")


@dataclass(frozen=True)
class Verified:
    """One instance re-verified: its metadata, the numbers measured now, the mismatches."""

    meta_file: Path
    meta: dict[str, Any]
    measured: dict[str, Any]
    mismatches: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def read_meta(path: str | Path) -> dict[str, Any]:
    """A hard instance's metadata file, checked for its format."""
    meta = load_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"not a hard-instance metadata file (format {FORMAT})", file=path,
                         field="format")  # fmt: skip
    for key in ("instance", "target", "objective", "oracle", "others", "target_value"):
        if key not in meta:
            raise InputError("required field is missing", file=path, field=key)
    return meta


def meta_files(folder: str | Path) -> list[Path]:
    """The metadata files of a folder, sorted; InputError if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder", file=folder)
    files = sorted(folder.glob("*.meta.json"))
    if not files:
        raise InputError("no *.meta.json files (written by rtmm generate)", file=folder)
    return files


def verify_one(meta_file: str | Path) -> Verified:
    """Re-run the target, the others and the oracle on one written instance."""
    meta_file = Path(meta_file)
    meta = read_meta(meta_file)
    instance = Instance.load(meta_file.parent / str(meta["instance"]))
    oracle = meta["oracle"]
    measured = measure(instance, str(meta["target"]), list(meta["others"]),
                       parse_objective(str(meta["objective"])), float(oracle["time_limit"]),
                       int(oracle["seed"]))  # fmt: skip
    mismatches = [
        f"{key}: recorded {meta.get(key)!r}, now {measured[key]!r}"
        for key in CHECKED if meta.get(key) != measured[key]
    ]  # fmt: skip
    mismatches += [
        f"oracle.{key}: recorded {oracle.get(key)!r}, now {measured['oracle'][key]!r}"
        for key in ORACLE_CHECKED if oracle.get(key) != measured["oracle"][key]
    ]  # fmt: skip
    return Verified(meta_file, meta, measured, tuple(mismatches))


def verify(folder: str | Path) -> list[Verified]:
    """:func:`verify_one` on every metadata file of ``folder``."""
    return [verify_one(path) for path in meta_files(folder)]


def _number(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:g}" if isinstance(value, float | int) else str(value)


def what_makes_it_hard(meta: dict[str, Any]) -> str:
    """A short description of the instance's parameters: load, deadlines, cascades, dynamics,
    system."""
    point = meta.get("point", {})
    n = int(point.get("n_tasks", 0))
    models = [str(point.get(f"model_{i}", "?")).split("_")[0] for i in range(n)]
    rules = []
    for i in range(n):
        rule = point.get(f"deadline_{i}")
        if rule == "slo":
            rules.append(f"slo {point[f'slo_{i}']:.1f}")
        elif rule == "ms":
            rules.append(f"{point[f'fraction_{i}']:.2f}·P")
        else:
            rules.append("P")
    cascades = sum(bool(point.get(f"cascade_{i}")) for i in range(n))
    dynamic = sorted({str(point.get(f"dynamic_{i}")) for i in range(n)} - {"none"})
    build = meta.get("build", {})
    parts = [
        f"load {meta.get('load', 0):.2f}", f"{n} tasks ({', '.join(models)})",
        f"deadlines {', '.join(rules)}",
        f"{cascades} cascade{'s' if cascades != 1 else ''}",
        f"dynamic: {', '.join(dynamic) or 'none'}",
        f"{build.get('preset')} {build.get('granularity')} {build.get('cost')}",
    ]  # fmt: skip
    return "; ".join(parts)


def markdown_table(folder: str | Path) -> str:
    """The README table of a folder of hard instances (from their metadata)."""
    lines = [
        "| instance | target | jobs | H | UB | LB | oracle | certified gap [H−UB, H−LB] "
        "| best other scheduler | what makes it hard |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in meta_files(folder):
        meta = read_meta(path)
        oracle = meta["oracle"]
        low, high = meta.get("gap_interval", [None, None])
        best = meta.get("best_other") or {}
        lines.append(
            f"| `{meta['instance']}` | {meta['target']} | {meta.get('jobs')} "
            f"| {_number(meta['target_value'])} | {_number(oracle['objective'])} "
            f"| {_number(oracle['bound'])} | {oracle['status']} "
            f"| {_number(meta.get('certified_gap'))} [{_number(low)}, {_number(high)}] "
            f"| {best.get('name', '–')} ({_number(best.get('value'))}) "
            f"| {what_makes_it_hard(meta)} |"
        )
    return "\n".join(lines) + "\n"


def report_rows(results: list[Verified]) -> list[dict[str, Any]]:
    """One row per verified instance, for printing."""
    return [
        {
            "instance": r.meta["instance"], "target": r.meta["target"],
            "H": r.measured["target_value"], "UB": r.measured["oracle"]["objective"],
            "LB": r.measured["oracle"]["bound"], "status": r.measured["oracle"]["status"],
            "certified_gap": r.measured["certified_gap"],
            "best_other": (r.measured["best_other"] or {}).get("name"),
            "ok": r.ok, "mismatches": list(r.mismatches),
        }
        for r in results
    ]  # fmt: skip


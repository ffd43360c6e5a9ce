"""Study files: a base, a grid, an optional design, seeds and an optional oracle, read strictly.

::

    name: smoke
    base: {workload: instances/xrbench/VR_gaming.yaml, system: xrb4k-J, duration: 100ms}
    grid: {scheduler: [edf, dream], fps_scale: [0.5, 1.0]}
    design: {kind: sobol, n: 64, seed: 0, ranges: {dream.alpha: [0, 2], dream.beta: [0, 2]}}
    seeds: [0, 1, 2]
    oracle: {objective: misses, time_limit: 10, workers: 1}

The cells are the base, overridden by every combination of the grid (crossed), by every sample
of the design (crossed with the grid), for every seed. Parameters are the names of
:mod:`rtmm_opt.studies.parameters`. Everything is checked when the file is read, before any cell
runs: an unknown key, parameter, task, scheduler or value is an :class:`InputError` naming the
study file and the key.

A cell's identity is the hash of its effective parameters and its seed (:attr:`Cell.key`), so
re-running a study, or a study that grew, finds the cells already done. Cells that share every
instance-level parameter and the seed share one instance (:attr:`Cell.group`): the instance is
built, and the oracle solved, once for the group.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.strict import Fields, load_yaml
from rtmm_opt.oracle.objectives import parse_objective
from rtmm_opt.studies.parameters import (
    DEFAULTS,
    check_value,
    effective,
    is_instance_level,
    parse_name,
)

DESIGN_KINDS = ("sobol", "morris", "random")
MAX_CELLS = 1_000_000  # a study larger than this is a typo (e.g. a grid crossed by mistake)


@dataclass(frozen=True)
class OracleSpec:
    """The optional oracle block: solve every instance of the study for ``objective``."""

    objective: str = "misses"
    time_limit: float = 10.0
    workers: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"objective": self.objective, "time_limit": self.time_limit,
                "workers": self.workers}  # fmt: skip


@dataclass(frozen=True)
class Design:
    """Samples over continuous ranges: ``sobol`` (Saltelli, first and total order), ``morris``
    (elementary effects), or ``random`` (uniform); ``n`` is SALib's base sample size for sobol
    and morris (trajectories for morris), the number of points for random."""

    kind: str
    n: int
    seed: int
    ranges: tuple[tuple[str, float, float], ...]
    levels: int = 4  # morris grid levels

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.ranges]

    def problem(self) -> dict[str, Any]:
        """SALib's problem dictionary."""
        return {
            "num_vars": len(self.ranges),
            "names": self.names,
            "bounds": [[low, high] for _, low, high in self.ranges],
        }

    def samples(self) -> np.ndarray:
        """The sample matrix, one row per design point, in SALib's order (the analysis needs
        it)."""
        if self.kind == "random":
            rng = np.random.default_rng(self.seed)
            lows = np.array([low for _, low, _ in self.ranges])
            highs = np.array([high for _, _, high in self.ranges])
            return lows + rng.random((self.n, len(self.ranges))) * (highs - lows)
        try:
            from SALib.sample import morris as morris_sample
            from SALib.sample import sobol as sobol_sample
        except ImportError:  # pragma: no cover - the studies extra brings SALib
            raise InputError(
                f"a {self.kind} design needs SALib: pip install 'rtmm-opt[studies]'",
                field="design.kind",
            ) from None
        if self.kind == "sobol":
            return np.asarray(
                sobol_sample.sample(self.problem(), self.n, calc_second_order=False,
                                    seed=self.seed)
            )  # fmt: skip
        return np.asarray(
            morris_sample.sample(self.problem(), self.n, num_levels=self.levels, seed=self.seed)
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n, "seed": self.seed, "levels": self.levels,
                "ranges": {name: [low, high] for name, low, high in self.ranges}}  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One run of a study: its effective parameters and seed (and design point, if any)."""

    params: Mapping[str, Any]
    seed: int
    design_index: int | None = None
    oracle: Mapping[str, Any] | None = None

    @property
    def key(self) -> str:
        """The stable hash that identifies the cell in the results store: its parameters, its
        seed and the study's oracle block (a cell solved with another time limit is another
        cell)."""
        identity: dict[str, Any] = {"params": dict(self.params), "seed": self.seed}
        if self.oracle is not None:
            identity["oracle"] = dict(self.oracle)
        return stable_hash(identity)

    @property
    def group(self) -> str:
        """Cells with equal groups run on the same instance."""
        instance = {k: v for k, v in self.params.items() if is_instance_level(k)}
        return stable_hash({"params": instance, "seed": self.seed})


@dataclass(frozen=True)
class Study:
    """A study file, read and checked (see the module docstring)."""

    name: str
    base: Mapping[str, Any]
    grid: Mapping[str, tuple[Any, ...]]
    seeds: tuple[int, ...]
    design: Design | None = None
    oracle: OracleSpec | None = None
    file: str | None = None
    folder: Path = field(default_factory=Path.cwd)

    def cells(self) -> list[Cell]:
        """Every cell, in a stable order, each once (cells that differ only in another
        scheduler's knobs are one)."""
        keys = list(self.grid)
        combinations = list(itertools.product(*(self.grid[k] for k in keys))) or [()]
        points: list[tuple[int | None, dict[str, Any]]] = [(None, {})]
        if self.design is not None:
            names = self.design.names
            points = [
                (index, {name: _design_value(name, value) for name, value in zip(names, row,
                                                                                strict=True)})
                for index, row in enumerate(self.design.samples())
            ]  # fmt: skip
        seen: set[str] = set()
        cells = []
        for combination in combinations:
            for index, point in points:
                for seed in self.seeds:
                    params = {**self.base, **dict(zip(keys, combination, strict=True)), **point}
                    oracle = self.oracle.to_dict() if self.oracle else None
                    cell = Cell(effective(params), seed, index, oracle)
                    if cell.key not in seen:
                        seen.add(cell.key)
                        cells.append(cell)
        return cells

    def varied(self) -> list[str]:
        """The parameters the study varies (grid keys and design ranges)."""
        return [*self.grid, *(self.design.names if self.design else [])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": dict(self.base),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "design": self.design.to_dict() if self.design else None,
            "seeds": list(self.seeds),
            "oracle": self.oracle.to_dict() if self.oracle else None,
        }


def stable_hash(data: Any) -> str:
    """SHA-256 of canonical JSON, 16 hex digits: equal data, equal hash, on any machine."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _design_value(name: str, value: float) -> Any:
    """A design sample as the parameter takes it (integers rounded)."""
    checked = check_value(name, float(value))
    return checked


def _checked(file: str | Path, where: str, key: Any, value: Any) -> Any:
    try:
        parse_name(key)
    except ValueError as exc:
        raise InputError(str(exc), file=file, field=where.split("[")[0]) from None
    try:
        return check_value(key, value)
    except ValueError as exc:
        raise InputError(str(exc), file=file, field=where) from None
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=where) from None


def read_study(path: str | Path) -> Study:
    """Read and check a study file (see the module docstring)."""
    path = Path(path)
    data = load_yaml(path)
    return study_from_dict(data, file=path, folder=path.resolve().parent)


def study_from_dict(
    data: Any, *, file: str | Path | None = None, folder: Path | None = None
) -> Study:
    """A study from its parsed YAML (see :func:`read_study`)."""
    spec = Fields(data, file=file)
    where = file or "study"
    name = spec.text("name")
    base_fields = spec.mapping("base", default=None)
    base: dict[str, Any] = {}
    if base_fields is not None:
        for key, value in base_fields.data.items():
            base[key] = _checked(where, f"base.{key}", key, value)
            base_fields.raw(key)
        base_fields.done()
    grid: dict[str, tuple[Any, ...]] = {}
    grid_fields = spec.mapping("grid", default=None)
    if grid_fields is not None:
        for key, values in grid_fields.data.items():
            grid_fields.raw(key)
            if not isinstance(values, list) or not values:
                raise InputError("expected a non-empty list of values", file=file,
                                 field=f"grid.{key}")  # fmt: skip
            grid[key] = tuple(
                _checked(where, f"grid.{key}[{i}]", key, value) for i, value in enumerate(values)
            )
            if len(set(map(repr, grid[key]))) != len(grid[key]):
                raise InputError("a value appears twice", file=file, field=f"grid.{key}")
        grid_fields.done()
    design = _read_design(spec, file)
    seeds_raw = spec.raw("seeds", default=[0])
    if not isinstance(seeds_raw, list) or not seeds_raw:
        raise InputError("expected a non-empty list of seeds", file=file, field="seeds")
    seeds = []
    for i, seed in enumerate(seeds_raw):
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise InputError(f"expected a non-negative integer, got {excerpt(seed)}", file=file,
                             field=f"seeds[{i}]")  # fmt: skip
        seeds.append(seed)
    if len(set(seeds)) != len(seeds):
        raise InputError("a seed appears twice", file=file, field="seeds")
    oracle = _read_oracle(spec, file)
    spec.done()
    overlap = set(grid) & set(design.names if design else [])
    if overlap:
        raise InputError(f"'{sorted(overlap)[0]}' is both in the grid and in the design",
                         file=file, field=f"grid.{sorted(overlap)[0]}")  # fmt: skip
    study = Study(name=name, base=base, grid=grid, seeds=tuple(seeds), design=design,
                  oracle=oracle, file=str(file) if file else None,
                  folder=folder or Path.cwd())  # fmt: skip
    if "workload" not in base and "workload" not in grid:
        raise InputError("a study needs a workload, in base or grid", file=file, field="base")
    size = math.prod(len(v) for v in grid.values()) * len(seeds)
    size *= len(design.samples()) if design else 1
    if size > MAX_CELLS:
        raise InputError(f"{size} cells is more than the limit of {MAX_CELLS}", file=file)
    return study


def _read_design(spec: Fields, file: str | Path | None) -> Design | None:
    design = spec.mapping("design", default=None)
    if design is None:
        return None
    kind = design.text("kind", choices=DESIGN_KINDS)
    n = design.integer("n", minimum=1, maximum=1_000_000)
    seed = design.integer("seed", default=0, minimum=0)
    levels = design.integer("levels", default=4, minimum=2, maximum=100)
    ranges_fields = design.mapping("ranges")
    assert ranges_fields is not None
    ranges = []
    for key, bounds in ranges_fields.data.items():
        ranges_fields.raw(key)
        where = f"design.ranges.{key}"
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            or not bounds[0] < bounds[1]
        ):
            raise InputError(
                f"expected [low, high] with low < high, got {excerpt(bounds)}", file=file,
                field=where,
            )  # fmt: skip
        for bound in bounds:
            _checked(file or "study", where, key, bound)
        ranges.append((key, float(bounds[0]), float(bounds[1])))
    ranges_fields.done()
    if not ranges:
        raise InputError("a design needs at least one range", file=file, field="design.ranges")
    design.done()
    return Design(kind=kind, n=n, seed=seed, ranges=tuple(ranges), levels=levels)


def _read_oracle(spec: Fields, file: str | Path | None) -> OracleSpec | None:
    oracle = spec.mapping("oracle", default=None)
    if oracle is None:
        return None
    objective = oracle.text("objective", default="misses")
    try:
        parse_objective(objective)
    except InputError as exc:
        raise InputError(exc.reason, file=file, field="oracle.objective") from None
    limit = oracle.number("time_limit", default=10.0, positive=True, maximum=1e6)
    workers = oracle.integer("workers", default=1, minimum=1, maximum=1024)
    oracle.done()
    return OracleSpec(objective=objective, time_limit=float(limit), workers=int(workers))


def with_defaults(params: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's parameters with the study-wide defaults filled in."""
    return {**DEFAULTS, **params}


def cells_table(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """The cells as rows (for ``--dry-run`` listings)."""
    return [{"key": c.key, "seed": c.seed, **dict(c.params)} for c in cells]

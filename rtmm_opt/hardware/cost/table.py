"""Table cost model: per-layer costs read from a CSV (or CSV.gz), e.g. MAESTRO's output.

Rows are keyed by ``(model, layer_index, hw_config, dataflow, sub_accelerator_index)`` and carry
``cycles`` and ``energy_nJ`` — the columns of XRBench's MAESTRO cost database
(``shared/xrbench/layer_costs.csv.gz``) and of its slimmed copy bundled in
``costs/xrbench_maestro.csv.gz`` (``table:xrbench``). A look-up takes ``hw_config`` and
``dataflow`` from the system's ``origin`` (every ``xrb-*`` preset has them; a system YAML file may
declare them) and the accelerator's index in the system.

Optional columns:

* ``dram_bytes``: the layer's off-chip traffic. MAESTRO's table has none — its ``l2_*`` counts are
  global-buffer accesses, and XRBench models no DRAM — so without the column ``dram_bytes`` is 0
  (no shared-bandwidth contention, as in XRBench).
* ``N,K,C,Y,X,R,S``: when present, every look-up checks that the model's layer has these
  dimensions, so a model that merely shares a name with a table model is not silently mispriced.

Loading is lazy: the constructor reads only the header; the first look-up for a
``(hw_config, dataflow)`` scans the file once, keeps only that pair's rows (a substring test
before CSV parsing, ~0.13 s for the 123,754-row MAESTRO table) and caches them per file, so
other instances on the same file share the work, and on disk (:mod:`rtmm_opt.io.disk_cache`,
keyed by the file's path, modification time and size), so that the next process reads them in
milliseconds. ``validate()`` parses every row.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.hardware.accelerator import System
from rtmm_opt.hardware.cost.base import LayerCost
from rtmm_opt.io import bundled, disk_cache
from rtmm_opt.io.limits import INT_LIMIT, INT_LIMIT_TEXT
from rtmm_opt.io.strict import suggest
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.layer import DIMENSIONS

KEY_COLUMNS = ("model", "layer_index", "hw_config", "dataflow", "sub_accelerator_index")
VALUE_COLUMNS = ("cycles", "energy_nJ")
REQUIRED_COLUMNS = KEY_COLUMNS + VALUE_COLUMNS
DRAM_COLUMN = "dram_bytes"

BUNDLED_NAME = "xrbench_maestro.csv.gz"


def bundled_table_path() -> Path:
    """The bundled ``costs/xrbench_maestro.csv.gz``: XRBench's MAESTRO per-layer costs."""
    return bundled.costs_dir() / BUNDLED_NAME


@dataclass(frozen=True)
class TableRow:
    cycles: float
    energy_nj: float
    dram_bytes: float
    dims: tuple[int, ...] | None
    line: int


# (path, mtime_ns, size, hw_config, dataflow) → rows of that pair, shared by all instances.
_GROUP_CACHE: dict[tuple[Any, ...], dict[tuple[str, int, int], TableRow]] = {}
DISK_KIND = "cost-table-rows"  # the disk cache's entries of one (file, hw_config, dataflow)


def _group_to_json(group: dict[tuple[str, int, int], TableRow]) -> list[list[Any]]:
    return [
        [model, layer, accelerator, row.cycles, row.energy_nj, row.dram_bytes,
         None if row.dims is None else list(row.dims), row.line]
        for (model, layer, accelerator), row in group.items()
    ]  # fmt: skip


def _group_from_json(value: Any) -> dict[tuple[str, int, int], TableRow] | None:
    """A group from :func:`_group_to_json`'s form, or None if it is not that."""
    if not isinstance(value, list):
        return None
    try:
        return {
            (str(model), int(layer), int(accelerator)): TableRow(
                float(cycles), float(energy), float(dram),
                None if dims is None else tuple(int(d) for d in dims), int(line),
            )
            for model, layer, accelerator, cycles, energy, dram, dims, line in value
        }  # fmt: skip
    except (TypeError, ValueError):
        return None


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


class TableCostModel:
    """Per-layer costs from a CSV/CSV.gz table (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"table:{path}"
        self.columns = self._read_header()
        self._index = {column: i for i, column in enumerate(self.columns)}
        missing = [c for c in REQUIRED_COLUMNS if c not in self._index]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)}; a cost table needs "
                f"{', '.join(REQUIRED_COLUMNS)}",
                file=self.path,
                field="line 1",
            )
        self.has_dram = DRAM_COLUMN in self._index
        self.has_dims = all(d in self._index for d in DIMENSIONS)
        self._groups: dict[tuple[str, str], dict[tuple[str, int, int], TableRow]] = {}

    # -- reading ----------------------------------------------------------------------------------
    def _read_header(self) -> list[str]:
        if not self.path.exists():
            raise InputError("no such file", file=self.path)
        if self.path.is_dir():
            raise InputError("is a directory, expected a CSV file", file=self.path)
        try:
            with _open_text(self.path) as stream:
                header = stream.readline()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", file=self.path) from None
        if not header.strip():
            raise InputError("file is empty", file=self.path)
        columns = next(csv.reader([header]))
        return [c.strip() for c in columns]

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) of every data line."""
        try:
            with _open_text(self.path) as stream:
                stream.readline()
                yield from enumerate(stream, start=2)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", file=self.path) from None

    def _parse(
        self, number: int, fields: list[str]
    ) -> tuple[tuple[str, int, str, str, int], TableRow]:
        if len(fields) != len(self.columns):
            raise InputError(
                f"expected {len(self.columns)} columns, got {len(fields)}",
                file=self.path,
                field=f"line {number}",
            )

        def value(column: str, *, integer: bool = False) -> float:
            text = fields[self._index[column]].strip()
            try:
                number_value = int(text) if integer else float(text)
            except ValueError:
                kind = "an integer" if integer else "a number"
                raise InputError(
                    f"expected {kind}, got {excerpt(text)}",
                    file=self.path,
                    field=f"line {number}, column {column}",
                ) from None
            if not integer and not math.isfinite(number_value):
                raise InputError(
                    f"expected a finite number, got {excerpt(text)}",
                    file=self.path,
                    field=f"line {number}, column {column}",
                )
            if number_value < 0:
                raise InputError(
                    f"must be >= 0, got {excerpt(text)}",
                    file=self.path,
                    field=f"line {number}, column {column}",
                )
            if number_value > INT_LIMIT:  # costs become int64 time units, nJ and bytes
                raise InputError(
                    f"{excerpt(text)} is above the limit {INT_LIMIT_TEXT} of integer quantities",
                    file=self.path,
                    field=f"line {number}, column {column}",
                )
            return number_value

        key = (
            fields[self._index["model"]].strip(),
            int(value("layer_index", integer=True)),
            fields[self._index["hw_config"]].strip(),
            fields[self._index["dataflow"]].strip(),
            int(value("sub_accelerator_index", integer=True)),
        )
        dims = tuple(int(value(d, integer=True)) for d in DIMENSIONS) if self.has_dims else None
        row = TableRow(
            cycles=value("cycles"),
            energy_nj=value("energy_nJ"),
            dram_bytes=value(DRAM_COLUMN) if self.has_dram else 0.0,
            dims=dims,
            line=number,
        )
        return key, row

    def _group(self, hw_config: str, dataflow: str) -> dict[tuple[str, int, int], TableRow]:
        """The rows of one (hw_config, dataflow), keyed by (model, layer_index, accelerator):
        from this process's cache, else the disk cache (:mod:`rtmm_opt.io.disk_cache`), else
        the file."""
        group = self._groups.get((hw_config, dataflow))
        if group is not None:
            return group
        key = [*disk_cache.file_stamp(self.path), hw_config, dataflow]
        cache_key = tuple(key)
        group = _GROUP_CACHE.get(cache_key)
        if group is None:
            group = _group_from_json(disk_cache.load(DISK_KIND, key))
            if group is None:
                group = self._scan_group(hw_config, dataflow)
                disk_cache.store(DISK_KIND, key, _group_to_json(group))
            _GROUP_CACHE[cache_key] = group
        self._groups[(hw_config, dataflow)] = group
        return group

    def _scan_group(self, hw_config: str, dataflow: str) -> dict[tuple[str, int, int], TableRow]:
        """Read one pair's rows from the file."""
        group: dict[tuple[str, int, int], TableRow] = {}
        for number, line in self._lines():
            # cheap necessary condition first: most lines belong to other pairs
            if hw_config not in line or dataflow not in line:
                continue
            fields = next(csv.reader([line]))
            key, row = self._parse(number, fields)
            if key[2] != hw_config or key[3] != dataflow:
                continue
            short = (key[0], key[1], key[4])
            if short in group:
                raise InputError(
                    f"duplicate row for {key} (also on line {group[short].line})",
                    file=self.path,
                    field=f"line {number}",
                )
            group[short] = row
        return group

    def validate(self) -> int:
        """Parse every row (types, ranges, duplicates); return the number of rows."""
        seen: dict[tuple[str, int, str, str, int], int] = {}
        rows = 0
        for number, line in self._lines():
            if not line.strip():
                continue
            fields = next(csv.reader([line]))
            key, row = self._parse(number, fields)
            if key in seen:
                raise InputError(
                    f"duplicate row for {key} (also on line {seen[key]})",
                    file=self.path,
                    field=f"line {number}",
                )
            seen[key] = row.line
            rows += 1
        if rows == 0:
            raise InputError("table has a header but no rows", file=self.path)
        return rows

    def models(self, hw_config: str, dataflow: str) -> dict[str, ModelGraph]:
        """The models a table with dimension columns describes, as chains of ``conv`` layers.

        Enough to price them (costs depend on dims only); the bundled model library has their
        real DAGs. Layer names come from a ``layer_name`` column if present.
        """
        if not self.has_dims:
            raise InputError(
                f"the table has no {','.join(DIMENSIONS)} columns to rebuild layers from",
                file=self.path,
            )
        from rtmm_opt.workload.layer import Layer, LayerType

        names: dict[int, str] = {}
        if "layer_name" in self._index:
            names = self._layer_names(hw_config, dataflow)
        per_model: dict[str, dict[int, TableRow]] = {}
        for (model, layer_index, accelerator), row in self._group(hw_config, dataflow).items():
            if accelerator == 0:
                per_model.setdefault(model, {})[layer_index] = row
        graphs = {}
        for model, rows in sorted(per_model.items()):
            layers = []
            for index in sorted(rows):
                n, k, c, y, x, r, s = rows[index].dims or (1,) * 7
                name = names.get(rows[index].line, f"layer{index}")
                layers.append(Layer(name, LayerType.CONV, N=n, K=k, C=c, Y=y, X=x, R=r, S=s))
            graphs[model] = ModelGraph.chain(model, layers, source=str(self.path))
        return graphs

    def _layer_names(self, hw_config: str, dataflow: str) -> dict[int, str]:
        """line number → layer name, for the rows of one (hw_config, dataflow)."""
        lines = {row.line for row in self._group(hw_config, dataflow).values()}
        column = self._index["layer_name"]
        names = {}
        for number, line in self._lines():
            if number in lines:
                names[number] = next(csv.reader([line]))[column].strip()
        return names

    # -- look-ups ---------------------------------------------------------------------------------
    def lookup(
        self, model: str, layer_index: int, hw_config: str, dataflow: str, accelerator_index: int
    ) -> LayerCost:
        """The table's cost for one key; a missing key raises :class:`InputError` naming it."""
        return self._row(model, layer_index, hw_config, dataflow, accelerator_index)[0]

    def _row(
        self, model: str, layer_index: int, hw_config: str, dataflow: str, accelerator_index: int
    ) -> tuple[LayerCost, TableRow]:
        group = self._group(hw_config, dataflow)
        row = group.get((model, layer_index, accelerator_index))
        if row is None:
            raise self._missing(group, model, layer_index, hw_config, dataflow, accelerator_index)
        return LayerCost(row.cycles, row.energy_nj, row.dram_bytes), row

    def _missing(
        self,
        group: dict[tuple[str, int, int], TableRow],
        model: str,
        layer_index: int,
        hw_config: str,
        dataflow: str,
        accelerator_index: int,
    ) -> InputError:
        where = (
            f"no row for model '{model}', layer {layer_index}, hw_config '{hw_config}', "
            f"dataflow '{dataflow}', accelerator {accelerator_index}"
        )
        if not group:
            hint = " (the table has no rows for this hw_config and dataflow)"
        else:
            models = {key[0] for key in group}
            if model not in models:
                hint = f" (model not in table{suggest(model, models)})"
            else:
                layers = sum(1 for key in group if key[0] == model and key[2] == accelerator_index)
                hint = f" (the table has {layers} layers of this model on this accelerator)"
        return InputError(where + hint, file=self.path)

    def layer_cost(
        self, model: ModelGraph, layer_index: int, system: System, accelerator_index: int
    ) -> LayerCost:
        hw_config = system.origin.get("hw_config")
        dataflow = system.origin.get("dataflow")
        if not hw_config or not dataflow:
            raise InputError(
                f"system '{system.name}' has no origin hw_config/dataflow; a table cost model "
                "needs one (use an xrb-* preset, or add origin: {hw_config: ..., dataflow: ...} "
                "to the system file)",
                file=self.path,
                field="origin",
            )
        cost, row = self._row(model.name, layer_index, hw_config, dataflow, accelerator_index)
        if row.dims is not None:
            layer = model.layer(layer_index)
            dims = tuple(getattr(layer, d) for d in DIMENSIONS)
            if dims != row.dims:
                shown = ", ".join(f"{d}={v}" for d, v in zip(DIMENSIONS, row.dims, strict=True))
                mine = ", ".join(f"{d}={v}" for d, v in zip(DIMENSIONS, dims, strict=True))
                raise InputError(
                    f"model '{model.name}' layer {layer_index} ({layer.name}) has {mine}, but the "
                    f"table row has {shown}: the table describes a different model",
                    file=self.path,
                    field=f"line {row.line}",
                )
        return cost

    def __repr__(self) -> str:
        return f"TableCostModel({excerpt(str(self.path))})"

"""Import the Dysta simulator's inputs: latency tables and request tables → an :class:`Instance`.

The simulator is ``dysta_scheduler/`` of ``SamsungLabs/Sparse-Multi-DNN-Scheduling`` (Fan et
al., "Sparse-DySta", MICRO'23), commit ``b9f1913``. ``shared/dysta/README.md`` writes down its
semantics; the section numbers below are that README's. ``docs/dysta.md`` explains the whole
reproduction (importer, engine mode, validator rule, schedulers, metrics).

* **Latency tables** (§1): one CSV per model (the file stem is the model name), one row per
  (sample, layer). Two formats, told apart by their header: EyerissV2 (``sim_lat`` is the
  layer latency in seconds, ``overall-sparsity`` the activation sparsity) and Sanger (the
  latency is :func:`sanger_latency` of the density ``overall-sparsity`` and the load balance
  ``50%-skip``; the stored sparsity is 1 − density).
* **Derived tables** (§2, :func:`read_tables`): per-pattern layer averages avgLatPattern and
  avgSp, the mean isolated latency meanE2E, and per architecture (EyerissV2: the file stem
  before the first underscore; Sanger: the file itself) avgLatModel and targetLat. Every value
  is computed in the simulator's order of floating-point operations, so it is the same float64.
  Grouping sums run over the files in *model order* (the simulator's ``os.listdir`` order,
  which the reference runs record in ``meta/models_<set>.csv``; sorted by file name unless a
  model order is given), which can change their last bit.
* **Requests** (§3.2, §3.3): read from a table in the authors' column format
  (:func:`read_requests`), or generated as the simulator does (:func:`generate_requests`:
  Python ``random`` seeded once, four draws per request, sample ids always 0..6) and written
  back in that format (:func:`write_requests`).
* **The instance** (:func:`build_dysta_instance`): one accelerator, one op per layer (a chain
  per request), job index = request index. Realised durations are the per-sample latencies;
  ``op_predicted`` holds avgLatModel (what ``fcfs``, ``sjf``, ``prema``, ``planaria`` and
  ``sdrm3`` read) and the estimate set ``"pattern"`` avgLatPattern (what ``dysta`` reads);
  ``op_sparsity`` is the stored sparsity of the sample, ``op_sparsity_mean`` avgSp (γ, §4.6).
  Deadlines are the request table's ``deadline_s``. One task per (model, priority), named
  ``<model>@p<priority>``, carries the priority PREMA and Planaria read. ``settings.compat`` is
  ``"dysta"`` (the engine runs the simulator's loop, quirks included) and ``drops`` is
  ``never`` (the simulator runs every request to completion).

**Time unit.** 1 ps by default (``time_unit_ns = 0.001``). Rounding every latency to whole ns
moves Sanger finish times by tens of ns over a busy period, which shifts ANTT by ~1e-7
relative; at 1 ps the reference metrics are reproduced to ~1e-10 (``docs/dysta.md``).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.instance.instance import MIN_TIME_UNIT_NS, Instance, Settings, TaskInfo
from rtmm_opt.io.limits import INT_LIMIT, JOBS, OPS
from rtmm_opt.io.strict import ABSURD, suggest

EYERISS, SANGER = "eyerissv2", "sanger"
EYERISS_COLUMNS = ("sim_lat", "overall-sparsity", "batch-indx", "layer-indx")
SANGER_COLUMNS = ("overall-sparsity", "50%-skip", "batch-indx", "layer-indx")
PRIORITIES = (1, 3, 9)  # PREMA's levels, drawn uniformly (§3.2)
# The simulator draws sample ids with randint(0, 6): the bound is the number of keys (7) of its
# per-model dict, not the number of samples (§3.2, a bug kept on purpose).
SAMPLE_DRAWS = 7
DEFAULT_SEQ_LEN = 512
PICOSECOND_NS = 0.001
PATTERN_ESTIMATES = "pattern"
REQUEST_COLUMNS = (
    "reqst_indx",
    "arrival_s",
    "model",
    "arch",
    "sample_id",
    "priority",
    "target_lat_s",
    "deadline_s",
    "mean_isolated_lat_model_s",
    "real_isolated_lat_s",
    "est_isolated_lat_pattern_s",
    "est_isolated_lat_model_s",
    "n_layers",
)
REQUIRED_REQUEST_COLUMNS = (
    "reqst_indx",
    "arrival_s",
    "model",
    "sample_id",
    "priority",
    "deadline_s",
)
MAX_TIME_UNITS = INT_LIMIT  # times and their sums, as every instance (rtmm_opt.io.limits)


def sanger_latency(density: float, balance: float, seq_len: int = DEFAULT_SEQ_LEN) -> float:
    """Latency in seconds of one Sanger attention layer (README §1.2, ``calc_sanger_latency``).

    ``density`` is the table's ``overall-sparsity`` (the attention-mask density d), ``balance``
    its ``50%-skip`` load-balance factor b, ``seq_len`` the simulator's ``--seq_len`` L. PE
    array TH = TW = 64 with 16 PEs per row, linear throughput G = 64·16·1·2, width W = 768,
    clock 1 GHz, transfer coefficient c = 1 (the 128 GB/s it needs is not below the 128 GB/s
    available). The operations are evaluated in the simulator's order, so the result is the
    same float64 (e.g. d = 0.2, b = 0.8, L = 512: 1.048576 ms).
    """
    th = tw = 64
    width = 768
    frequency = 1e9
    throughput = th * 16 * 1 * 2
    required_bandwidth = tw * 2 * frequency / 1e9
    transfer = 1 if required_bandwidth < 128 else required_bandwidth / 128
    subrows = density / balance / 0.25 * seq_len
    linear = seq_len * width * width * 2 * 3 / 1e9 / throughput
    project = seq_len * width * width * 2 / 1e9 / (throughput / density * balance)
    tile = ((width + tw) + (subrows + tw)) * (seq_len / tw) * transfer
    cycles = (subrows / th) * tile
    return linear + cycles / frequency + project


# -- latency tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelTable:
    """One latency table (one model of the simulator) and its per-pattern averages (§2).

    ``samples`` are the sample ids in order of first appearance; ``latency[k][i]`` and
    ``sparsity[k][i]`` belong to sample ``samples[k]`` and layer i (seconds; stored sparsity).
    """

    model: str
    arch: str
    file: Path
    samples: tuple[int, ...]
    latency: tuple[tuple[float, ...], ...]
    sparsity: tuple[tuple[float, ...], ...]
    avg_latency: tuple[float, ...]  # avgLatPattern
    avg_sparsity: tuple[float, ...]  # avgSp
    mean_isolated: float  # meanE2E

    @property
    def n_layers(self) -> int:
        return len(self.avg_latency)

    def row(self, sample: int) -> int:
        """The index of ``sample`` in ``latency``/``sparsity`` (ValueError if absent)."""
        return self.samples.index(sample)


@dataclass(frozen=True)
class DystaTables:
    """A folder of latency tables with the per-architecture values derived from them (§2)."""

    directory: Path
    format: str  # EYERISS or SANGER
    seq_len: int | None  # Sanger only
    models: tuple[str, ...]  # the model order (the simulator's model list)
    tables: Mapping[str, ModelTable]
    avg_latency_model: Mapping[str, tuple[float, ...]]  # avgLatModel
    target_latency: Mapping[str, float]  # targetLat, the deadline base (§3.3)

    def table(self, model: str) -> ModelTable:
        return self.tables[model]


def read_tables(
    directory: str | Path,
    *,
    seq_len: int = DEFAULT_SEQ_LEN,
    model_order: Sequence[str] | None = None,
    model_order_file: str | Path | None = None,
) -> DystaTables:
    """Read every ``*.csv`` latency table in ``directory`` and derive §2's tables.

    ``model_order`` fixes the model list (the simulator's ``os.listdir`` order; it decides which
    model a random draw picks and the order of the per-architecture sums). It must name every
    table exactly once; ``model_order_file`` is only used in error messages. By default the
    models are sorted by file name. Bad input raises :class:`InputError` naming the file.
    """
    folder = Path(directory)
    if not folder.is_dir():
        reason = "is not a directory" if folder.exists() else "no such directory"
        raise InputError(reason, file=folder)
    files = sorted(path for path in folder.iterdir() if path.suffix == ".csv" and path.is_file())
    if not files:
        raise InputError("no latency tables (*.csv) in this directory", file=folder)
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
        raise InputError(f"must be a positive integer, got {excerpt(seq_len)}", field="seq_len")
    tables: dict[str, ModelTable] = {}
    formats: dict[str, Path] = {}
    for path in files:
        table, kind = _read_table(path, seq_len)
        tables[table.model] = table
        formats.setdefault(kind, path)
    if len(formats) > 1:
        raise InputError(
            f"mixes table formats: {formats[EYERISS].name} is EyerissV2 (sim_lat), "
            f"{formats[SANGER].name} is Sanger (50%-skip); one folder holds one accelerator",
            file=folder,
        )
    kind = next(iter(formats))
    models = _model_order(tables, model_order, model_order_file or folder)
    if kind == SANGER:
        # no grouping: each file is its own "architecture" (§2)
        avg_model = {model: tables[model].avg_latency for model in models}
        target = {model: tables[model].mean_isolated for model in models}
    else:
        avg_model, target = _per_architecture(tables, models)
    return DystaTables(
        directory=folder,
        format=kind,
        seq_len=seq_len if kind == SANGER else None,
        models=models,
        tables=tables,
        avg_latency_model=avg_model,
        target_latency=target,
    )


def _per_architecture(
    tables: Mapping[str, ModelTable], models: Sequence[str]
) -> tuple[dict[str, tuple[float, ...]], dict[str, float]]:
    """avgLatModel and targetLat per file: sample-count-weighted means over its architecture's
    files, summed in model order (the simulator's ``calc_avg_lat_per_model``, §2)."""
    groups: dict[str, list[str]] = {}
    for model in models:
        groups.setdefault(tables[model].arch, []).append(model)
    avg_model: dict[str, tuple[float, ...]] = {}
    target: dict[str, float] = {}
    for arch, members in groups.items():
        layers = {tables[m].n_layers for m in members}
        if len(layers) > 1:
            raise InputError(
                f"the tables of architecture '{arch}' ({', '.join(members)}) have different "
                f"layer counts ({', '.join(map(str, sorted(layers)))}); their per-architecture "
                "averages are undefined",
                file=tables[members[0]].file.parent,
            )
        total_samples = 0
        weighted_target: float = 0
        weighted = np.zeros(layers.pop())
        for model in members:
            count = len(tables[model].samples)
            total_samples += count
            weighted_target += count * tables[model].mean_isolated
            weighted = weighted + count * np.asarray(tables[model].avg_latency)
        average = tuple((weighted / total_samples).tolist())
        for model in members:
            avg_model[model] = average
            target[model] = weighted_target / total_samples
    return avg_model, target


def _model_order(
    tables: Mapping[str, ModelTable], order: Sequence[str] | None, where: str | Path
) -> tuple[str, ...]:
    if order is None:
        return tuple(sorted(tables))
    seen: set[str] = set()
    for name in order:
        if name not in tables:
            raise InputError(
                f"model '{name}' has no latency table{suggest(name, tables)}", file=where
            )
        if name in seen:
            raise InputError(f"model '{name}' is listed twice", file=where)
        seen.add(name)
    missing = sorted(set(tables) - seen)
    if missing:
        raise InputError(
            f"does not list {len(missing)} of the tables' models (first: '{missing[0]}')",
            file=where,
        )
    return tuple(order)


def read_model_order(path: str | Path) -> list[str]:
    """The model list from a CSV with a ``model`` column (e.g. the reference runs'
    ``meta/models_<set>.csv``), in the order of ``model_list_pos`` if present, else of rows."""
    header, rows = _read_csv(Path(path))
    _require_columns(Path(path), header, ("model",))
    if "model_list_pos" in header:
        positions = [
            _integer(Path(path), line, "model_list_pos", row["model_list_pos"], minimum=0)
            for line, row in rows
        ]
        rows = [row for _, row in sorted(zip(positions, rows, strict=True))]
    return [_text(Path(path), line, "model", row["model"]) for line, row in rows]


def _read_table(path: Path, seq_len: int) -> tuple[ModelTable, str]:
    header, rows = _read_csv(path)
    if "sim_lat" in header:
        kind, columns = EYERISS, EYERISS_COLUMNS
    elif "50%-skip" in header:
        kind, columns = SANGER, SANGER_COLUMNS
    else:
        raise InputError(
            "is neither an EyerissV2 table (column sim_lat) nor a Sanger table (column "
            f"50%-skip); header: {','.join(header)}",
            file=path,
            field="header",
        )
    _require_columns(path, header, columns)
    if not rows:
        raise InputError("has a header but no rows", file=path)
    cells: dict[tuple[int, int], tuple[float, float]] = {}
    samples: list[int] = []
    for line, row in rows:
        sample = _integer(path, line, "batch-indx", row["batch-indx"], minimum=0)
        layer = _integer(path, line, "layer-indx", row["layer-indx"], minimum=0)
        if (sample, layer) in cells:
            raise InputError(
                f"sample {sample} layer {layer} appears twice", file=path, field=f"line {line}"
            )
        if kind == EYERISS:
            latency = _number(path, line, "sim_lat", row["sim_lat"], minimum=0.0)
            sparsity = _number(
                path, line, "overall-sparsity", row["overall-sparsity"], minimum=0.0, maximum=1.0
            )
        else:
            density = _number(
                path, line, "overall-sparsity", row["overall-sparsity"], minimum=0.0, maximum=1.0
            )
            balance = _number(path, line, "50%-skip", row["50%-skip"], minimum=0.0, maximum=1.0)
            for column, value in (("overall-sparsity", density), ("50%-skip", balance)):
                if value == 0:
                    raise InputError(
                        "must be > 0 (the Sanger latency divides by it)",
                        file=path,
                        field=f"line {line} ({column})",
                    )
            latency = sanger_latency(density, balance, seq_len)
            sparsity = 1 - density  # Sanger's "sparsity" column is the density (§1.2)
        cells[sample, layer] = (latency, sparsity)
        if sample not in samples:
            samples.append(sample)
    n_layers = max(layer for _, layer in cells) + 1
    latency_rows: list[tuple[float, ...]] = []
    sparsity_rows: list[tuple[float, ...]] = []
    for sample in samples:
        values = []
        for layer in range(n_layers):
            if (sample, layer) not in cells:
                raise InputError(
                    f"sample {sample} has no row for layer {layer} (every sample needs layers "
                    f"0..{n_layers - 1})",
                    file=path,
                )
            values.append(cells[sample, layer])
        latency_rows.append(tuple(v[0] for v in values))
        sparsity_rows.append(tuple(v[1] for v in values))
    model = path.stem
    return (
        ModelTable(
            model=model,
            arch=model if kind == SANGER else model.split("_")[0],
            file=path,
            samples=tuple(samples),
            latency=tuple(latency_rows),
            sparsity=tuple(sparsity_rows),
            avg_latency=_layer_means(latency_rows),
            avg_sparsity=_layer_means(sparsity_rows),
            # np.mean (pairwise summation) of left-to-right per-sample sums, as the simulator
            mean_isolated=float(np.mean([sum(row) for row in latency_rows])),
        ),
        kind,
    )


def _layer_means(rows: Sequence[Sequence[float]]) -> tuple[float, ...]:
    """Elementwise sum over the samples in order, then one division (§2, bit-exact)."""
    total = np.zeros(len(rows[0]))
    for row in rows:
        total = total + np.asarray(row)
    return tuple(np.divide(total, len(rows)).tolist())


# -- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request (task) of the simulator: a (model, sample) pair with a priority (§3.2)."""

    index: int
    arrival_s: float
    model: str
    sample_id: int
    priority: int
    deadline_s: float
    target_latency_s: float | None = None  # slo_mult × targetLat, when known


def check_request_count(
    tables: DystaTables, count: int, *, file: str | Path | None = None, field: str | None = None
) -> None:
    """Refuse ``count`` requests above the jobs limit, or whose layer ops (at most the largest
    table's layers each) would pass the ops limit (``rtmm_opt.io.limits``; a request is a job)."""
    JOBS.check(count, "the requests (one job each)", file=file, field=field)
    layers = max(table.n_layers for table in tables.tables.values())
    OPS.check(
        count * layers, f"{count:,} requests of up to {layers} layers", file=file, field=field
    )


def generate_requests(
    tables: DystaTables, *, rate: float, count: int, seed: int, slo_mult: float
) -> list[Request]:
    """``count`` Poisson requests exactly as the simulator draws them (§3.2, §3.3).

    ``random.Random(seed)``; per request, in this order: the inter-arrival time
    ``expovariate(rate)`` added to the previous arrival, the model (uniform over
    ``tables.models``), the priority (uniform over 1, 3, 9) and the sample id (``randint(0,
    6)``, whatever the number of samples). The deadline is ``arrival + slo_mult ×
    targetLat[model]`` (the product first). The simulator generates one continuous stream per
    seed, so a table equals the reference runs' only for one rate per invocation, as they ran.
    """
    for name, value in (("rate", rate), ("slo_mult", slo_mult)):
        positive = isinstance(value, int | float) and math.isfinite(value) and value > 0
        if isinstance(value, bool) or not positive:
            raise InputError(f"must be a positive number, got {excerpt(value)}", field=name)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"must be a positive integer, got {excerpt(count)}", field="requests")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"must be an integer, got {excerpt(seed)}", field="seed")
    check_request_count(tables, count, field="requests")
    rng = random.Random(seed)
    models = tables.models
    requests = []
    arrival = 0.0
    for index in range(count):
        arrival += rng.expovariate(rate)
        model = models[rng.randint(0, len(models) - 1)]
        priority = PRIORITIES[rng.randint(0, len(PRIORITIES) - 1)]
        sample = rng.randint(0, SAMPLE_DRAWS - 1)
        table = tables.table(model)
        if sample not in table.samples:
            raise InputError(
                f"request {index} draws sample {sample}, which this table does not have; the "
                f"simulator draws sample ids 0..{SAMPLE_DRAWS - 1} whatever the table holds, so "
                f"every table needs samples 0..{SAMPLE_DRAWS - 1}",
                file=table.file,
            )
        target = tables.target_latency[model] * slo_mult
        requests.append(Request(index, arrival, model, sample, priority, arrival + target, target))
    return requests


def read_requests(path: str | Path, tables: DystaTables) -> list[Request]:
    """A request table in the authors' column format (``reference/requests_*.csv``).

    Required columns: ``reqst_indx`` (0, 1, 2, ... in row order: it becomes the job index),
    ``arrival_s`` (non-decreasing), ``model`` (a table's stem), ``sample_id`` (a sample of that
    table), ``priority`` (a positive integer) and ``deadline_s`` (after the arrival). Other
    columns are optional; ``n_layers`` and ``target_lat_s`` are checked or kept when present.
    """
    file = Path(path)
    header, rows = _read_csv(file)
    _require_columns(file, header, REQUIRED_REQUEST_COLUMNS)
    if not rows:
        raise InputError("has a header but no requests", file=file)
    check_request_count(tables, len(rows), file=file)
    requests = []
    previous = 0.0
    for position, (line, row) in enumerate(rows):
        index = _integer(file, line, "reqst_indx", row["reqst_indx"], minimum=0)
        if index != position:
            raise InputError(
                f"expected request {position} here (requests are listed in order 0, 1, 2, ...), "
                f"got {index}",
                file=file,
                field=f"line {line} (reqst_indx)",
            )
        arrival = _number(file, line, "arrival_s", row["arrival_s"], minimum=0.0)
        if arrival < previous:
            raise InputError(
                f"arrival {excerpt(arrival)} is before the previous request's "
                f"{excerpt(previous)}; requests must be in arrival order",
                file=file,
                field=f"line {line} (arrival_s)",
            )
        previous = arrival
        model = _text(file, line, "model", row["model"])
        if model not in tables.tables:
            raise InputError(
                f"unknown model {excerpt(model)}{suggest(model, tables.tables)}; the tables in "
                f"{tables.directory} are {', '.join(tables.models)}",
                file=file,
                field=f"line {line} (model)",
            )
        table = tables.table(model)
        sample = _integer(file, line, "sample_id", row["sample_id"], minimum=0)
        if sample not in table.samples:
            raise InputError(
                f"{table.file.name} has no sample {sample} (it has "
                f"{', '.join(map(str, table.samples))})",
                file=file,
                field=f"line {line} (sample_id)",
            )
        priority = _integer(file, line, "priority", row["priority"], minimum=1)
        deadline = _number(file, line, "deadline_s", row["deadline_s"])
        if not deadline > arrival:
            raise InputError(
                f"deadline {excerpt(deadline)} is not after the arrival {excerpt(arrival)}",
                file=file,
                field=f"line {line} (deadline_s)",
            )
        if row.get("n_layers", "") != "":
            layers = _integer(file, line, "n_layers", row["n_layers"], minimum=1)
            if layers != table.n_layers:
                raise InputError(
                    f"says {layers} layers, but {table.file.name} has {table.n_layers}",
                    file=file,
                    field=f"line {line} (n_layers)",
                )
        target = None
        if row.get("target_lat_s", "") != "":
            target = _number(file, line, "target_lat_s", row["target_lat_s"], minimum=0.0)
        requests.append(Request(index, arrival, model, sample, priority, deadline, target))
    return requests


def write_requests(path: str | Path, requests: Sequence[Request], tables: DystaTables) -> None:
    """Write ``requests`` in the authors' column format (:data:`REQUEST_COLUMNS`), floats as
    Python ``repr`` (round-trip exact), like the reference runs' ``requests_*.csv``."""
    file = Path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)  # the csv module's \r\n, as the reference files
            writer.writerow(REQUEST_COLUMNS)
            for request in requests:
                table = tables.table(request.model)
                target = request.target_latency_s
                writer.writerow(
                    [
                        request.index,
                        repr(request.arrival_s),
                        request.model,
                        table.arch,
                        request.sample_id,
                        request.priority,
                        "" if target is None else repr(target),
                        repr(request.deadline_s),
                        repr(tables.target_latency[request.model]),
                        repr(sum(table.latency[table.row(request.sample_id)])),
                        repr(sum(table.avg_latency)),
                        repr(sum(tables.avg_latency_model[request.model])),
                        table.n_layers,
                    ]
                )
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", file=file) from None


# -- the instance -------------------------------------------------------------------------------


def build_dysta_instance(
    tables: DystaTables,
    requests: Sequence[Request],
    *,
    time_unit_ns: float = PICOSECOND_NS,
    name: str | None = None,
    source: Mapping[str, Any] | None = None,
) -> Instance:
    """The instance of ``requests`` on ``tables`` (see the module docstring for every column).

    ``time_unit_ns`` (default 1 ps): seconds are converted to the nearest whole unit, durations
    and estimates at least 1. ``source`` is recorded in the metadata (e.g. the request file or
    the generator's parameters).
    """
    if isinstance(time_unit_ns, bool) or not (
        isinstance(time_unit_ns, int | float)
        and math.isfinite(time_unit_ns)
        and time_unit_ns >= MIN_TIME_UNIT_NS
    ):
        raise InputError(
            f"must be a number of ns >= {MIN_TIME_UNIT_NS:g}, got {excerpt(time_unit_ns)}",
            field="time_unit_ns",
        )
    if not requests:
        raise InputError("there are no requests", field="requests")
    per_second: float = 1e9 / time_unit_ns
    if abs(per_second - round(per_second)) <= 1e-9 * per_second:
        per_second = round(per_second)

    def units(seconds: float) -> int:
        value = seconds * per_second
        if not abs(value) < MAX_TIME_UNITS:  # also inf (e.g. a huge arrival or SLO): no int
            raise InputError(
                f"a time of {excerpt(seconds)} s overflows 64-bit integers at time_unit_ns = "
                f"{time_unit_ns:g}",
                field="time_unit_ns",
            )
        return round(value)

    priorities = sorted({(tables.models.index(r.model), r.priority) for r in requests})
    task_of = {(tables.models[m], p): k for k, (m, p) in enumerate(priorities)}
    tasks = tuple(
        TaskInfo(name=f"{tables.models[m]}@p{p}", model=tables.models[m], priority=p)
        for m, p in priorities
    )
    # Per model, the per-layer estimates in time units, rounded once.
    predicted = {m: [max(1, units(v)) for v in tables.avg_latency_model[m]] for m in tables.models}
    pattern = {m: [max(1, units(v)) for v in tables.table(m).avg_latency] for m in tables.models}
    frames: dict[int, int] = {}
    job_task, job_frame, job_release, job_deadline, offsets = [], [], [], [], [0]
    durations: list[int] = []
    op_predicted: list[int] = []
    op_pattern: list[int] = []
    op_segment: list[int] = []
    sparsity: list[float] = []
    sparsity_mean: list[float] = []
    for request in requests:
        table = tables.table(request.model)
        task = task_of[request.model, request.priority]
        job_task.append(task)
        job_frame.append(frames.get(task, 0))
        frames[task] = job_frame[-1] + 1
        release, deadline = units(request.arrival_s), units(request.deadline_s)
        if deadline <= release:
            raise InputError(
                f"request {request.index}: its deadline is less than one time unit after its "
                f"arrival at time_unit_ns = {time_unit_ns:g}; use a finer time unit",
                field="time_unit_ns",
            )
        job_release.append(release)
        job_deadline.append(deadline)
        row = table.row(request.sample_id)
        durations.extend(max(1, units(v)) for v in table.latency[row])
        sparsity.extend(table.sparsity[row])
        sparsity_mean.extend(table.avg_sparsity)
        op_predicted.extend(predicted[request.model])
        op_pattern.extend(pattern[request.model])
        op_segment.extend(range(table.n_layers))
        offsets.append(offsets[-1] + table.n_layers)
    if max(job_deadline) + sum(durations) >= MAX_TIME_UNITS:
        raise InputError(
            f"times overflow 64-bit integers at time_unit_ns = {time_unit_ns:g}; use a coarser "
            "time unit",
            field="time_unit_ns",
        )
    n_ops, n_jobs = offsets[-1], len(requests)
    first_ops = np.asarray(offsets[:-1], np.int64)
    is_first = np.zeros(n_ops, bool)
    is_first[first_ops] = True
    chained = np.flatnonzero(~is_first)  # every op but a job's first follows the op before it

    def column(values: Iterable[int]) -> np.ndarray:
        return np.asarray(list(values), np.int64).reshape(n_ops, 1)

    pred_offsets = np.zeros(n_ops + 1, np.int64)
    pred_offsets[1:] = np.cumsum(~is_first)
    metadata: dict[str, Any] = {
        "source": "dysta",
        "tables": str(tables.directory),
        "format": tables.format,
        "models": list(tables.models),
        **({"seq_len": tables.seq_len} if tables.seq_len is not None else {}),
        **dict(source or {}),
    }
    return Instance(
        name=name or f"dysta-{tables.directory.name}",
        accelerators=(tables.format,),
        tasks=tasks,
        job_task=np.asarray(job_task, np.int64),
        job_frame=np.asarray(job_frame, np.int64),
        job_release=np.asarray(job_release, np.int64),
        job_deadline=np.asarray(job_deadline, np.int64),
        job_weight=np.ones(n_jobs, np.int64),
        job_exit_op=np.full(n_jobs, -1, np.int64),
        job_upstream_offsets=np.zeros(n_jobs + 1, np.int64),
        job_upstream=np.zeros(0, np.int64),
        job_op_offsets=np.asarray(offsets, np.int64),
        op_segment=np.asarray(op_segment, np.int64),
        op_variant=np.zeros(n_ops, np.int64),
        op_context=np.zeros(n_ops, np.int64),
        op_duration=column(durations),
        op_predicted=column(op_predicted),
        op_energy=np.zeros((n_ops, 1), np.int64),
        op_dram_bytes=np.zeros((n_ops, 1), np.int64),
        op_sparsity=np.asarray(sparsity, np.float64),
        op_sparsity_mean=np.asarray(sparsity_mean, np.float64),
        op_pred_offsets=pred_offsets,
        op_preds=(chained - 1).astype(np.int64),
        settings=Settings(drops="never", compat="dysta"),
        time_unit_ns=time_unit_ns,
        metadata=metadata,
        op_estimates={PATTERN_ESTIMATES: column(op_pattern)},
    )


# -- CSV helpers ----------------------------------------------------------------------------------


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and rows (with their 1-based line numbers) of a small CSV file."""
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first column
        # name, as for pandas, which the simulator reads its tables with
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            lines = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a CSV file", file=path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read: {exc}", file=path) from None
    lines = [(number, row) for number, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise InputError("file is empty", file=path)
    header = [cell.strip() for cell in lines[0][1]]
    rows = []
    for number, row in lines[1:]:
        if len(row) != len(header):
            raise InputError(
                f"has {len(row)} fields, the header has {len(header)}",
                file=path,
                field=f"line {number}",
            )
        rows.append((number, {name: cell.strip() for name, cell in zip(header, row, strict=True)}))
    return header, rows


def _require_columns(path: Path, header: Sequence[str], columns: Iterable[str]) -> None:
    for column in columns:
        if column not in header:
            raise InputError(
                f"missing column{suggest(column, header)}; the header is {','.join(header)}",
                file=path,
                field=column,
            )


def _number(
    path: Path,
    line: int,
    column: str,
    text: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    where = f"line {line} ({column})"
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"expected a number, got {excerpt(text)}", file=path, field=where
        ) from None
    if not math.isfinite(value):
        raise InputError(f"expected a finite number, got {excerpt(text)}", file=path, field=where)
    if minimum is not None and value < minimum:
        raise InputError(f"must be >= {minimum:g}, got {excerpt(text)}", file=path, field=where)
    if maximum is not None and value > maximum:
        raise InputError(f"must be <= {maximum:g}, got {excerpt(text)}", file=path, field=where)
    return value


def _integer(path: Path, line: int, column: str, text: str, *, minimum: int = 0) -> int:
    where = f"line {line} ({column})"
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not number.is_integer():
            raise InputError(
                f"expected an integer, got {excerpt(text)}", file=path, field=where
            ) from None
        value = int(number)
    if value < minimum:
        raise InputError(f"must be >= {minimum}, got {excerpt(text)}", file=path, field=where)
    if value > ABSURD:  # e.g. a priority the instance loader would reject later
        raise InputError(f"absurdly large value {excerpt(text)}", file=path, field=where)
    return value


def _text(path: Path, line: int, column: str, text: str) -> str:
    if not text:
        raise InputError("is empty", file=path, field=f"line {line} ({column})")
    return text

"""Classic job-shop benchmark files as Instances, to check the oracle on published optima.

Three text formats (``docs/jobshop.md`` describes them with examples):

``jsplib``
    The OR-Library / JSPLIB file of one instance (github.com/tamy0612/JSPLIB ``instances/``):
    ``#`` comment lines, then ``jobs machines``, then one line per job with ``machines`` pairs
    ``machine duration`` in route order. Machines are numbered from 0.
``taillard``
    Taillard's own files (E. Taillard, "Benchmarks for basic scheduling problems", EJOR 64,
    1993): per instance the line ``Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper
    bound, Lower bound``, those six numbers, ``Times`` and a jobs × machines matrix of durations,
    ``Machines`` and a jobs × machines matrix of the machine of each step, numbered from 1. A
    file may hold several instances; ``index`` picks one (0-based).
``fjs``
    The flexible job-shop format of Brandimarte (1993) and its successors: ``jobs machines
    [average machines per op]``, then one line per job: its number of ops, then per op ``k``
    followed by ``k`` pairs ``machine duration``. Machines are numbered from 1.

The Instance: one accelerator per machine (named ``m<number as in the file>``), one task and
one job per job, each job a chain of its ops in route order, each op eligible on its machine(s)
with the file's duration(s). Releases are 0 and every deadline is the sum of all (for ``fjs``:
of each op's longest) durations plus one, so that no schedule without idle time is late. Drops
are never allowed, the time unit is 1, energies are 0. ``metadata["jobshop"]`` records the
format, the file and the sizes (for Taillard also the header's seeds and bounds, which are
historical and not the best known values). The oracle's ``makespan`` objective is then the
classic C_max.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtmm_opt.errors import InputError
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import Instance, Settings, TaskInfo
from rtmm_opt.io.limits import INT_LIMIT, INT_LIMIT_TEXT, OPS, op_weight
from rtmm_opt.io.strict import suggest

FORMATS = ("jsplib", "taillard", "fjs")
TAILLARD_HEADER = "nb of jobs"


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based, as editors show it
    tokens: tuple[str, ...]


class _Reader:
    """The significant lines of a file, read in order, each error naming its line."""

    def __init__(self, text: str, file: str | None, comment: str | None) -> None:
        self.file = file
        self.lines: list[_Line] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if not stripped or (comment and stripped.startswith(comment)):
                continue
            self.lines.append(_Line(number, tuple(stripped.split())))
        self.position = 0
        self.last = max(1, len(text.splitlines()))  # errors at the end name the last line

    def error(self, line: int, reason: str) -> InputError:
        return InputError(reason, file=self.file, field=f"line {line}")

    def next(self, what: str) -> _Line:
        if self.position >= len(self.lines):
            raise self.error(self.last, f"the file ends where {what} was expected")
        line = self.lines[self.position]
        self.position += 1
        return line

    def peek(self) -> _Line | None:
        return self.lines[self.position] if self.position < len(self.lines) else None

    def integers(self, line: _Line, what: str) -> list[int]:
        values = []
        for token in line.tokens:
            try:
                values.append(int(token))
            except ValueError:
                raise self.error(line.number, f"{what}: '{token}' is not an integer") from None
        return values

    def count(self, line: _Line, value: int, what: str) -> int:
        if value < 1:
            raise self.error(line.number, f"{what} must be at least 1, got {value}")
        return value

    def duration(self, line: _Line, value: int, where: str) -> int:
        if value < 1:
            raise self.error(line.number, f"{where}: duration {value} must be at least 1 time unit")
        if value > INT_LIMIT:
            raise self.error(
                line.number, f"{where}: duration {value} is above the limit {INT_LIMIT_TEXT}"
            )
        return value

    def machine(self, line: _Line, value: int, machines: int, first: int, where: str) -> int:
        """The 0-based index of a machine numbered from ``first`` in the file."""
        if not first <= value < machines + first:
            raise self.error(
                line.number,
                f"{where}: machine {value} is out of range {first}..{machines + first - 1}",
            )
        return value - first

    def end(self) -> None:
        extra = self.peek()
        if extra is not None:
            raise self.error(extra.number, "unexpected content after the last job")


# Each route step: (machine index -> duration) over its eligible machines.
Route = list[dict[int, int]]


def _jsplib(reader: _Reader) -> tuple[list[Route], int, dict[str, Any]]:
    header = reader.next("'jobs machines'")
    sizes = reader.integers(header, "'jobs machines'")
    if len(sizes) != 2:
        raise reader.error(header.number, f"expected 'jobs machines', got {len(sizes)} numbers")
    jobs = reader.count(header, sizes[0], "the number of jobs")
    machines = reader.count(header, sizes[1], "the number of machines")
    routes = []
    for job in range(1, jobs + 1):
        line = reader.next(f"job {job}")
        values = reader.integers(line, f"job {job}")
        if len(values) != 2 * machines:
            raise reader.error(
                line.number,
                f"job {job}: expected {machines} 'machine duration' pairs ({2 * machines} "
                f"numbers), got {len(values)} numbers",
            )
        route = []
        for step in range(machines):
            where = f"job {job} step {step + 1}"
            machine = reader.machine(line, values[2 * step], machines, 0, where)
            route.append({machine: reader.duration(line, values[2 * step + 1], where)})
        routes.append(route)
    reader.end()
    return routes, machines, {}


def _taillard_blocks(reader: _Reader) -> Iterator[tuple[list[Route], int, dict[str, Any]]]:
    while reader.peek() is not None:
        title = reader.next("the 'Nb of jobs, ...' line")
        if not " ".join(title.tokens).lower().startswith(TAILLARD_HEADER):
            raise reader.error(
                title.number,
                "expected the line 'Nb of jobs, Nb of Machines, Time seed, Machine seed, "
                "Upper bound, Lower bound'",
            )
        numbers_line = reader.next("the six header numbers")
        numbers = reader.integers(numbers_line, "header")
        if len(numbers) != 6:
            raise reader.error(
                numbers_line.number,
                "expected six numbers (jobs, machines, time seed, machine seed, upper bound, "
                f"lower bound), got {len(numbers)}",
            )
        jobs = reader.count(numbers_line, numbers[0], "the number of jobs")
        machines = reader.count(numbers_line, numbers[1], "the number of machines")
        matrices = []
        for section in ("Times", "Machines"):
            label = reader.next(f"'{section}'")
            if label.tokens != (section,):
                raise reader.error(
                    label.number, f"expected '{section}', got '{' '.join(label.tokens)}'"
                )
            rows = []
            for job in range(1, jobs + 1):
                line = reader.next(f"the {section.lower()} of job {job}")
                row = reader.integers(line, f"{section} of job {job}")
                if len(row) != machines:
                    raise reader.error(
                        line.number,
                        f"{section} of job {job}: expected {machines} numbers, got {len(row)}",
                    )
                rows.append((line, row))
            matrices.append(rows)
        routes = []
        for job, ((time_line, times), (machine_line, order)) in enumerate(
            zip(matrices[0], matrices[1], strict=True), start=1
        ):
            route = []
            for step in range(machines):
                where = f"job {job} step {step + 1}"
                machine = reader.machine(machine_line, order[step], machines, 1, where)
                route.append({machine: reader.duration(time_line, times[step], where)})
            routes.append(route)
        header = {
            "time_seed": numbers[2],
            "machine_seed": numbers[3],
            "header_upper_bound": numbers[4],
            "header_lower_bound": numbers[5],
        }
        yield routes, machines, header


def _taillard(reader: _Reader, index: int) -> tuple[list[Route], int, dict[str, Any]]:
    blocks = list(_taillard_blocks(reader))
    if not blocks:
        raise reader.error(reader.last, "no instance in the file")
    if not 0 <= index < len(blocks):
        raise InputError(
            f"the file holds {len(blocks)} instance(s); index {index} is out of range",
            file=reader.file,
            field="index",
        )
    routes, machines, header = blocks[index]
    return routes, machines, {**header, "index": index, "instances_in_file": len(blocks)}


def _fjs(reader: _Reader) -> tuple[list[Route], int, dict[str, Any]]:
    header = reader.next("'jobs machines [average]'")
    if len(header.tokens) not in (2, 3):
        raise reader.error(
            header.number,
            f"expected 'jobs machines [average machines per op]', got {len(header.tokens)} numbers",
        )
    sizes = reader.integers(_Line(header.number, header.tokens[:2]), "'jobs machines'")
    if len(header.tokens) == 3:
        try:
            float(header.tokens[2])
        except ValueError:
            raise reader.error(
                header.number,
                f"the average machines per op '{header.tokens[2]}' is not a number",
            ) from None
    jobs = reader.count(header, sizes[0], "the number of jobs")
    machines = reader.count(header, sizes[1], "the number of machines")
    routes = []
    for job in range(1, jobs + 1):
        line = reader.next(f"job {job}")
        values = _Cursor(reader, line, reader.integers(line, f"job {job}"), f"job {job}")
        n_ops = reader.count(line, values.take("the number of ops"), f"job {job}: number of ops")
        route = []
        for op in range(1, n_ops + 1):
            where = f"job {job} op {op}"
            k = reader.count(
                line, values.take(f"{where}'s machine count"), f"{where}: machine count"
            )
            choices: dict[int, int] = {}
            for _ in range(k):
                machine = reader.machine(
                    line, values.take(f"{where}'s machine"), machines, 1, where
                )
                duration = reader.duration(line, values.take(f"{where}'s duration"), where)
                if machine in choices:
                    raise reader.error(
                        line.number, f"{where}: machine {machine + 1} is listed twice"
                    )
                choices[machine] = duration
            route.append(choices)
        left = len(values.values) - values.position
        if left:
            raise reader.error(
                line.number, f"job {job}: {left} number(s) left after its {n_ops} ops"
            )
        routes.append(route)
    reader.end()
    return routes, machines, {}


@dataclass
class _Cursor:
    """The numbers of one FJS job line, taken one at a time."""

    reader: _Reader
    line: _Line
    values: list[int]
    label: str
    position: int = 0

    def take(self, what: str) -> int:
        if self.position >= len(self.values):
            raise self.reader.error(
                self.line.number, f"{self.label}: the line ends where {what} was expected"
            )
        self.position += 1
        return self.values[self.position - 1]


def parse_jobshop(
    text: str,
    format: str = "jsplib",
    *,
    name: str = "jobshop",
    file: str | Path | None = None,
    index: int = 0,
) -> Instance:
    """An Instance from the text of a job-shop file (see the module docstring).

    ``file`` only labels errors and metadata. ``index`` picks an instance of a Taillard file
    that holds several. Malformed text raises :class:`InputError` with the file, the line and
    the reason.
    """
    if format not in FORMATS:
        raise InputError(
            f"unknown job-shop format '{format}'{suggest(format, FORMATS)}; valid: "
            f"{', '.join(FORMATS)}",
            file=file,
            field="format",
        )
    label = str(file) if file is not None else None
    reader = _Reader(text, label, comment="#" if format == "jsplib" else None)
    if format == "jsplib":
        routes, machines, extra = _jsplib(reader)
        first = 0
    elif format == "taillard":
        routes, machines, extra = _taillard(reader, index)
        first = 1
    else:
        routes, machines, extra = _fjs(reader)
        first = 1
    return _instance(name, routes, machines, first, format, label, extra)


def read_jobshop(path: str | Path, format: str = "jsplib", *, index: int = 0) -> Instance:
    """An Instance from a job-shop file; the instance is named after the file (its stem, and
    for a Taillard file of several instances also the index)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=path) from None
    name = path.stem if format != "taillard" or index == 0 else f"{path.stem}[{index}]"
    return parse_jobshop(text, format, name=name, file=path, index=index)


def _instance(
    name: str,
    routes: list[Route],
    machines: int,
    first: int,
    format: str,
    file: str | None,
    extra: dict[str, Any],
) -> Instance:
    horizon = sum(max(step.values()) for route in routes for step in route) + 1
    if horizon > INT_LIMIT:  # Python ints: the sum is exact, and refused before any int64
        raise InputError(
            f"the durations add up to {horizon:.3g} time units, above the limit {INT_LIMIT_TEXT} "
            "of integer times",
            file=file,
        )
    operations = sum(len(route) for route in routes)
    OPS.check(
        operations * op_weight(machines), f"{operations:,} ops on {machines:,} machines", file=file
    )
    jobs: list[JobSpec] = []
    for route in routes:
        ops = [
            OpSpec(
                durations=[step.get(machine, -1) for machine in range(machines)],
                energies=[0 if machine in step else -1 for machine in range(machines)],
                preds=(k - 1,) if k else (),
            )
            for k, step in enumerate(route)
        ]
        jobs.append(JobSpec(task=len(jobs), release=0, deadline=horizon, ops=ops))
    note = {
        "format": format,
        "file": file,
        "jobs": len(routes),
        "machines": machines,
        "operations": sum(len(route) for route in routes),
        "flexible": any(len(step) > 1 for route in routes for step in route),
        **extra,
    }
    return assemble(
        name,
        accelerators=[f"m{machine + first}" for machine in range(machines)],
        tasks=[TaskInfo(f"job{j}", f"job{j}") for j in range(1, len(routes) + 1)],
        jobs=jobs,
        settings=Settings(drops="never"),
        metadata={"jobshop": note},
    )

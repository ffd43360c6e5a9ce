"""The results store: one SQLite file, table ``runs``, one row per study cell.

Only the driver writes, one transaction per finished group of cells, in SQLite's write-ahead log, so
a study killed at any moment (even ``kill -9``) keeps every row it had written and a re-run starts
where it stopped: :meth:`ResultStore.finished` lists the cells already done, which the driver skips.
A finished cell is never written twice (its key is the primary key); a failed cell is run again by
the next run and its row replaced once it succeeds.

Columns (``docs/studies.md``): the cell's ``key`` (the hash of its parameters, seed and oracle
block), ``study``, ``params`` (JSON) and ``seed``; ``status`` (``done`` or ``failed``) with
``error``; the ``instance_hash`` and its size; every metric of the metrics module (and
``per_task`` as JSON); the oracle's ``oracle_status``, ``oracle_objective``, ``oracle_bound``,
``oracle_gap``, the cell's ``objective`` and its ``gap``/``gap_to_bound``/``excess``; the wall
times; and the ``rtmm_opt``, ``ortools`` and ``python`` versions. ``studies`` keeps each study's
specification.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtmm_opt.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "TEXT PRIMARY KEY"),
    ("study", "TEXT NOT NULL"),
    ("params", "TEXT NOT NULL"),
    ("seed", "INTEGER NOT NULL"),
    ("design_index", "INTEGER"),
    ("cell_group", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("error", "TEXT"),
    ("traceback", "TEXT"),
    ("instance_hash", "TEXT"),
    ("jobs", "INTEGER"),
    ("ops", "INTEGER"),
    ("completed", "INTEGER"),
    ("dropped", "INTEGER"),
    ("late", "INTEGER"),
    ("miss_rate", "REAL"),
    ("drop_rate", "REAL"),
    ("late_rate", "REAL"),
    ("sla_rate", "REAL"),
    ("tardiness", "INTEGER"),
    ("tardiness_ms", "REAL"),
    ("energy_mJ", "REAL"),
    ("makespan", "INTEGER"),
    ("makespan_ms", "REAL"),
    ("antt", "REAL"),
    ("throughput", "REAL"),
    ("stp", "REAL"),
    ("utilisation", "REAL"),
    ("accuracy", "REAL"),
    ("accuracy_loss", "REAL"),
    ("xrbench_score", "REAL"),
    ("uxcost", "REAL"),
    ("per_task", "TEXT"),
    ("objective_spec", "TEXT"),
    ("objective", "REAL"),
    ("oracle_status", "TEXT"),
    ("oracle_objective", "REAL"),
    ("oracle_bound", "REAL"),
    ("oracle_gap", "REAL"),
    ("gap", "REAL"),
    ("gap_to_bound", "REAL"),
    ("excess", "REAL"),
    ("excess_to_bound", "REAL"),
    ("oracle_error", "TEXT"),
    ("wall_s", "REAL"),
    ("oracle_wall_s", "REAL"),
    ("rtmm_opt", "TEXT"),
    ("ortools", "TEXT"),
    ("python", "TEXT"),
)
NAMES = tuple(name for name, _ in COLUMNS)
JSON_COLUMNS = ("params", "per_task")
RENAMED = {"group": "cell_group"}  # ``group`` is an SQL keyword


def _value(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS:
        return None if value is None else json.dumps(value, sort_keys=True, allow_nan=False)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # SQLite has no inf; an infinite bound reads back as missing
    return value


class ResultStore:
    """One study results file (see the module docstring). Use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True)
            self.connection = sqlite3.connect(self.path, timeout=30)
            self.connection.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL sync: a committed group survives the process being killed (the
            # WAL is written before the commit returns); only a power cut may lose the last one.
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self._create()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise InputError(f"cannot open the results store: {exc}", file=path,
                             field="--db") from None  # fmt: skip

    def _create(self) -> None:
        columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS)
        with self.connection:
            self.connection.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL)"
            )
        present = {row[1] for row in self.connection.execute("PRAGMA table_info(runs)")}
        # A file written before a nullable column existed (e.g. utilisation) gains it, empty
        # for its old rows; a missing NOT NULL or key column means another kind of file.
        addable = [
            (name, kind)
            for name, kind in COLUMNS
            if name not in present and "NOT NULL" not in kind and "PRIMARY KEY" not in kind
        ]
        with self.connection:
            for name, kind in addable:
                self.connection.execute(f'ALTER TABLE runs ADD COLUMN "{name}" {kind}')
        present |= {name for name, _ in addable}
        missing = [name for name in NAMES if name not in present]
        if missing:
            raise InputError(
                f"this file's runs table lacks the columns {', '.join(missing)}: it was not "
                "written by this version's study layer", file=self.path, field="--db",
            )  # fmt: skip

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def record_study(self, name: str, spec: Mapping[str, Any]) -> None:
        """Keep the study's specification (the latest run's)."""
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO studies (name, spec) VALUES (?, ?)",
                (name, json.dumps(spec, sort_keys=True)),
            )

    def finished(self, keys: Iterable[str] | None = None) -> set[str]:
        """The keys of cells with a ``done`` row (among ``keys``, if given)."""
        rows = self.connection.execute("SELECT key FROM runs WHERE status = 'done'")
        done = {key for (key,) in rows}
        return done if keys is None else done & set(keys)

    def write(self, study: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Write one group's rows in one transaction; returns how many were written. A row of
        a cell that is already done is skipped; a failed row is replaced."""
        written = 0
        with self.connection:
            for row in rows:
                data = {RENAMED.get(k, k): v for k, v in row.items()}
                data["study"] = study
                unknown = set(data) - set(NAMES)
                if unknown:
                    raise ValueError(f"unknown result columns: {sorted(unknown)}")
                exists = self.connection.execute(
                    "SELECT status FROM runs WHERE key = ?", (data["key"],)
                ).fetchone()
                if exists is not None and exists[0] == "done":
                    continue
                names = [name for name in NAMES if name in data]
                placeholders = ", ".join("?" for _ in names)
                quoted = ", ".join(f'"{name}"' for name in names)
                self.connection.execute(
                    f"INSERT OR REPLACE INTO runs ({quoted}) VALUES ({placeholders})",
                    [_value(name, data[name]) for name in names],
                )
                written += 1
        return written

    def count(self, study: str | None = None) -> dict[str, int]:
        """Rows by status (of one study, or all)."""
        query = "SELECT status, COUNT(*) FROM runs"
        args: tuple[Any, ...] = ()
        if study is not None:
            query += " WHERE study = ?"
            args = (study,)
        return dict(self.connection.execute(query + " GROUP BY status", args).fetchall())

    def studies(self) -> dict[str, dict[str, Any]]:
        rows = self.connection.execute("SELECT name, spec FROM studies ORDER BY name")
        return {name: json.loads(spec) for name, spec in rows}


def load_runs(db: str | Path, *, study: str | None = None) -> pd.DataFrame:
    """The ``runs`` table as a pandas DataFrame, one row per cell: every column of the store,
    ``params`` and ``per_task`` decoded, and each parameter as a column of its own."""
    import pandas as pd

    path = Path(db)
    if not path.is_file():
        raise InputError("no such results file", file=path)
    with sqlite3.connect(path) as connection:
        query = "SELECT * FROM runs" + (" WHERE study = ?" if study else "") + " ORDER BY key"
        frame = pd.read_sql_query(query, connection, params=(study,) if study else None)
    frame["params"] = frame["params"].map(json.loads)
    frame["per_task"] = frame["per_task"].map(lambda v: json.loads(v) if v else None)
    params = pd.DataFrame(list(frame["params"]), index=frame.index)
    clash = [c for c in params.columns if c in frame.columns]
    params = params.rename(columns={c: f"param.{c}" for c in clash})
    return pd.concat([frame, params], axis=1)


def export_runs(db: str | Path, out: str | Path, *, study: str | None = None) -> Path:
    """Write the runs as CSV or Parquet, chosen by ``out``'s suffix (``.csv``, ``.parquet``)."""
    target = Path(out)
    frame = load_runs(db, study=study)
    encode = lambda value: json.dumps(value, sort_keys=True)  # noqa: E731
    flat = frame.assign(params=frame["params"].map(encode), per_task=frame["per_task"].map(encode))
    if target.suffix == ".csv":
        flat.to_csv(target, index=False)
    elif target.suffix == ".parquet":
        flat.to_parquet(target, index=False)
    else:
        raise InputError("expected a .csv or .parquet file", file=target, field="--export")
    return target

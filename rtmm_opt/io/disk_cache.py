"""An on-disk cache for data derived from input files that is slow to derive again.

What it holds is a pure function of its key, and the key names the source file by its resolved
path, modification time and size, so an edited file misses. Entries are JSON (nothing in the
cache is executed), written atomically; an unreadable, corrupt or foreign entry is a miss, and
a cache that cannot be written is skipped. Deleting the folder is always safe.

Where: ``$RTMM_CACHE_DIR`` if set (``off`` turns the cache off), else
``$XDG_CACHE_HOME/rtmm-opt``, else ``~/.cache/rtmm-opt``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "RTMM_CACHE_DIR"
FORMAT = 1  # bump when an entry's layout changes


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rtmm-opt"


def file_stamp(path: Path) -> list[Any]:
    """What names a file's version in a key: resolved path, mtime (ns) and size."""
    stat = os.stat(path)
    return [str(path.resolve()), stat.st_mtime_ns, stat.st_size]


def _entry(kind: str, key: list[Any]) -> tuple[Path, str] | None:
    folder = cache_dir()
    if folder is None:
        return None
    text = json.dumps([FORMAT, kind, key], separators=(",", ":"))
    return folder / kind / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.json", text


def load(kind: str, key: list[Any]) -> Any | None:
    """The value stored under ``key``, or None (a miss)."""
    entry = _entry(kind, key)
    if entry is None:
        return None
    path, text = entry
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != text:
        return None  # a hash collision or another layout
    return stored.get("value")


def store(kind: str, key: list[Any], value: Any) -> None:
    """Keep ``value`` (JSON-able) under ``key``; silently skipped if the folder is not writable."""
    entry = _entry(kind, key)
    if entry is None:
        return
    path, text = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"key": text, "value": value}, stream, separators=(",", ":"))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return

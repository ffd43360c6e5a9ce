"""Writing converted model YAML files, or checking that the committed ones are up to date: the
last step of every model converter (``convert_xrbench_models.py``,
``convert_maestro_models.py``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path


def write_or_check(texts: Mapping[str, str], out: Path, *, check: bool) -> int:
    """Write ``texts`` (model name → YAML text) as ``out/NAME.yaml``; with ``check``, write
    nothing and return 1 if any file is missing or differs (naming each on stderr)."""
    if check:
        stale = [
            name
            for name, text in texts.items()
            if not (out / f"{name}.yaml").is_file()
            or (out / f"{name}.yaml").read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"stale or missing: {out / (name + '.yaml')}", file=sys.stderr)
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / f"{name}.yaml").write_text(text, encoding="utf-8")
    print(f"wrote {len(texts)} models to {out}")
    return 0

"""User-defined systems: the ``kind: system`` YAML format, read strictly.

Example::

    kind: system
    name: phone-npu
    description: two big cores and one little
    dram_bandwidth_gbps: 51.2          # shared DRAM; default: sum of the accelerators' links
    accelerators:
      - name: big                      # with count: 2 → big0, big1
        count: 2
        dataflow: WS                   # WS (NVDLA), OS (ShiDianNao), RS (Eyeriss)
        pes: 2048
        clock_ghz: 1.0                 # optional fields default to the Accelerator defaults
        buffer_bytes: 2097152
        pe_buffer_bytes: 8192
        noc_bandwidth: 128             # elements per cycle
        offchip_bandwidth_gbps: 25.6
      - {name: little, dataflow: OS, pes: 512}
      - {name: simba, dataflow: WS, pes: 1024, vector_width: 8}     # Simba-like mapping
      - {name: eyeriss, dataflow: RS, pes: 168, array_rows: 12, array_cols: 14}
    # optional; table cost models key their rows on it:
    origin: {suite: xrbench, hw_config: Dual_4K, dataflow: WS_OS}

Every problem raises :class:`InputError` naming the file and the field path, e.g.
``sys.yaml: accelerators[1].pes: must be > 0, got 0``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.hardware.accelerator import Accelerator, Dataflow, System
from rtmm_opt.io.strict import Fields, load_yaml

# Upper bounds that no real sub-accelerator reaches; a value above one is a typo or a unit mix-up.
LIMITS: dict[str, float] = {
    "pes": 1e8,
    "clock_ghz": 100.0,
    "buffer_bytes": 1e12,
    "pe_buffer_bytes": 1e9,
    "noc_bandwidth": 1e9,
    "offchip_bandwidth_gbps": 1e5,
    "dram_bandwidth_gbps": 1e6,
    "count": 1024,
}

_DEFAULTS = Accelerator(name="defaults", dataflow=Dataflow.WS, pes=1)


def load_system(path: str | Path) -> System:
    """Read a ``kind: system`` YAML file into a :class:`System`."""
    path = Path(path)
    return system_from_dict(load_yaml(path), file=path)


def system_from_dict(data: Any, *, file: str | Path | None = None) -> System:
    """Build a :class:`System` from a parsed ``kind: system`` mapping (see the module docstring)."""
    spec = Fields(data, file=file)
    kind = spec.raw("kind", None)
    if kind != "system":
        reason = "missing" if kind is None else f"expected 'system', got {excerpt(kind)}"
        raise spec.error("kind", reason)
    name = spec.text("name")
    description = spec.text("description", "")
    accelerators: list[Accelerator] = []
    entries = spec.items("accelerators")
    if not entries:
        raise spec.error("accelerators", "a system needs at least one accelerator")
    seen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where = f"accelerators[{i}]"
        for acc in _accelerators(spec.child(entry, where)):
            if acc.name in seen:
                raise InputError(
                    f"accelerator name {excerpt(acc.name)} is used twice "
                    f"(also in {seen[acc.name]})",
                    file=spec.file,
                    field=f"{where}.name",
                )
            seen[acc.name] = where
            accelerators.append(acc)
    default_dram = sum(acc.offchip_bandwidth_gbps for acc in accelerators)
    dram = spec.number(
        "dram_bandwidth_gbps", default_dram, positive=True, maximum=LIMITS["dram_bandwidth_gbps"]
    )
    origin: dict[str, str] = {}
    origin_spec = spec.mapping("origin", None)
    if origin_spec is not None:
        for key in origin_spec.data:
            origin[str(key)] = origin_spec.text(str(key))
        origin_spec.done()
    spec.done()
    try:
        return System(
            name=name,
            accelerators=tuple(accelerators),
            dram_bandwidth_gbps=float(dram),
            description=description,
            origin=origin,
        )
    except InputError as exc:
        raise exc.located(file) from None


def _accelerators(spec: Fields) -> list[Accelerator]:
    name = spec.text("name")
    try:
        dataflow = Dataflow.parse(spec.text("dataflow"))
    except InputError as exc:
        raise InputError(exc.reason, file=spec.file, field=spec.field("dataflow")) from None
    count = spec.integer("count", 1, positive=True, maximum=LIMITS["count"])
    values: dict[str, Any] = {"pes": spec.integer("pes", positive=True, maximum=LIMITS["pes"])}
    for key in ("buffer_bytes", "pe_buffer_bytes", "noc_bandwidth"):
        values[key] = spec.integer(key, getattr(_DEFAULTS, key), positive=True, maximum=LIMITS[key])
    for key in ("vector_width", "array_rows", "array_cols"):  # design families, optional
        if spec.has(key):
            values[key] = spec.integer(key, positive=True, maximum=LIMITS["pes"])
    for key in ("clock_ghz", "offchip_bandwidth_gbps"):
        values[key] = float(
            spec.number(key, getattr(_DEFAULTS, key), positive=True, maximum=LIMITS[key])
        )
    spec.done()
    names = [name] if count == 1 else [f"{name}{k}" for k in range(count)]
    try:
        return [Accelerator(name=n, dataflow=dataflow, **values) for n in names]
    except InputError as exc:
        raise InputError(exc.reason, file=spec.file, field=spec.field(exc.field or "")) from None

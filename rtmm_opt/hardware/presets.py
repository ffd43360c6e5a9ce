"""Named systems: the 38 (hardware file, dataflow file) pairs that XRBench evaluates, and four
Simba/Eyeriss systems (:func:`list_family_presets`, below).

XRBench's ``scripts/run_evals.py`` pairs every hardware file of a group with every dataflow file of
the same group: single 2 × 3, dual 6 × 4, quad 2 × 4 = 38 systems, named here
``xrb-<hw_config>-<dataflow>`` (e.g. ``xrb-Dual_4K_BigLittle-WS_OS``). The i-th dataflow block goes
to the i-th accelerator block of the hardware file (XRBench's convention), named ``acc<i>``.

The data come from ``data/xrbench_systems.json``, converted once from XRBench-MLSys2023 commit
89156663 by ``scripts/convert_xrbench_presets.py``. How file fields become :class:`Accelerator`
fields:

* ``num_pes`` → ``pes``; ``top_noc_bw`` → ``noc_bandwidth`` (elements/cycle, as MAESTRO uses it);
  ``global_shared_memory`` → ``buffer_bytes``; ``PE_local_memory`` → ``pe_buffer_bytes``.
* clock 1 GHz: XRBench hard-codes it (its timelines print ms = cycles / 1e6).
* ``offchip_bw`` (128 in every file) is read by XRBench's parser but unused by its cost path.
  Its unit is taken to be elements per cycle, like every other MAESTRO bandwidth; with 1-byte
  elements (the project's default precision) at 1 GHz that is 128 GB/s per accelerator.
* ``dram_bandwidth_gbps`` (the shared DRAM) = the sum of the accelerators' off-chip bandwidths.
  XRBench models no contention, so the shared limit is set where it never binds before the
  per-accelerator links do; contention studies should write a system file with a lower value.

Aliases follow the accelerator letters of XRBench's Figure 5 (``reference/runs.csv``,
``paper_label``): ``xrb4k-A`` … ``xrb4k-M`` on the 4K hardware files, ``xrb8k-A`` … on the 8K ones.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rtmm_opt.errors import InputError
from rtmm_opt.hardware.accelerator import Accelerator, Dataflow, System
from rtmm_opt.io.strict import suggest

PREFIX = "xrb"
FAMILY_FIELDS = ("vector_width", "array_rows", "array_cols")  # written only when set
CLOCK_GHZ = 1.0  # XRBench-MAESTRO hard-codes a 1 GHz clock
BYTES_PER_ELEMENT = 1  # offchip_bw is in elements/cycle; int8 elements

# XRBench Figure 5 letters → (hardware file stem without the size, dataflow file).
# "{size}" becomes 4K or 8K.
LETTERS: dict[str, tuple[str, str]] = {
    "A": ("Single_{size}", "WS"),
    "B": ("Single_{size}", "OS"),
    "C": ("Single_{size}", "RS"),
    "D": ("Dual_{size}", "WS_WS"),
    "E": ("Dual_{size}", "OS_OS"),
    "F": ("Dual_{size}", "RS_RS"),
    "G": ("Quad_{size}", "WS_WS_WS_WS"),
    "H": ("Quad_{size}", "OS_OS_OS_OS"),
    "I": ("Quad_{size}", "RS_RS_RS_RS"),
    "J": ("Dual_{size}", "WS_OS"),
    "K": ("Dual_{size}_BigLittle", "WS_OS"),
    "L": ("Dual_{size}_LittleBig", "WS_OS"),
    "M": ("Quad_{size}", "WS_OS_WS_OS"),
}


def _read_data() -> dict[str, Any]:
    text = resources.files("rtmm_opt.hardware").joinpath("data/xrbench_systems.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _data() -> dict[str, Any]:
    return _read_data()


def preset_name(hw_config: str, dataflow: str) -> str:
    return f"{PREFIX}-{hw_config}-{dataflow}"


@cache
def _pairs() -> dict[str, tuple[str, str]]:
    """Canonical name → (hw_config, dataflow file), in XRBench's group order."""
    data = _data()
    pairs: dict[str, tuple[str, str]] = {}
    for group in ("single", "dual", "quad"):
        hws = [name for name, hw in data["hw_configs"].items() if hw["group"] == group]
        flows = [name for name, df in data["dataflows"].items() if df["group"] == group]
        for hw in hws:
            for flow in flows:
                pairs[preset_name(hw, flow)] = (hw, flow)
    return pairs


def list_presets() -> list[str]:
    """The 38 canonical preset names."""
    return list(_pairs())


def list_aliases() -> dict[str, str]:
    """The 26 letter aliases (``xrb4k-A`` … ``xrb8k-M``) → canonical preset name."""
    aliases = {}
    for size in ("4K", "8K"):
        for letter, (hw, flow) in LETTERS.items():
            aliases[f"{PREFIX}{size.lower()}-{letter}"] = preset_name(hw.format(size=size), flow)
    return aliases


# -- Simba- and Eyeriss-like systems (RELMAS's setting; docs/hardware.md "Accelerator families")

# One Simba chiplet (Shao et al., MICRO'19, §3 and Table 1): 16 PEs × 8 vector MACs × 8 lanes
# = 1024 int8 MACs per cycle; per PE a 32 KiB weight buffer, 8 KiB input buffer and 3 KiB
# accumulation buffer; a 64 KiB global PE buffer per chiplet. Its "buffer" here is all of the
# chiplet's SRAM (64 + 16 × 43 KiB), since weights stay in the PEs' weight buffers.
SIMBA = {
    "pes": 1024,
    "vector_width": 8,
    "buffer_bytes": (64 + 16 * (32 + 8 + 3)) * 1024,
    "pe_buffer_bytes": (32 + 8 + 3) * 1024,
    "noc_bandwidth": 128,  # 16 PEs × 8 inputs per cycle (one vector each)
}
# Eyeriss (Chen et al., ISCA'16 §V, JSSC'17): a 12 × 14 array of 168 PEs, a 108 KiB global
# buffer, 0.5 KiB of scratchpads per PE (12 + 224 + 24 16-bit words), three 64-bit buses from
# the global buffer to the array (ifmap, filter, psum): 24 int8 elements per cycle.
EYERISS = {
    "pes": 168,
    "array_rows": 12,
    "array_cols": 14,
    "buffer_bytes": 108 * 1024,
    "pe_buffer_bytes": 512,
    "noc_bandwidth": 24,
}
# The project's choices, not the papers': every sub-accelerator at 1 GHz (the chips run at
# 0.2 GHz, Eyeriss in 65 nm, and 0.16-2 GHz, Simba in 16 nm), each with a 32 GB/s DRAM link,
# and one shared DRAM of 16 GB/s per sub-accelerator — half the sum of the links, so that the
# contention model (settings.contention) binds when more than half of them stream at once.
FAMILY_LINK_GBPS = 32.0
FAMILY_SHARED_GBPS_PER_ACCELERATOR = 16.0
FAMILY_PRESETS: dict[str, tuple[int, int]] = {  # name -> (Simba count, Eyeriss count)
    "simba-4": (4, 0),
    "eyeriss-4": (0, 4),
    "hetero-2s2e": (2, 2),
    "hetero-4s4e": (4, 4),
}


def list_family_presets() -> list[str]:
    """The Simba/Eyeriss presets: ``simba-4``, ``eyeriss-4``, ``hetero-2s2e``, ``hetero-4s4e``."""
    return list(FAMILY_PRESETS)


def _build_family(name: str) -> System:
    simbas, eyerisses = FAMILY_PRESETS[name]
    accelerators = [
        Accelerator(name=f"simba{i}", dataflow=Dataflow.WS,
                    offchip_bandwidth_gbps=FAMILY_LINK_GBPS, **SIMBA)
        for i in range(simbas)
    ] + [
        Accelerator(name=f"eyeriss{i}", dataflow=Dataflow.RS,
                    offchip_bandwidth_gbps=FAMILY_LINK_GBPS, **EYERISS)
        for i in range(eyerisses)
    ]  # fmt: skip
    parts = [f"{n} Simba-like (WS, 1024 MACs)" for n in [simbas] if n]
    parts += [f"{n} Eyeriss-like (RS 12×14)" for n in [eyerisses] if n]
    shared = FAMILY_SHARED_GBPS_PER_ACCELERATOR * len(accelerators)
    return System(
        name=name,
        accelerators=tuple(accelerators),
        dram_bandwidth_gbps=shared,
        description=f"{' + '.join(parts)}, shared DRAM {shared:g} GB/s",
    )


def _letter_of(name: str) -> str:
    return ", ".join(alias for alias, target in list_aliases().items() if target == name)


def _build(name: str) -> System:
    """A fresh System each call (``origin`` is a mutable dict; a shared one could be altered)."""
    hw_config, flow = _pairs()[name]
    data = _data()
    hw_blocks = data["hw_configs"][hw_config]["accelerators"]
    flow_blocks = data["dataflows"][flow]["blocks"]
    accelerators = []
    for index, (hw, df) in enumerate(zip(hw_blocks, flow_blocks, strict=True)):
        offchip_gbps = hw["offchip_bw"] * BYTES_PER_ELEMENT * CLOCK_GHZ
        accelerators.append(
            Accelerator(
                name=f"acc{index}",
                dataflow=Dataflow(df["style"]),
                pes=hw["num_pes"],
                clock_ghz=CLOCK_GHZ,
                buffer_bytes=hw["global_shared_memory"],
                pe_buffer_bytes=hw["PE_local_memory"],
                noc_bandwidth=hw["top_noc_bw"],
                offchip_bandwidth_gbps=float(offchip_gbps),
            )
        )
    parts = ", ".join(f"{acc.name} {acc.dataflow.value} {acc.pes} PEs" for acc in accelerators)
    letters = _letter_of(name)
    description = f"XRBench {hw_config} with {flow}: {parts}" + (
        f" (alias {letters})" if letters else ""
    )
    return System(
        name=name,
        accelerators=tuple(accelerators),
        dram_bandwidth_gbps=float(sum(acc.offchip_bandwidth_gbps for acc in accelerators)),
        description=description,
        origin={"suite": "xrbench", "hw_config": hw_config, "dataflow": flow},
    )


def get_system(name_or_path: str | Path) -> System:
    """A preset by canonical name or alias, or a system YAML file (``kind: system``).

    Unknown names raise :class:`InputError` with the nearest valid name.
    """
    text = str(name_or_path)
    presets = _pairs()
    aliases = list_aliases()
    if text in presets:
        return _build(text)
    if text in FAMILY_PRESETS:
        return _build_family(text)
    if text in aliases:
        return _build(aliases[text])
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        from rtmm_opt.hardware.systemfile import load_system

        return load_system(path)
    raise InputError(
        f"unknown system '{text}'{suggest(text, [*presets, *aliases, *FAMILY_PRESETS])}; "
        "see 'rtmm systems list', or give a system YAML file",
        field="system",
    )


def system_to_dict(system: System) -> dict[str, Any]:
    """A system as a ``kind: system`` mapping, which ``systemfile.load_system`` reads back."""
    data: dict[str, Any] = {
        "kind": "system",
        "name": system.name,
        "description": system.description,
        "dram_bandwidth_gbps": system.dram_bandwidth_gbps,
        "accelerators": [
            {
                "name": acc.name,
                "dataflow": acc.dataflow.value,
                "pes": acc.pes,
                "clock_ghz": acc.clock_ghz,
                "buffer_bytes": acc.buffer_bytes,
                "pe_buffer_bytes": acc.pe_buffer_bytes,
                "noc_bandwidth": acc.noc_bandwidth,
                "offchip_bandwidth_gbps": acc.offchip_bandwidth_gbps,
                **{
                    key: getattr(acc, key) for key in FAMILY_FIELDS if getattr(acc, key) is not None
                },
            }
            for acc in system.accelerators
        ],
    }
    if system.origin:
        data["origin"] = dict(system.origin)
    return data

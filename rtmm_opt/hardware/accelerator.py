"""Sub-accelerators and multi-accelerator systems."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rtmm_opt.errors import InputError, excerpt


class Dataflow(StrEnum):
    """Dataflow style of a sub-accelerator.

    * ``WS``: weight stationary, NVDLA-like (spatial over output channels K and input channels C).
    * ``OS``: output stationary, ShiDianNao-like (spatial over output rows/columns Y', X').
    * ``RS``: row stationary, Eyeriss-like. XRBench's RS mapping puts output columns X' and
      filter rows on the PE array and walks output rows Y' in time (see docs/hardware.md).
    """

    WS = "WS"
    OS = "OS"
    RS = "RS"

    @classmethod
    def parse(cls, name: str) -> Dataflow:
        key = str(name).strip().upper()
        key = {"NVDLA": "WS", "SHIDIANNAO": "OS", "EYERISS": "RS"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            raise InputError(
                f"unknown dataflow {excerpt(name)}; "
                "valid: WS (NVDLA), OS (ShiDianNao), RS (Eyeriss)"
            ) from None


@dataclass(frozen=True)
class Accelerator:
    """One sub-accelerator.

    ``noc_bandwidth`` is the on-chip distribution bandwidth in elements per cycle (MAESTRO's
    ``top_noc_bw``); ``offchip_bandwidth_gbps`` is its DRAM link in GB/s.

    Two optional fields select a design family's own spatial mapping instead of the XRBench one
    of its dataflow (``docs/hardware.md``, "Accelerator families"):

    * ``vector_width`` (``WS`` only): Simba-like PEs of vector MACs (Shao et al., MICRO'19):
      input channels C over the vector width, output channels K over the remaining
      ``pes / vector_width`` MAC lanes, partial sums kept in the PEs' accumulation buffers.
    * ``array_rows``/``array_cols`` (``RS`` only, both or neither, product ``pes``): an
      Eyeriss-like row-stationary PE array (Chen et al., ISCA'16: 12 × 14): filter rows R down
      the rows, replicated over output channels K to fill them, output rows Y' across columns.
    """

    name: str
    dataflow: Dataflow
    pes: int
    clock_ghz: float = 1.0
    buffer_bytes: int = 2 * 1024 * 1024
    pe_buffer_bytes: int = 8 * 1024
    noc_bandwidth: int = 128
    offchip_bandwidth_gbps: float = 128.0
    vector_width: int | None = None
    array_rows: int | None = None
    array_cols: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.dataflow, Dataflow):
            object.__setattr__(self, "dataflow", Dataflow.parse(str(self.dataflow)))
        for name in ("pes", "buffer_bytes", "pe_buffer_bytes", "noc_bandwidth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"must be a positive integer, got {excerpt(value)}", field=name)
        for name in ("clock_ghz", "offchip_bandwidth_gbps"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not (0 < value < 1e6):
                raise InputError(f"must be a positive number, got {excerpt(value)}", field=name)
        for name in ("vector_width", "array_rows", "array_cols"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise InputError(f"must be a positive integer, got {excerpt(value)}", field=name)
        if self.vector_width is not None:
            if self.dataflow is not Dataflow.WS:
                raise InputError(
                    "vector_width needs dataflow WS (Simba-like)", field="vector_width"
                )
            if self.pes % self.vector_width:
                raise InputError(
                    f"must divide pes ({self.pes}), got {self.vector_width}", field="vector_width"
                )
        if (self.array_rows is None) != (self.array_cols is None):
            raise InputError("give both array_rows and array_cols, or neither", field="array_rows")
        if self.array_rows is not None and self.array_cols is not None:
            if self.dataflow is not Dataflow.RS:
                raise InputError("array_rows needs dataflow RS (Eyeriss-like)", field="array_rows")
            if self.array_rows * self.array_cols != self.pes:
                raise InputError(
                    f"array_rows × array_cols must equal pes ({self.pes}), got "
                    f"{self.array_rows} × {self.array_cols}",
                    field="array_rows",
                )

    @property
    def family(self) -> str:
        """``simba`` (vector MACs), ``eyeriss`` (a row-stationary array) or ``xrbench``."""
        if self.vector_width is not None:
            return "simba"
        if self.array_rows is not None:
            return "eyeriss"
        return "xrbench"

    @property
    def peak_macs_per_ns(self) -> float:
        return self.pes * self.clock_ghz


@dataclass(frozen=True)
class System:
    """A set of sub-accelerators sharing one DRAM (``dram_bandwidth_gbps``).

    ``origin`` records where a preset came from, e.g. ``{"hw_config": "Dual_4K",
    "dataflow": "WS_OS"}`` for XRBench systems; table cost models key their rows on it.
    """

    name: str
    accelerators: tuple[Accelerator, ...]
    dram_bandwidth_gbps: float = 128.0
    description: str = ""
    origin: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.accelerators:
            raise InputError("a system needs at least one accelerator", field="accelerators")
        names = [acc.name for acc in self.accelerators]
        if len(set(names)) != len(names):
            raise InputError("accelerator names must be unique", field="accelerators")
        if not (0 < self.dram_bandwidth_gbps < 1e6):
            raise InputError(
                f"must be a positive number, got {excerpt(self.dram_bandwidth_gbps)}",
                field="dram_bandwidth_gbps",
            )

    def __len__(self) -> int:
        return len(self.accelerators)

    def index(self, name: str) -> int:
        for i, acc in enumerate(self.accelerators):
            if acc.name == name:
                return i
        raise InputError(f"no accelerator named {excerpt(name)} in system '{self.name}'")

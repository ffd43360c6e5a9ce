"""Analytical cost model: a dataflow-aware roofline with a simple reuse model.

For one layer on one sub-accelerator (cycles at the accelerator's clock)::

    compute  = N · Π_{spatial d} ceil(D_d / lanes_d) · Π_{temporal d} D_d   (1 MAC/PE/cycle)
    on-chip  = buffer↔array traffic (elements) / noc_bandwidth (elements per cycle)
    off-chip = DRAM bytes / (min(link, shared DRAM) GB/s / clock GHz)
    latency  = max(compute, on-chip, off-chip, 1)

    energy   = MACs · e_MAC + RF_ACCESSES_PER_MAC · MACs · e_RF
               + traffic · e_buffer + DRAM bytes · e_DRAM               (see :class:`EnergyTable`)

**Spatial mappings** (``lanes_d``), taken from the dataflow files that XRBench's presets use
(XRBench-MLSys2023 ``XRbench_evaluation/dataflows``) and generalised to any PE count P:

* ``WS`` (NVDLA): C over 16 lanes, K over 16, output columns X' over the remaining P/256.
* ``OS`` (ShiDianNao-like): C over 16 lanes, X' over 4, output rows Y' over the remaining P/64.
* ``RS`` (Eyeriss-like row stationary): filter rows R over 4 lanes (one filter row per PE of a
  PE set, Chen et al. ISCA'16 §IV), X' over 16, K over the remaining P/64.

Two design families have their own mapping, selected by optional :class:`Accelerator` fields
(``docs/hardware.md``, "Accelerator families"):

* **Simba-like** (``WS`` with ``vector_width`` v; Shao et al., "Simba: scaling deep-learning
  inference with multi-chip-module-based architecture", MICRO'19, §3: each PE has 8 vector MAC
  units of width 8, weight, input and accumulation buffers; 16 PEs per chiplet): C over v lanes
  (the vector), K over the remaining P/v lanes (the vector MACs of a PE and the PEs, each
  computing other output channels from multicast inputs). No output pixel is spatial.
* **Eyeriss-like** (``RS`` with ``array_rows`` × ``array_cols``; Chen, Krishna, Emer, Sze,
  ISCA'16 §V and JSSC'17: a 12 × 14 array): a PE set of R rows (one filter row each) × Y'
  columns (one output row each); sets are replicated ``rows // R`` times down the array over
  output channels K (the array is filled with filters, §V-B); filter rows taller than the array
  fold. X', S and C are temporal inside each PE (the 1-D row convolution in its scratchpad).

Every other dimension is temporal. The ceil is the tile-quantisation waste: a layer with K = 24
on 16 K lanes takes two passes, the second one half empty. ``utilisation = MACs / (compute · P)``.
Depthwise layers reduce over one channel (C → 1), so mappings that put C on lanes waste them —
as NVDLA does on depthwise convolutions.

**Buffer↔array traffic** follows each mapping's loop order (outermost first in the files):

* WS, loops C-tile → K-tile → Y' → X': weights are loaded once and stay while Y', X' sweep;
  inputs are re-sent for every K fold (ceil(K/16)); partial sums leave the array after each C
  fold and come back for the next: outputs · (2·ceil(C/16) − 1).
* OS, loops K → Y' → X'-tile → C-tile: all inputs are re-sent for every output channel (K is the
  outermost temporal loop): inputs · K; the weights of one channel are re-sent for every Y' and X'
  fold; outputs stay in the PEs until complete and leave once.
* Simba-like: weights once (stationary in the PEs' weight buffers); inputs multicast once per
  K fold: inputs · ceil(K / lanes_K); partial sums stay in the PEs' accumulation buffers, so
  outputs leave once.
* Eyeriss-like: each filter row stays in its PE's scratchpad while its input row slides past,
  and is re-sent for every fold of Y' over the columns: weights · ceil(Y' / cols); input rows
  are multicast diagonally to the R PEs that use them, once per fold of K over the replicated
  sets, each PE interleaving p filters in half its scratchpad (p = (PE bytes / 2) / (S · bytes
  per element), at least 1): inputs · ceil(K / (replicas · p)); partial sums accumulate down the
  columns and leave once.
* RS, loops Y' → X'-tile → C-tile → K: the weights are re-sent for every output row and X' fold:
  weights · Y' · ceil(X'/16); each input row is sent once for every output row it feeds (R of
  them): N · C · X · Y' · R; outputs leave once.

Each operand moves at least once (``max`` with the unique footprint), so layers without MACs —
pooling, element-wise, or a convolution whose input is smaller than its kernel — still cost their
data movement.

**DRAM bytes** (per layer, nothing kept between layers): if weights + inputs + outputs fit in the
global buffer, each is moved once. Otherwise half of the buffer holds a chunk of one operand while
the other streams past it once per chunk; the cheaper order is taken::

    dram = O + min(W + I · ceil(W / (B/2)),  I + W · ceil(I / (B/2)))

**Layers without a spatial mapping** (pool, element-wise, norm, activation, reshape) run as vector
operations on all P PEs: pool does R·S operations per output, the others one per output element,
reshape none (it only moves data).

How well this ranks layers like MAESTRO (the cost model XRBench schedules with) is measured by
``benchmarks/bench_cost_models.py`` and asserted in ``tests/hardware/test_cost_models.py``;
numbers are in ``docs/hardware.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rtmm_opt.hardware.accelerator import Accelerator, Dataflow, System
from rtmm_opt.hardware.cost.base import LayerCost
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.layer import Layer, LayerType


@dataclass(frozen=True)
class EnergyTable:
    """Energy per action, in picojoules. All the model's energy constants live here.

    * ``mac_pj`` = 0.3 pJ: an 8-bit integer multiply (0.2 pJ) plus a 32-bit accumulate (0.1 pJ),
      45 nm, 0.9 V — Horowitz, "Computing's energy problem (and what we can do about it)",
      ISSCC 2014, table of energy per operation. int8 operands match the project's default
      ``bytes_per_element = 1``.
    * ``rf_pj``, ``buffer_pj``, ``dram_pj``: 1×, 6× and 200× the MAC energy — the normalised
      access costs of Eyeriss (Chen, Emer, Sze, "Eyeriss: a spatial architecture for
      energy-efficient dataflow for CNNs", ISCA 2016, energy cost normalised to a MAC in 65 nm:
      RF 1×, inter-PE 2×, global buffer 6×, DRAM 200×). Counted per element access; DRAM per
      byte. The DRAM figure (60 pJ/B) is below Horowitz's 1.3–2.6 nJ per 64-bit DRAM access
      (160–325 pJ/B); either way DRAM dominates a layer's energy when it moves much data.
    * ``rf_accesses_per_mac`` = 2: the two operand reads of each MAC from the PE's local
      register file; the partial sum stays in the accumulator register, and its trips to the
      global buffer are counted in the traffic.

    The sum of action counts × energy per action is Accelergy's method (Wu, Emer, Sze,
    "Accelergy: an architecture-level energy estimation methodology", ICCAD 2019).
    """

    mac_pj: float = 0.3
    rf_pj: float = 0.3
    buffer_pj: float = 1.8
    dram_pj: float = 60.0
    rf_accesses_per_mac: float = 2.0


DEFAULT_ENERGY = EnergyTable()

# Lane counts of each dataflow's inner cluster levels, from XRBench's dataflow files
# (Cluster(16,P) / Cluster(4,P) directives); the outermost spatial dim gets the remaining PEs.
#   WS (NVDLA):      C ← 16, K ← 16, X' ← P/256
#   OS:              C ← 16, X' ← 4, Y' ← P/64
#   RS (Eyeriss):    R ← 4, X' ← 16, K ← P/64
_INNER_LANES: dict[Dataflow, tuple[tuple[str, int], tuple[str, int], str]] = {
    Dataflow.WS: (("C", 16), ("K", 16), "OX"),
    Dataflow.OS: (("C", 16), ("OX", 4), "OY"),
    Dataflow.RS: (("R", 4), ("OX", 16), "K"),
}


def spatial_lanes(dataflow: Dataflow, pes: int) -> dict[str, int]:
    """PE lanes per spatially mapped dimension (``OX``/``OY`` = X'/Y'); their product ≤ ``pes``."""
    (inner, inner_size), (middle, middle_size), outer = _INNER_LANES[dataflow]
    lanes_inner = min(inner_size, pes)
    lanes_middle = max(1, min(middle_size, pes // lanes_inner))
    lanes_outer = max(1, pes // (lanes_inner * lanes_middle))
    return {inner: lanes_inner, middle: lanes_middle, outer: lanes_outer}


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Breakdown:
    """Every term of one layer's analytical cost (cycles at the accelerator clock)."""

    compute_cycles: float
    noc_cycles: float
    dram_cycles: float
    macs: int
    utilisation: float
    traffic_elements: float
    dram_bytes: float
    energy_nj: float

    @property
    def cycles(self) -> float:
        return max(self.compute_cycles, self.noc_cycles, self.dram_cycles, 1.0)

    @property
    def bound(self) -> str:
        """Which roof limits the layer: ``compute``, ``noc`` or ``dram``."""
        terms = {"compute": self.compute_cycles, "noc": self.noc_cycles, "dram": self.dram_cycles}
        return max(terms, key=lambda k: terms[k])


def _dims(layer: Layer) -> dict[str, int]:
    """The seven loop bounds of a MAC layer (C is the per-output reduction: 1 for depthwise)."""
    return {
        "N": layer.N,
        "K": layer.K,
        "C": layer.reduction,
        "OY": layer.out_y,
        "OX": layer.out_x,
        "R": layer.R,
        "S": layer.S,
    }


def accelerator_lanes(accelerator: Accelerator, layer: Layer) -> dict[str, int]:
    """Lanes per spatial dimension for this accelerator (its family's mapping, see the module
    docstring). Eyeriss-like arrays depend on the layer: its filter height R sets how many PE
    sets fit down the rows. ``R`` lanes beyond the layer's R never occur."""
    if accelerator.vector_width is not None:
        width = min(accelerator.vector_width, accelerator.pes)
        return {"C": width, "K": max(1, accelerator.pes // width)}
    if accelerator.array_rows is not None and accelerator.array_cols is not None:
        rows = accelerator.array_rows
        filter_rows = min(layer.R, rows)
        return {"R": filter_rows, "K": max(1, rows // filter_rows), "OY": accelerator.array_cols}
    return spatial_lanes(accelerator.dataflow, accelerator.pes)


def compute_cycles(layer: Layer, accelerator: Accelerator) -> int:
    """Temporal steps of the layer's loop nest on the dataflow's spatial mapping (ceil waste)."""
    if not layer.type.computes:
        return _ceil_div(_vector_ops(layer), accelerator.pes)
    lanes = accelerator_lanes(accelerator, layer)
    steps = 1
    for dim, size in _dims(layer).items():
        steps *= _ceil_div(size, lanes[dim]) if dim in lanes else size
    return steps


def utilisation(layer: Layer, accelerator: Accelerator) -> float:
    """Fraction of the PE array the layer keeps busy: MACs / (compute cycles · PEs)."""
    steps = compute_cycles(layer, accelerator)
    work = layer.macs if layer.type.computes else _vector_ops(layer)
    return work / (steps * accelerator.pes) if steps else 0.0


def _vector_ops(layer: Layer) -> int:
    if layer.type is LayerType.POOL:
        return layer.output_elements * layer.R * layer.S
    if layer.type is LayerType.RESHAPE:
        return 0
    return layer.output_elements


def _operands(layer: Layer) -> tuple[int, int, int]:
    """Element counts (weights or second operand, inputs, outputs) of a layer."""
    outputs = layer.output_elements
    if not layer.type.computes:
        channels = layer.K if layer.type is not LayerType.RESHAPE else layer.C
        return 0, layer.N * channels * layer.Y * layer.X, outputs
    in_channels = layer.K if layer.type is LayerType.DWCONV else layer.C
    weights = layer.K * layer.reduction * layer.R * layer.S
    if layer.type is LayerType.MATMUL:  # the second operand is an activation, one per batch item
        weights *= layer.N
    return weights, layer.N * in_channels * layer.Y * layer.X, outputs


def noc_traffic(layer: Layer, accelerator: Accelerator) -> int:
    """Elements moved between the global buffer and the PE array (see the module docstring)."""
    weights, inputs, outputs = _operands(layer)
    unique = weights + inputs + outputs
    if not layer.type.computes:
        return unique
    lanes = accelerator_lanes(accelerator, layer)
    d = _dims(layer)
    if accelerator.family == "simba":
        traffic = weights + inputs * _ceil_div(d["K"], lanes["K"]) + outputs
    elif accelerator.family == "eyeriss":
        row_bytes = d["S"] * layer.bytes_per_element
        interleaved = max(1, (accelerator.pe_buffer_bytes // 2) // row_bytes)
        traffic = (
            weights * _ceil_div(d["OY"], lanes["OY"])
            + inputs * _ceil_div(d["K"], lanes["K"] * interleaved)
            + outputs
        )
    elif accelerator.dataflow is Dataflow.WS:
        traffic = (
            weights
            + inputs * _ceil_div(d["K"], lanes["K"])
            + outputs * (2 * _ceil_div(d["C"], lanes["C"]) - 1)
        )
    elif accelerator.dataflow is Dataflow.OS:
        folds = _ceil_div(d["OY"], lanes["OY"]) * _ceil_div(d["OX"], lanes["OX"])
        traffic = inputs * d["K"] + weights * folds + outputs
    else:  # RS
        row_inputs = inputs // max(1, layer.Y)  # one input row of every channel
        traffic = (
            weights * d["OY"] * _ceil_div(d["OX"], lanes["OX"])
            + row_inputs * d["OY"] * d["R"]
            + outputs
        )
    return max(traffic, unique)


def dram_bytes(layer: Layer, accelerator: Accelerator) -> int:
    """Off-chip bytes: each operand once if all fit in the buffer, else chunked re-fetch."""
    weights, inputs, outputs = (n * layer.bytes_per_element for n in _operands(layer))
    total = weights + inputs + outputs
    buffer = accelerator.buffer_bytes
    if total <= buffer:
        return total
    half = max(1, buffer // 2)
    weights_held = weights + inputs * _ceil_div(weights, half) if weights else inputs
    inputs_held = inputs + weights * _ceil_div(inputs, half) if inputs else weights
    return outputs + min(weights_held, inputs_held)


def breakdown(
    layer: Layer,
    accelerator: Accelerator,
    shared_dram_gbps: float | None = None,
    energy: EnergyTable = DEFAULT_ENERGY,
) -> Breakdown:
    """All terms of the analytical cost of ``layer`` on ``accelerator``.

    ``shared_dram_gbps`` caps the accelerator's own link (the layer runs alone on the system).
    """
    steps = compute_cycles(layer, accelerator)
    traffic = noc_traffic(layer, accelerator)
    offchip = dram_bytes(layer, accelerator)
    link_gbps = accelerator.offchip_bandwidth_gbps
    if shared_dram_gbps is not None:
        link_gbps = min(link_gbps, shared_dram_gbps)
    bytes_per_cycle = link_gbps / accelerator.clock_ghz
    work = layer.macs if layer.type.computes else _vector_ops(layer)
    energy_pj = (
        work * (energy.mac_pj + energy.rf_accesses_per_mac * energy.rf_pj)
        + traffic * energy.buffer_pj
        + offchip * energy.dram_pj
    )
    return Breakdown(
        compute_cycles=float(steps),
        noc_cycles=traffic / accelerator.noc_bandwidth,
        dram_cycles=offchip / bytes_per_cycle,
        macs=layer.macs,
        utilisation=work / (steps * accelerator.pes) if steps else 0.0,
        traffic_elements=float(traffic),
        dram_bytes=float(offchip),
        energy_nj=energy_pj / 1000.0,
    )


@lru_cache(maxsize=65536)
def _cached_cost(
    layer: Layer, accelerator: Accelerator, shared_dram_gbps: float, energy: EnergyTable
) -> LayerCost:
    terms = breakdown(layer, accelerator, shared_dram_gbps, energy)
    return LayerCost(cycles=terms.cycles, energy_nj=terms.energy_nj, dram_bytes=terms.dram_bytes)


class AnalyticalCostModel:
    """Dataflow-aware roofline cost model (see the module docstring for every formula)."""

    name = "analytical"

    def __init__(self, energy: EnergyTable = DEFAULT_ENERGY) -> None:
        self.energy = energy

    def layer_cost(
        self, model: ModelGraph, layer_index: int, system: System, accelerator_index: int
    ) -> LayerCost:
        layer = model.layer(layer_index)
        accelerator = system.accelerators[accelerator_index]
        return _cached_cost(layer, accelerator, float(system.dram_bandwidth_gbps), self.energy)

    def breakdown(
        self, model: ModelGraph, layer_index: int, system: System, accelerator_index: int
    ) -> Breakdown:
        """The cost's terms (compute/NoC/DRAM cycles, utilisation, traffic) for inspection."""
        return breakdown(
            model.layer(layer_index),
            system.accelerators[accelerator_index],
            system.dram_bandwidth_gbps,
            self.energy,
        )

    def __repr__(self) -> str:
        return (
            "AnalyticalCostModel()"
            if self.energy == DEFAULT_ENERGY
            else f"AnalyticalCostModel({self.energy})"
        )

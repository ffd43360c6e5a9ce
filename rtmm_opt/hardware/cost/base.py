"""The cost-model interface: ``(layer, accelerator) -> latency in cycles, energy, DRAM bytes``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from rtmm_opt.hardware.accelerator import System
from rtmm_opt.workload.graph import ModelGraph


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer on one sub-accelerator.

    ``cycles`` are at that accelerator's clock; ``energy_nj`` in nanojoules; ``dram_bytes`` is
    the off-chip traffic the layer causes there (what shared-bandwidth contention divides).
    """

    cycles: float
    energy_nj: float
    dram_bytes: float = 0.0

    def __add__(self, other: LayerCost) -> LayerCost:
        return LayerCost(
            self.cycles + other.cycles,
            self.energy_nj + other.energy_nj,
            self.dram_bytes + other.dram_bytes,
        )


ZERO_COST = LayerCost(0.0, 0.0, 0.0)


class CostModel(Protocol):
    """Anything that prices one layer of a model on one sub-accelerator of a system."""

    name: str

    def layer_cost(
        self, model: ModelGraph, layer_index: int, system: System, accelerator_index: int
    ) -> LayerCost: ...


def segment_cost(
    cost_model: CostModel,
    model: ModelGraph,
    layers: Iterable[int],
    system: System,
    accelerator_index: int,
) -> LayerCost:
    """Costs add up over a segment's layers (XRBench's runtime sums per-layer entries too)."""
    total = ZERO_COST
    for index in layers:
        total = total + cost_model.layer_cost(model, index, system, accelerator_index)
    return total

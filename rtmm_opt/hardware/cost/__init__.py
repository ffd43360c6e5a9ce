"""Cost models: analytical (dataflow-aware roofline) and table (per-layer CSV, e.g. MAESTRO)."""

from rtmm_opt.hardware.cost.base import ZERO_COST, CostModel, LayerCost, segment_cost

__all__ = ["ZERO_COST", "CostModel", "LayerCost", "segment_cost"]

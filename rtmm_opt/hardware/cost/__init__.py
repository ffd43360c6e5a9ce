"""Cost models: analytical (dataflow-aware roofline) and table (per-layer CSV, e.g. MAESTRO)."""

from __future__ import annotations

from rtmm_opt.errors import InputError
from rtmm_opt.hardware.cost.analytical import AnalyticalCostModel, EnergyTable
from rtmm_opt.hardware.cost.base import ZERO_COST, CostModel, LayerCost, segment_cost
from rtmm_opt.hardware.cost.table import TableCostModel, bundled_table_path
from rtmm_opt.io.strict import suggest

COST_SPECS = ("analytical", "table:FILE", "table:xrbench")


def make_cost_model(spec: str) -> CostModel:
    """A cost model from its CLI spelling: ``analytical``, ``table:FILE`` or ``table:xrbench``.

    ``table:xrbench`` is the bundled MAESTRO table (:func:`bundled_table_path`).
    """
    text = str(spec).strip()
    if text == "analytical":
        return AnalyticalCostModel()
    if text.startswith("table:"):
        target = text[len("table:") :].strip()
        if not target:
            raise InputError(
                "'table:' needs a file, e.g. table:costs.csv.gz or table:xrbench", field="cost"
            )
        if target == "xrbench":
            path = bundled_table_path()
            if not path.exists():
                raise InputError(
                    "the bundled XRBench table is missing (it ships with a source checkout; "
                    "scripts/convert_xrbench_costs.py rebuilds it)",
                    file=path,
                    field="cost",
                )
            model = TableCostModel(path)
            model.name = "table:xrbench"
            return model
        return TableCostModel(target)
    raise InputError(
        f"unknown cost model '{text}'{suggest(text, ['analytical', 'table:xrbench'])}; "
        f"valid: {', '.join(COST_SPECS)}",
        field="cost",
    )


__all__ = [
    "COST_SPECS",
    "ZERO_COST",
    "AnalyticalCostModel",
    "CostModel",
    "EnergyTable",
    "LayerCost",
    "TableCostModel",
    "bundled_table_path",
    "make_cost_model",
    "segment_cost",
]

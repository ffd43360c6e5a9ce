"""Workloads: layers, model DAGs and their importers (MAESTRO/XRBench ``.m``, YAML, ONNX).

The names below load on first use, so that importing a light module of this package (layers,
granularities) does not load NetworkX.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtmm_opt.workload.granularity import Granularity, Segment
    from rtmm_opt.workload.graph import ModelGraph
    from rtmm_opt.workload.layer import Layer, LayerType, SparsityStats

__all__ = ["Granularity", "Layer", "LayerType", "ModelGraph", "Segment", "SparsityStats"]

_HOMES = {
    "Granularity": "granularity",
    "Segment": "granularity",
    "ModelGraph": "graph",
    "Layer": "layer",
    "LayerType": "layer",
    "SparsityStats": "layer",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"rtmm_opt.workload.{home}"), name)

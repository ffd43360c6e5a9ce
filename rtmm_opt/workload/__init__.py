"""Workloads: layers, model DAGs and their importers (MAESTRO/XRBench ``.m``, YAML, ONNX)."""

from rtmm_opt.workload.graph import Granularity, ModelGraph, Segment
from rtmm_opt.workload.layer import Layer, LayerType, SparsityStats

__all__ = ["Granularity", "Layer", "LayerType", "ModelGraph", "Segment", "SparsityStats"]

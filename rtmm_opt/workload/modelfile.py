"""Model YAML files (``kind: model``): one :class:`ModelGraph` per file.

::

    kind: model
    name: ES_RITNet
    source: XRBench-MLSys2023 commit 89156663, .../VR_gaming.m   # optional provenance
    layers:
      - {name: conv1, type: conv, N: 1, K: 32, C: 32, Y: 160, X: 100, R: 3, S: 3}
      - {name: conv2, type: conv, N: 1, K: 32, C: 32, Y: 80, X: 50, R: 3, S: 3, stride_y: 2}
      - {name: fc, type: fc, K: 10, C: 512, Y: 1,
         bytes_per_element: 2, sparsity: {input_mean: 0.4, weight: 0.1, input_std: 0.05}}
    edges:            # optional; omitted = a chain in list order
      - [conv1, conv2]
      - [conv2, fc]

Dimensions follow MAESTRO (:mod:`rtmm_opt.workload.layer`): ``Y``/``X`` are the input size,
and a dimension left out is 1. ``stride_y``/``stride_x`` and ``bytes_per_element`` default to 1,
``sparsity`` fields to 0. Layers must be listed in a topological order (every edge points to a
later layer); the graph must be acyclic and connected. Every problem raises :class:`InputError`
with the file and a field path such as ``layers[3].K`` or ``edges[2][1]``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.strict import Fields, dump_yaml, load_yaml, suggest
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.layer import DIMENSIONS, Layer, LayerType, SparsityStats
from rtmm_opt.workload.maestro import MAX_DIMENSION

_SPARSITY_FIELDS = ("input_mean", "weight", "input_std")


# -- reading -------------------------------------------------------------------------------------


def _read_layer(spec: Fields) -> Layer:
    name = spec.text("name")
    type_text = spec.text("type")
    try:
        layer_type = LayerType.parse(type_text)
    except InputError as error:
        raise error.located(spec.file, spec.field("type")) from None
    dims = {d: spec.integer(d, 1, minimum=1, maximum=MAX_DIMENSION) for d in DIMENSIONS}
    stride_y = spec.integer("stride_y", 1, minimum=1, maximum=MAX_DIMENSION)
    stride_x = spec.integer("stride_x", 1, minimum=1, maximum=MAX_DIMENSION)
    bytes_per_element = spec.integer("bytes_per_element", 1, minimum=1, maximum=64)
    sparsity = None
    fractions = spec.mapping("sparsity", None)
    if fractions is not None:
        sparsity = SparsityStats(
            **{
                key: float(fractions.number(key, 0.0, minimum=0, maximum=1))
                for key in _SPARSITY_FIELDS
            }
        )
        fractions.done()
    spec.done()
    try:
        return Layer(
            name=name,
            type=layer_type,
            stride_y=stride_y,
            stride_x=stride_x,
            bytes_per_element=bytes_per_element,
            sparsity=sparsity,
            **dims,
        )
    except InputError as error:
        raise error.located(spec.file, spec.path) from None


def _read_edges(spec: Fields, names: list[str]) -> list[tuple[int, int]]:
    raw_edges = spec.items("edges")
    index = {name: i for i, name in enumerate(names)}
    edges: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    for e, raw in enumerate(raw_edges):
        where = f"edges[{e}]"
        if not isinstance(raw, list) or len(raw) != 2:
            raise spec.error(where, f"expected a pair [from_layer, to_layer], got {excerpt(raw)}")
        ends = []
        for side, end in enumerate(raw):
            if not isinstance(end, str) or end not in index:
                raise spec.error(
                    f"{where}[{side}]",
                    f"no layer named {excerpt(end)}{suggest(str(end), names)}",
                )
            ends.append(index[end])
        edge = (ends[0], ends[1])
        if edge in seen:
            raise spec.error(where, f"duplicate edge [{raw[0]}, {raw[1]}]")
        seen.add(edge)
        edges.append(edge)

    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(names)))
    graph.add_edges_from(edges)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [names[u] for u, _ in nx.find_cycle(graph)]
        raise spec.error("edges", f"layer graph has a cycle: {' -> '.join([*cycle, cycle[0]])}")
    for e, (u, v) in enumerate(edges):
        if u >= v:
            raise spec.error(
                f"edges[{e}]",
                f"edge [{names[u]}, {names[v]}] points to an earlier layer; list the layers "
                "in a topological order (producers before consumers)",
            )
    if not nx.is_weakly_connected(graph):
        parts = sorted(nx.weakly_connected_components(graph), key=min)
        loose = names[min(parts[1])]
        raise spec.error(
            "edges",
            f"layer graph is not connected ({len(parts)} separate parts; layer '{loose}' is not "
            f"reachable from '{names[0]}')",
        )
    return edges


def model_from_dict(data: Any, *, file: str | Path | None = None) -> ModelGraph:
    """Build a model from the parsed YAML mapping (see the module docstring for the format).

    The model's ``source`` is the file's ``source`` field, else the file path.
    """
    spec = Fields(data, file=file)
    spec.text("kind", choices=["model"])
    name = spec.text("name")
    source = spec.text("source", None)
    raw_layers = spec.items("layers")
    if not raw_layers:
        raise spec.error("layers", "a model needs at least one layer")
    layers: list[Layer] = []
    first_seen: dict[str, int] = {}
    for i, raw in enumerate(raw_layers):
        layer = _read_layer(spec.child(raw, f"layers[{i}]"))
        if layer.name in first_seen:
            raise spec.error(
                f"layers[{i}].name",
                f"duplicate layer name '{layer.name}' (also layers[{first_seen[layer.name]}])",
            )
        first_seen[layer.name] = i
        layers.append(layer)
    names = [layer.name for layer in layers]
    if spec.has("edges"):
        edges = _read_edges(spec, names)
    else:
        edges = [(i, i + 1) for i in range(len(layers) - 1)]
    spec.done()
    if source is None and file is not None:
        source = str(file)
    try:
        return ModelGraph.from_edges(name, layers, edges, source=source)
    except InputError as error:  # the checks above should leave nothing for ModelGraph to find
        raise InputError(error.reason, file=file, field=error.field) from None


def load_model(path: str | Path) -> ModelGraph:
    """Read a model YAML file; any problem raises :class:`InputError` naming file and field."""
    return model_from_dict(load_yaml(path), file=str(path))


# -- writing -------------------------------------------------------------------------------------


def _layer_to_dict(layer: Layer) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": layer.name, "type": layer.type.value}
    entry.update(layer.dims())
    if layer.stride_y != 1:
        entry["stride_y"] = layer.stride_y
    if layer.stride_x != 1:
        entry["stride_x"] = layer.stride_x
    if layer.bytes_per_element != 1:
        entry["bytes_per_element"] = layer.bytes_per_element
    if layer.sparsity is not None:
        entry["sparsity"] = {key: getattr(layer.sparsity, key) for key in _SPARSITY_FIELDS}
    return entry


def model_to_dict(graph: ModelGraph) -> dict[str, Any]:
    """The YAML mapping for a model; ``edges`` is left out when the model is a chain."""
    data: dict[str, Any] = {"kind": "model", "name": graph.name}
    if graph.source is not None:
        data["source"] = graph.source
    data["layers"] = [_layer_to_dict(layer) for layer in graph.layers]
    if not graph.is_chain:
        names = [layer.name for layer in graph.layers]
        data["edges"] = [[names[u], names[v]] for u, v in sorted(graph.graph.edges)]
    return data


def _flow(value: Any) -> str:
    """One value as single-line flow-style YAML (quoting whatever needs it)."""
    text = dump_yaml(value, default_flow_style=True, sort_keys=False, width=math.inf)
    return text.removesuffix("\n...\n").strip()


def model_to_yaml(graph: ModelGraph, *, header: str | None = None) -> str:
    """Compact YAML text: one flow-style line per layer and per edge.

    ``header`` (if given) is written as ``#`` comment lines at the top.
    """
    data = model_to_dict(graph)
    lines = [f"# {line}".rstrip() for line in (header.splitlines() if header else [])]
    for key in ("kind", "name", "source"):
        if key in data:
            lines.append(f"{key}: {_flow(data[key])}")
    lines.append("layers:")
    lines += [f"  - {_flow(entry)}" for entry in data["layers"]]
    if "edges" in data:
        lines.append("edges:")
        lines += [f"  - {_flow(edge)}" for edge in data["edges"]]
    return "\n".join(lines) + "\n"


def dump_model(graph: ModelGraph, path: str | Path, *, header: str | None = None) -> None:
    """Write a model YAML file that :func:`load_model` reads back to an equal model."""
    Path(path).write_text(model_to_yaml(graph, header=header), encoding="utf-8")


def models_equal(a: ModelGraph, b: ModelGraph) -> bool:
    """Same name, layers (in order) and edges; ``source`` is provenance and not compared."""
    return (
        a.name == b.name and a.layers == b.layers and sorted(a.graph.edges) == sorted(b.graph.edges)
    )

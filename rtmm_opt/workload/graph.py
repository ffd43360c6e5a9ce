"""A model as a NetworkX DAG of layers, and its coarsening into segments.

Nodes are the integers ``0..n-1`` in the model's file order (which is a topological order for
every importer here); each node carries its :class:`Layer` under the ``"layer"`` attribute. An
edge ``u → v`` means v consumes u's output, so skip and residual connections are real edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

import networkx as nx

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.workload.granularity import Granularity, Segment
from rtmm_opt.workload.layer import Layer

__all__ = ["Granularity", "ModelGraph", "Segment"]


class ModelGraph:
    """A validated, acyclic, weakly connected DAG of layers."""

    def __init__(self, name: str, graph: nx.DiGraph, *, source: str | None = None) -> None:
        self.name = name
        self.graph = graph
        self.source = source
        self._validate()

    @classmethod
    def chain(cls, name: str, layers: Sequence[Layer], *, source: str | None = None) -> ModelGraph:
        """A sequential model: layer i feeds layer i+1."""
        return cls.from_edges(
            name, layers, [(i, i + 1) for i in range(len(layers) - 1)], source=source
        )

    @classmethod
    def from_edges(
        cls,
        name: str,
        layers: Sequence[Layer],
        edges: Iterable[tuple[int, int]],
        *,
        source: str | None = None,
    ) -> ModelGraph:
        graph = nx.DiGraph()
        for index, layer in enumerate(layers):
            graph.add_node(index, layer=layer)
        for u, v in edges:
            if u not in graph or v not in graph:
                raise InputError(
                    f"edge ({u}, {v}) names a layer that does not exist",
                    file=source,
                    field=f"models.{name}.edges",
                )
            graph.add_edge(u, v)
        return cls(name, graph, source=source)

    def _validate(self) -> None:
        where = f"models.{self.name}"
        n = self.graph.number_of_nodes()
        if n == 0:
            raise InputError("model has no layers", file=self.source, field=where)
        if sorted(self.graph.nodes) != list(range(n)):
            raise InputError("layer nodes must be numbered 0..n-1", file=self.source, field=where)
        if not nx.is_directed_acyclic_graph(self.graph):
            cycle = nx.find_cycle(self.graph)
            path = " -> ".join(self.layer(u).name for u, _ in cycle)
            raise InputError(f"layer graph has a cycle: {path}", file=self.source, field=where)
        if not nx.is_weakly_connected(self.graph):
            parts = nx.number_weakly_connected_components(self.graph)
            raise InputError(
                f"layer graph is not connected ({parts} separate parts)",
                file=self.source,
                field=where,
            )
        names = [self.layer(i).name for i in range(n)]
        if len(set(names)) != n:
            dup = next(name for name in names if names.count(name) > 1)
            raise InputError(f"duplicate layer name '{dup}'", file=self.source, field=where)

    # -- access -----------------------------------------------------------------------------------
    def layer(self, index: int) -> Layer:
        layer: Layer = self.graph.nodes[index]["layer"]
        return layer

    @cached_property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(self.layer(i) for i in range(len(self)))

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    @cached_property
    def order(self) -> tuple[int, ...]:
        """A deterministic topological order: file order wherever the edges allow it."""
        return tuple(nx.lexicographical_topological_sort(self.graph))

    @property
    def is_chain(self) -> bool:
        return all(self.graph.has_edge(i, i + 1) for i in range(len(self) - 1)) and (
            self.graph.number_of_edges() == len(self) - 1
        )

    # -- summaries ------------------------------------------------------------------------------
    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.weight_elements for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers)

    @property
    def activation_bytes(self) -> int:
        return sum(layer.input_bytes + layer.output_bytes for layer in self.layers)

    def summary(self) -> dict[str, int | str]:
        return {
            "name": self.name,
            "layers": len(self),
            "edges": self.graph.number_of_edges(),
            "macs": self.macs,
            "params": self.params,
            "weight_bytes": self.weight_bytes,
            "activation_bytes": self.activation_bytes,
        }

    # -- coarsening -------------------------------------------------------------------------------
    def segments(self, granularity: Granularity | str) -> tuple[Segment, ...]:
        """Cut the topological order into contiguous segments.

        ``block:N`` makes up to N segments whose MAC totals are as even as the cut points allow:
        cut k goes at the layer boundary whose prefix sum is nearest to k/N of the total (layers
        are weighted by MACs, or all equally when the model has none).
        """
        if isinstance(granularity, str):
            granularity = Granularity.parse(granularity)
        order = self.order
        if granularity.kind == "model":
            return (Segment(0, order),)
        if granularity.kind == "layer":
            return tuple(Segment(i, (node,)) for i, node in enumerate(order))
        blocks = min(granularity.blocks, len(order))
        weights = [self.layer(node).macs for node in order]
        if sum(weights) == 0:
            weights = [1] * len(order)
        prefix = [0]
        for w in weights:
            prefix.append(prefix[-1] + w)
        total = prefix[-1]
        cuts = [0]
        for k in range(1, blocks):
            target = total * k / blocks
            # boundaries strictly after the previous cut, leaving room for the remaining blocks
            lo, hi = cuts[-1] + 1, len(order) - (blocks - k)
            best = min(range(lo, hi + 1), key=lambda b: (abs(prefix[b] - target), b))
            cuts.append(best)
        cuts.append(len(order))
        return tuple(Segment(i, tuple(order[cuts[i] : cuts[i + 1]])) for i in range(len(cuts) - 1))

    def segment_edges(self, segments: Sequence[Segment]) -> list[tuple[int, int]]:
        """Edges between segments induced by layer edges (always forward, hence acyclic)."""
        owner = {node: seg.index for seg in segments for node in seg.layers}
        edges = {(owner[u], owner[v]) for u, v in self.graph.edges if owner[u] != owner[v]}
        return sorted(edges)

    def __repr__(self) -> str:
        return f"ModelGraph({excerpt(self.name)}, layers={len(self)}, macs={self.macs})"

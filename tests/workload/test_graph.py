"""Layers, model DAGs and coarsening, against hand-computed values."""

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtmm_opt.errors import InputError
from rtmm_opt.workload import Granularity, Layer, LayerType, ModelGraph


def conv(name, K=8, C=8, Y=10, X=10, R=3, S=3, **kw):
    return Layer(name, LayerType.CONV, K=K, C=C, Y=Y, X=X, R=R, S=S, **kw)


def test_conv_macs_follow_maestro_convention():
    layer = conv("c", K=32, C=16, Y=160, X=100, R=3, S=3)
    # output 158 x 98 (input sizes, no padding)
    assert (layer.out_y, layer.out_x) == (158, 98)
    assert layer.macs == 32 * 16 * 3 * 3 * 158 * 98
    assert layer.weight_elements == 32 * 16 * 9


def test_filter_larger_than_input_has_zero_macs():
    layer = conv("c", Y=4, X=4, R=5, S=5)
    assert layer.out_y == 0 and layer.macs == 0


def test_strided_and_depthwise_and_fc():
    strided = conv("s", K=8, C=3, Y=34, X=34, R=3, S=3, stride_y=2, stride_x=2)
    assert (strided.out_y, strided.out_x) == (16, 16)
    assert strided.macs == 8 * 3 * 9 * 16 * 16
    dw = Layer("dw", LayerType.DWCONV, K=96, C=96, Y=42, X=27, R=3, S=3)
    assert dw.macs == 96 * 9 * 40 * 25
    assert dw.weight_elements == 96 * 9
    fc = Layer("fc", LayerType.parse("gemm"), K=1024, C=512, Y=128)
    assert fc.type is LayerType.FC and fc.macs == 1024 * 512 * 128
    assert Layer("p", LayerType.POOL, K=8, C=8, Y=4, X=4, R=2, S=2).macs == 0


def test_bad_layers_are_input_errors():
    with pytest.raises(InputError, match=r"unknown layer type 'convv'.*did you mean 'conv'"):
        LayerType.parse("convv")
    with pytest.raises(InputError, match="K"):
        conv("c", K=0)


def chain(n, macs=None):
    layers = [conv(f"l{i}", K=1, C=1, Y=1, X=(macs[i] if macs else 1), R=1, S=1) for i in range(n)]
    return ModelGraph.chain("m", layers)


def test_cycles_and_disconnected_graphs_are_rejected():
    layers = [conv(f"l{i}") for i in range(3)]
    with pytest.raises(InputError, match="cycle: l0 -> l1 -> l2"):
        ModelGraph.from_edges("m", layers, [(0, 1), (1, 2), (2, 0)])
    with pytest.raises(InputError, match="not connected"):
        ModelGraph.from_edges("m", layers, [(0, 1)])
    with pytest.raises(InputError, match="duplicate layer name"):
        ModelGraph.chain("m", [conv("a"), conv("a")])


def test_block_segments_balance_macs():
    # MACs 10, 10, 10, 10, 40: two blocks cut at half of 80 -> [0..3] and [4]
    model = chain(5, macs=[10, 10, 10, 10, 40])
    segments = model.segments("block:2")
    assert [s.layers for s in segments] == [(0, 1, 2, 3), (4,)]
    assert [s.layers for s in model.segments("model")] == [(0, 1, 2, 3, 4)]
    assert len(model.segments("layer")) == 5
    # more blocks than layers: one layer each
    assert len(model.segments("block:9")) == 5


def test_segment_edges_keep_skip_connections():
    layers = [conv(f"l{i}") for i in range(4)]
    model = ModelGraph.from_edges("res", layers, [(0, 1), (1, 2), (2, 3), (0, 3)])
    segments = model.segments(Granularity("block", 2))
    edges = model.segment_edges(segments)
    assert edges == [(0, 1)]
    per_layer = model.segment_edges(model.segments("layer"))
    assert (0, 3) in per_layer


@given(
    macs=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=40),
    blocks=st.integers(min_value=1, max_value=12),
)
def test_blocks_partition_the_topological_order(macs, blocks):
    model = chain(len(macs), macs)
    segments = model.segments(f"block:{blocks}")
    assert len(segments) == min(blocks, len(macs))
    flat = [layer for s in segments for layer in s.layers]
    assert flat == list(range(len(macs)))
    assert all(s.layers for s in segments)
    # no single boundary move could make the largest block smaller than half the even share
    # would; check the weaker invariant that the heaviest block is at most share + max layer
    share = sum(macs) / len(segments)
    heaviest = max(sum(macs[i] for i in s.layers) for s in segments)
    assert heaviest <= share + max(macs) + 1e-9


def test_granularity_parse():
    assert str(Granularity.parse("block:4")) == "block:4"
    for bad in ("block:0", "blocks:3", "segment", ""):
        with pytest.raises(InputError, match="granularity"):
            Granularity.parse(bad)


def test_lexicographic_topological_order_is_file_order_for_dags():
    layers = [conv(f"l{i}") for i in range(4)]
    model = ModelGraph.from_edges("diamond", layers, [(0, 1), (0, 2), (1, 3), (2, 3)])
    assert model.order == (0, 1, 2, 3)
    assert nx.is_directed_acyclic_graph(model.graph)

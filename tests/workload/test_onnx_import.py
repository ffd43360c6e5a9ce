"""ONNX import: small graphs built here with onnx.helper, checked against hand-computed figures.

MAC counts follow MAESTRO's convention (rtmm_opt/workload/layer.py): N·K·C·R·S·Y'·X' with C → 1
for depthwise. Output sizes come from the ONNX operator spec, floor((H + pads − d(k−1) − 1)/s) + 1,
computed independently of the importer's folding of padding into Y/X.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support import ROOT

from rtmm_opt.errors import InputError
from rtmm_opt.workload.layer import LayerType

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
except ImportError:  # the importer is an optional extra
    onnx = None

from rtmm_opt.workload.onnx_import import import_onnx

needs_onnx = pytest.mark.skipif(
    onnx is None, reason="onnx is not installed (pip install 'rtmm-opt[onnx]')"
)
FLOAT = 1  # TensorProto.FLOAT, usable without onnx


# -- building models --------------------------------------------------------------------------


def weight(name: str, *shape: int) -> Any:
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def tensor(name: str, shape: list[Any] | None, elem_type: int = FLOAT) -> Any:
    return helper.make_tensor_value_info(name, elem_type, shape)


def save(
    tmp_path: Path,
    nodes: list[Any],
    inputs: list[Any],
    outputs: list[Any],
    initializers: Sequence[Any] = (),
    value_info: Sequence[Any] = (),
    filename: str = "model.onnx",
    domains: dict[str, int] | None = None,
) -> Path:
    graph = helper.make_graph(
        nodes, "g", inputs, outputs, initializer=list(initializers), value_info=list(value_info)
    )
    opsets = [helper.make_opsetid("", 17)]
    opsets += [helper.make_opsetid(d, v) for d, v in (domains or {}).items()]
    model = helper.make_model(graph, opset_imports=opsets)
    path = tmp_path / filename
    onnx.save(model, str(path))
    return path


def conv_out(size: int, kernel: int, stride: int, pads: int, dilation: int = 1) -> int:
    """Output size per the ONNX Conv spec (independent of the importer's Y/X folding)."""
    return (size + pads - dilation * (kernel - 1) - 1) // stride + 1


def by_name(model: Any) -> dict[str, Any]:
    return {layer.name: layer for layer in model.layers}


def edge_names(model: Any) -> set[tuple[str, str]]:
    return {(model.layer(u).name, model.layer(v).name) for u, v in model.graph.edges}


# -- tests --------------------------------------------------------------------------------


@needs_onnx
def test_conv_relu_conv_chain_dims_and_macs(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node(
                "Conv", ["x", "w1"], ["c1"], "conv1", pads=[1, 1, 1, 1], strides=[2, 2]
            ),
            helper.make_node("Relu", ["c1"], ["r1"], "relu1"),
            helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], "conv2"),
        ],
        [tensor("x", [1, 3, 32, 32])],
        [tensor("y", [1, 16, 14, 14])],
        [weight("w1", 8, 3, 3, 3), weight("w2", 16, 8, 3, 3), weight("b2", 16)],
    )
    model = import_onnx(path)
    assert model.name == "model" and model.source == str(path)
    assert [layer.name for layer in model.layers] == ["conv1", "relu1", "conv2"]
    assert model.is_chain
    conv1, relu1, conv2 = model.layers
    # conv 3×3, C=3→K=8, 32×32 input, pad 1, stride 2: out 16×16
    assert conv_out(32, 3, 2, 2) == 16
    assert conv1.type is LayerType.CONV
    assert (conv1.N, conv1.K, conv1.C, conv1.Y, conv1.X, conv1.R, conv1.S) == (
        1, 8, 3, 34, 34, 3, 3,
    )  # fmt: skip
    assert (conv1.stride_y, conv1.stride_x, conv1.out_y, conv1.out_x) == (2, 2, 16, 16)
    assert conv1.macs == 8 * 3 * 9 * 16 * 16
    assert relu1.type is LayerType.ACTIVATION and relu1.macs == 0
    assert relu1.input_elements == relu1.output_elements == 8 * 16 * 16
    assert (conv2.Y, conv2.out_y) == (16, 14)
    assert conv2.macs == 16 * 8 * 9 * 14 * 14
    assert model.macs == 8 * 3 * 9 * 16 * 16 + 16 * 8 * 9 * 14 * 14
    # float32 file: 4 bytes per element unless told otherwise
    assert conv1.bytes_per_element == 4 and conv1.weight_bytes == 8 * 3 * 9 * 4
    assert conv1.output_bytes == 8 * 16 * 16 * 4
    int8 = import_onnx(path, name="tiny", bytes_per_element=1)
    assert int8.name == "tiny" and int8.layers[0].weight_bytes == 8 * 3 * 9
    assert model.graph.graph["unsupported_ops"] == {} and model.graph.graph["notes"] == []


@needs_onnx
def test_residual_block_has_the_skip_edge(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Conv", ["x", "w0"], ["a"], "conv_in", pads=[1, 1, 1, 1]),
            helper.make_node("Conv", ["a", "w1"], ["b"], "conv_body", pads=[1, 1, 1, 1]),
            helper.make_node("Add", ["a", "b"], ["y"], "add"),
        ],
        [tensor("x", [1, 4, 8, 8])],
        [tensor("y", [1, 8, 8, 8])],
        [weight("w0", 8, 4, 3, 3), weight("w1", 8, 8, 3, 3)],
    )
    model = import_onnx(path)
    assert edge_names(model) == {
        ("conv_in", "conv_body"),
        ("conv_in", "add"),  # the skip connection
        ("conv_body", "add"),
    }
    add = model.layer(2)
    assert model.graph.in_degree(2) == 2
    assert add.type is LayerType.ELEMENTWISE and add.macs == 0
    # Add reads two 8×8×8 tensors and writes one
    assert (add.input_elements, add.output_elements) == (2 * 8 * 8 * 8, 8 * 8 * 8)
    assert not model.is_chain and nx.is_directed_acyclic_graph(model.graph)


@needs_onnx
def test_depthwise_and_grouped_conv(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Conv", ["x", "wd"], ["d"], "dw", group=16, pads=[1, 1, 1, 1]),
            helper.make_node("Conv", ["d", "wg"], ["y"], "grouped", group=4),
        ],
        [tensor("x", [1, 16, 20, 20])],
        [tensor("y", [1, 32, 20, 20])],
        [weight("wd", 16, 1, 3, 3), weight("wg", 32, 4, 1, 1)],
    )
    dw, grouped = import_onnx(path).layers
    assert dw.type is LayerType.DWCONV and (dw.K, dw.C, dw.Y, dw.out_y) == (16, 1, 22, 20)
    assert dw.macs == 16 * 9 * 20 * 20
    assert dw.weight_elements == 16 * 9
    # 4 groups of 4 input channels → 8 outputs each: C counts channels per group
    assert grouped.type is LayerType.CONV and (grouped.K, grouped.C) == (32, 4)
    assert grouped.macs == 32 * 4 * 20 * 20
    assert grouped.weight_elements == 32 * 4
    assert grouped.attrs["groups"] == 4


@needs_onnx
def test_conv1d_and_quantized_conv(tmp_path: Path) -> None:
    uint8 = 2  # TensorProto.UINT8
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "scale")
    zero = numpy_helper.from_array(np.array(0, np.uint8), "zero")
    path = save(
        tmp_path,
        [
            helper.make_node(
                "Conv", ["x", "w1"], ["a"], "conv1d", strides=[2], pads=[2, 2], kernel_shape=[5]
            ),
            helper.make_node("QuantizeLinear", ["a", "scale", "zero"], ["q"], "quantize"),
            helper.make_node("Unsqueeze", ["q", "axis"], ["q4"], "to_2d"),
            helper.make_node(
                "QLinearConv",
                ["q4", "scale", "zero", "w2", "scale", "zero", "scale", "zero"],
                ["y"],
                "qconv",
                pads=[1, 1, 1, 1],
            ),
        ],
        [tensor("x", [1, 4, 50])],
        [tensor("y", [1, 6, 25, 1], uint8)],
        [
            weight("w1", 8, 4, 5),
            scale,
            zero,
            numpy_helper.from_array(np.array([3], np.int64), "axis"),
            numpy_helper.from_array(np.zeros((6, 8, 3, 3), np.uint8), "w2"),
        ],
    )
    conv1d, _, _, qconv = import_onnx(path).layers
    assert conv_out(50, 5, 2, 4) == 25
    assert (conv1d.Y, conv1d.X, conv1d.R, conv1d.S, conv1d.out_y, conv1d.out_x) == (
        54, 1, 5, 1, 25, 1,
    )  # fmt: skip
    assert conv1d.macs == 8 * 4 * 5 * 25
    # 25×1 input padded by 1 on every side, 3×3 filter: 25×1 output
    assert qconv.type is LayerType.CONV and (qconv.K, qconv.C, qconv.X) == (6, 8, 3)
    assert qconv.macs == 6 * 8 * 9 * 25 * 1
    assert qconv.bytes_per_element == 1 and conv1d.bytes_per_element == 4


@needs_onnx
def test_subgraph_reads_become_edges(tmp_path: Path) -> None:
    def branch(op: str, out: str) -> Any:
        return helper.make_graph(
            [helper.make_node(op, ["a"], [out])], op, [], [tensor(out, [1, 4])]
        )

    path = save(
        tmp_path,
        [
            helper.make_node("Relu", ["x"], ["a"], "pre"),
            helper.make_node(
                "If", ["cond"], ["y"], "choose",
                then_branch=branch("Relu", "t"), else_branch=branch("Sigmoid", "e"),
            ),
        ],
        [tensor("x", [1, 4]), tensor("cond", [], 9)],  # 9: TensorProto.BOOL
        [tensor("y", [1, 4])],
    )  # fmt: skip
    model = import_onnx(path)
    # the If node reads 'a' only inside its branches; that is still a dependency
    assert edge_names(model) == {("pre", "choose")}
    assert model.graph.graph["unsupported_ops"] == {"If": ["choose"]}


@needs_onnx
def test_gemm_and_matmul_with_weights_are_fc(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("MatMul", ["x", "w_proj"], ["h"], "proj"),  # 196 tokens
            helper.make_node("ReduceMean", ["h"], ["pooled"], "pool", axes=[1], keepdims=0),
            helper.make_node("Gemm", ["pooled", "w_head", "b_head"], ["y"], "head", transB=1),
        ],
        [tensor("x", [1, 196, 64])],
        [tensor("y", [1, 10])],
        [weight("w_proj", 64, 128), weight("w_head", 10, 128), weight("b_head", 10)],
    )
    model = import_onnx(path)
    proj, pool, head = model.layers
    assert proj.type is LayerType.FC
    assert (proj.N, proj.Y, proj.C, proj.K) == (1, 196, 64, 128)
    assert proj.macs == 196 * 64 * 128 and proj.weight_elements == 64 * 128
    assert proj.output_elements == 196 * 128
    assert pool.macs == 0 and pool.output_elements == 128
    assert head.type is LayerType.FC
    assert (head.Y, head.C, head.K) == (1, 128, 10)
    assert head.macs == 128 * 10 and head.weight_elements == 1280
    assert model.is_chain


@needs_onnx
def test_constant_left_operand_is_a_transposed_fc(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [helper.make_node("MatMul", ["w", "x"], ["y"], "left")],
        [tensor("x", [64, 49])],
        [tensor("y", [32, 49])],
        [weight("w", 32, 64)],
    )
    (layer,) = import_onnx(path).layers
    assert layer.type is LayerType.FC and layer.attrs["weight_side"] == "left"
    assert layer.macs == 32 * 64 * 49 and layer.weight_elements == 32 * 64
    assert layer.output_elements == 32 * 49


@needs_onnx
def test_self_attention_matmuls_of_two_activations(tmp_path: Path) -> None:
    tokens, width = 16, 64
    path = save(
        tmp_path,
        [
            helper.make_node("MatMul", ["x", "wq"], ["q"], "q_proj"),
            helper.make_node("MatMul", ["x", "wk"], ["k"], "k_proj"),
            helper.make_node("MatMul", ["x", "wv"], ["v"], "v_proj"),
            helper.make_node("Transpose", ["k"], ["kt"], "k_t", perm=[0, 2, 1]),
            helper.make_node("MatMul", ["q", "kt"], ["s"], "scores"),
            helper.make_node("Softmax", ["s"], ["p"], "softmax", axis=-1),
            helper.make_node("MatMul", ["p", "v"], ["y"], "context"),
        ],
        [tensor("x", [1, tokens, width])],
        [tensor("y", [1, tokens, width])],
        [weight(name, width, width) for name in ("wq", "wk", "wv")],
    )
    model = import_onnx(path)
    layers = by_name(model)
    scores, context = layers["scores"], layers["context"]
    assert scores.type is LayerType.MATMUL and context.type is LayerType.MATMUL
    assert (scores.Y, scores.C, scores.K) == (16, 64, 16)
    assert scores.macs == tokens * width * tokens
    assert (context.Y, context.C, context.K) == (16, 16, 64)
    assert context.macs == tokens * tokens * width
    assert scores.weight_elements == 0
    assert layers["q_proj"].type is LayerType.FC
    assert {(u, v) for u, v in edge_names(model) if v in ("scores", "context")} == {
        ("q_proj", "scores"),
        ("k_t", "scores"),
        ("softmax", "context"),
        ("v_proj", "context"),
    }


@needs_onnx
def test_batched_heads_count_as_n(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [helper.make_node("MatMul", ["q", "k"], ["s"], "scores")],
        [tensor("q", [2, 4, 16, 8]), tensor("k", [2, 4, 8, 16])],
        [tensor("s", [2, 4, 16, 16])],
    )
    (scores,) = import_onnx(path).layers
    assert (scores.N, scores.Y, scores.C, scores.K) == (8, 16, 8, 16)
    assert scores.macs == 2 * 4 * 16 * 8 * 16


@needs_onnx
def test_concat_of_two_branches_and_folding(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Conv", ["x", "wa"], ["a"], "branch_a"),
            helper.make_node("Conv", ["x", "wb"], ["b"], "branch_b", pads=[1, 1, 1, 1]),
            helper.make_node("Concat", ["a", "b"], ["c"], "concat", axis=1),
            helper.make_node("Conv", ["c", "wc"], ["y"], "fuse"),
        ],
        [tensor("x", [1, 8, 10, 10])],
        [tensor("y", [1, 4, 10, 10])],
        [weight("wa", 6, 8, 1, 1), weight("wb", 10, 8, 3, 3), weight("wc", 4, 16, 1, 1)],
    )
    model = import_onnx(path)
    assert edge_names(model) == {
        ("branch_a", "concat"),
        ("branch_b", "concat"),
        ("concat", "fuse"),
    }
    concat = by_name(model)["concat"]
    assert concat.type is LayerType.RESHAPE and concat.macs == 0
    assert concat.input_elements == concat.output_elements == 16 * 10 * 10
    folded = import_onnx(path, keep_trivial=False)
    assert [layer.name for layer in folded.layers] == ["branch_a", "branch_b", "fuse"]
    assert edge_names(folded) == {("branch_a", "fuse"), ("branch_b", "fuse")}
    assert folded.macs == model.macs


@needs_onnx
def test_folding_keeps_a_join_that_holds_the_graph_together(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Conv", ["x", "wa"], ["a"], "branch_a"),
            helper.make_node("Conv", ["x2", "wb"], ["b"], "branch_b"),
            helper.make_node("Concat", ["a", "b"], ["c"], "concat", axis=1),
            helper.make_node("Flatten", ["c"], ["y"], "flatten"),
        ],
        [tensor("x", [1, 2, 4, 4]), tensor("x2", [1, 2, 4, 4])],
        [tensor("y", [1, 64])],
        [weight("wa", 2, 2, 1, 1), weight("wb", 2, 2, 1, 1)],
    )
    folded = import_onnx(path, keep_trivial=False)
    # Concat goes (both branches now feed Flatten); Flatten is then the only join of the two
    # independent inputs, so it stays.
    assert [layer.name for layer in folded.layers] == ["branch_a", "branch_b", "flatten"]
    assert edge_names(folded) == {("branch_a", "flatten"), ("branch_b", "flatten")}


@needs_onnx
def test_constant_and_shape_chains_are_not_layers(tmp_path: Path) -> None:
    shape_const = numpy_helper.from_array(np.array([-1], np.int64), "minus_one")
    path = save(
        tmp_path,
        [
            helper.make_node("Conv", ["x", "w"], ["c"], "conv"),
            helper.make_node("Shape", ["c"], ["shape"], "shape"),
            helper.make_node(
                "Constant", [], ["zero"], "zero", value=numpy_helper.from_array(np.array([0]))
            ),
            helper.make_node("Gather", ["shape", "zero"], ["batch"], "gather", axis=0),
            helper.make_node("Concat", ["batch", "minus_one"], ["target"], "target", axis=0),
            helper.make_node("Reshape", ["c", "target"], ["flat"], "reshape"),
            helper.make_node("Gemm", ["flat", "w_fc"], ["y"], "fc"),
        ],
        [tensor("x", [1, 2, 4, 4])],
        [tensor("y", [1, 5])],
        [weight("w", 3, 2, 1, 1), shape_const, weight("w_fc", 48, 5)],
    )
    model = import_onnx(path)
    assert [layer.name for layer in model.layers] == ["conv", "reshape", "fc"]
    assert model.is_chain
    assert model.layer(2).macs == 48 * 5


@needs_onnx
def test_pools(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node(
                "MaxPool", ["x"], ["m"], "max", kernel_shape=[3, 3], strides=[2, 2],
                pads=[1, 1, 1, 1],
            ),
            helper.make_node(
                "AveragePool", ["m"], ["a"], "avg_ceil", kernel_shape=[2, 2], strides=[2, 2],
                ceil_mode=1,
            ),
            helper.make_node("GlobalAveragePool", ["a"], ["y"], "gap"),
        ],
        [tensor("x", [1, 8, 29, 29])],
        [tensor("y", [1, 8, 1, 1])],
    )  # fmt: skip
    pool, ceil_pool, gap = import_onnx(path).layers
    assert conv_out(29, 3, 2, 2) == 15
    assert pool.type is LayerType.POOL and pool.macs == 0
    assert (pool.Y, pool.R, pool.stride_y, pool.out_y) == (31, 3, 2, 15)
    assert (pool.K, pool.C) == (8, 8) and pool.output_elements == 8 * 15 * 15
    # 15 rows, window 2, stride 2: floor gives 7, ceil_mode gives 8 (a last partial window)
    assert (ceil_pool.Y, ceil_pool.out_y) == (16, 8)
    assert (gap.Y, gap.R, gap.out_y, gap.out_x) == (8, 8, 1, 1)


@needs_onnx
def test_auto_pad_dilation_and_transposed_conv(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node(
                "Conv", ["x", "w1"], ["a"], "same_upper", auto_pad="SAME_UPPER", strides=[2, 2]
            ),
            helper.make_node("Conv", ["a", "w2"], ["b"], "same_lower", auto_pad="SAME_LOWER"),
            helper.make_node(
                "Conv", ["b", "w3"], ["c"], "dilated", dilations=[2, 2], pads=[2, 2, 2, 2]
            ),
            helper.make_node("ConvTranspose", ["c", "w4"], ["y"], "up", strides=[2, 2]),
        ],
        [tensor("x", [1, 3, 33, 33])],
        [tensor("y", [1, 2, 34, 34])],
        [
            weight("w1", 4, 3, 3, 3),
            weight("w2", 4, 4, 2, 2),
            weight("w3", 4, 4, 3, 3),
            weight("w4", 4, 2, 2, 2),
        ],
    )
    upper, lower, dilated, up = import_onnx(path).layers
    # SAME: out = ceil(33/2) = 17; total pad = 16·2 + 3 − 33 = 2, split 1/1
    assert upper.attrs["pads"] == [1, 1, 1, 1] and (upper.Y, upper.out_y) == (35, 17)
    # kernel 2, stride 1 on 17: total pad 1, SAME_LOWER puts it first
    assert lower.attrs["pads"] == [1, 1, 0, 0] and lower.out_y == 17
    # dilation 2 on a 3×3 kernel: true R = 3, output as with the effective 5×5
    assert conv_out(17, 3, 1, 4, dilation=2) == 17
    assert (dilated.R, dilated.out_y) == (3, 17)
    assert dilated.macs == 4 * 4 * 9 * 17 * 17
    # transposed conv: every input pixel meets every weight once
    assert up.type is LayerType.CONV and up.macs == 4 * 2 * 2 * 2 * 17 * 17
    assert up.weight_elements == 4 * 2 * 2 * 2


@needs_onnx
@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(5, 40),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    dilation=st.integers(1, 3),
    channels=st.integers(1, 4),
    filters=st.integers(1, 4),
)
def test_conv_macs_match_the_onnx_formula(
    tmp_path_factory: pytest.TempPathFactory,
    size: int,
    kernel: int,
    stride: int,
    pad: int,
    dilation: int,
    channels: int,
    filters: int,
) -> None:
    out = conv_out(size, kernel, stride, 2 * pad, dilation)
    assume(out >= 1)
    path = save(
        tmp_path_factory.mktemp("conv"),
        [
            helper.make_node(
                "Conv", ["x", "w"], ["y"], "conv", strides=[stride, stride],
                pads=[pad] * 4, dilations=[dilation, dilation],
            )
        ],
        [tensor("x", [1, channels, size, size])],
        [tensor("y", [1, filters, out, out])],
        [weight("w", filters, channels, kernel, kernel)],
    )  # fmt: skip
    (layer,) = import_onnx(path).layers
    assert (layer.out_y, layer.out_x) == (out, out)
    assert layer.macs == filters * channels * kernel * kernel * out * out


@needs_onnx
def test_unsupported_op_is_a_listed_zero_mac_layer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Conv", ["x", "w"], ["c"], "conv"),
            helper.make_node("Magic", ["c"], ["m"], "magic", domain="vendor.ops"),
            helper.make_node("Relu", ["m"], ["y"], "relu"),
        ],
        [tensor("x", [1, 2, 4, 4])],
        [tensor("y", [1, 2, 4, 4])],
        [weight("w", 2, 2, 1, 1)],
        value_info=[tensor("m", [1, 2, 4, 4])],
        domains={"vendor.ops": 1},
    )
    with caplog.at_level(logging.WARNING, logger="rtmm_opt.workload.onnx_import"):
        model = import_onnx(path, keep_trivial=False)
    magic = by_name(model)["magic"]
    assert magic.type is LayerType.RESHAPE and magic.macs == 0
    assert magic.attrs["onnx_domain"] == "vendor.ops"
    assert model.graph.graph["unsupported_ops"] == {"vendor.ops.Magic": ["magic"]}
    assert "vendor.ops.Magic" in caplog.text
    # kept even when trivial reshapes are folded: its cost is unknown, not zero
    assert [layer.name for layer in model.layers] == ["conv", "magic", "relu"]


@needs_onnx
def test_unsupported_op_without_shapes_names_the_tensor(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Magic", ["x"], ["m"], "magic", domain="vendor.ops"),
            helper.make_node("Relu", ["m"], ["y"], "relu"),
        ],
        [tensor("x", [1, 2, 4, 4])],
        [tensor("y", [1, 2, 4, 4])],
        domains={"vendor.ops": 1},
    )
    with pytest.raises(InputError, match="shape of tensor 'm' is unknown") as caught:
        import_onnx(path)
    assert caught.value.file == str(path) and caught.value.field == "nodes[magic]"


@needs_onnx
def test_unnamed_and_duplicate_node_names_become_unique(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Relu", ["x"], ["a"]),
            helper.make_node("Sigmoid", ["a"], ["b"], "act"),
            helper.make_node("Relu", ["b"], ["y"], "act"),
        ],
        [tensor("x", [1, 4])],
        [tensor("y", [1, 4])],
    )
    assert [layer.name for layer in import_onnx(path).layers] == ["Relu_0", "act", "act_2"]


@needs_onnx
def test_symbolic_batch_is_one_and_other_dynamic_dims_need_values(tmp_path: Path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], "fc")]
    path = save(
        tmp_path,
        nodes,
        [tensor("x", ["batch", "seq", 8])],
        [tensor("y", ["batch", "seq", 4])],
        [weight("w", 8, 4)],
    )
    with pytest.raises(InputError, match=r"dynamic \('seq'\)") as caught:
        import_onnx(path)
    assert caught.value.field == "inputs[x].shape[1]" and caught.value.file == str(path)
    model = import_onnx(path, dim_values={"seq": 10})
    (fc,) = model.layers
    assert (fc.N, fc.Y, fc.macs) == (1, 10, 10 * 8 * 4)
    assert model.graph.graph["notes"] == ["input 'x': dynamic batch dimension 'batch' taken as 1"]
    with pytest.raises(InputError, match="positive integer") as caught:
        import_onnx(path, dim_values={"seq": 0})
    assert caught.value.field == "dim_values.seq"


@needs_onnx
def test_disconnected_model_is_an_input_error(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [
            helper.make_node("Conv", ["x1", "w1"], ["y1"], "left"),
            helper.make_node("Conv", ["x2", "w2"], ["y2"], "right"),
        ],
        [tensor("x1", [1, 2, 4, 4]), tensor("x2", [1, 2, 4, 4])],
        [tensor("y1", [1, 2, 4, 4]), tensor("y2", [1, 2, 4, 4])],
        [weight("w1", 2, 2, 1, 1), weight("w2", 2, 2, 1, 1)],
    )
    with pytest.raises(InputError, match="2 unconnected parts") as caught:
        import_onnx(path)
    assert caught.value.file == str(path)


@needs_onnx
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not a protobuf message \xff\xfe", "not a readable ONNX model"),
        (b"", "without nodes"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason) as caught:
        import_onnx(path)
    assert caught.value.file == str(path)


@needs_onnx
def test_missing_file_and_malformed_graph(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_onnx(tmp_path / "absent.onnx")
    # a node reads a tensor that nothing produces
    path = save(
        tmp_path,
        [helper.make_node("Relu", ["nowhere"], ["y"], "relu")],
        [tensor("x", [1, 4])],
        [tensor("y", [1, 4])],
    )
    with pytest.raises(InputError, match="malformed ONNX model") as caught:
        import_onnx(path)
    assert caught.value.file == str(path)


@needs_onnx
def test_inconsistent_shapes_are_input_errors(tmp_path: Path) -> None:
    path = save(
        tmp_path,
        [helper.make_node("Conv", ["x", "w"], ["y"], "conv")],
        [tensor("x", [1, 3, 8, 8])],
        [tensor("y", [1, 4, 5, 5])],  # a 1×1 conv keeps 8×8
        [weight("w", 4, 3, 1, 1)],
    )
    with pytest.raises(InputError, match="shape inference failed") as caught:
        import_onnx(path)
    assert caught.value.file == str(path)
    mismatched = save(
        tmp_path,
        [helper.make_node("Conv", ["x", "w"], ["y"], "conv")],
        [tensor("x", [1, 3, 8, 8])],
        [tensor("y", [1, 4, 8, 8])],
        [weight("w", 4, 5, 1, 1)],  # 5 input channels in the weight, 3 in the data
        filename="mismatch.onnx",
    )
    with pytest.raises(InputError) as caught:
        import_onnx(mismatched)
    assert caught.value.file == str(mismatched)


def test_module_imports_without_onnx_and_asks_for_the_extra() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["onnx"] = None  # make `import onnx` fail as if not installed
        from rtmm_opt.errors import InputError
        from rtmm_opt.workload.onnx_import import import_onnx
        try:
            import_onnx("whatever.onnx")
        except InputError as error:
            print(error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert "pip install 'rtmm-opt[onnx]'" in result.stdout
    assert result.stdout.startswith("whatever.onnx: ")


LIGHT_MODELS = (
    Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" if onnx else Path("-")
)


def light_model(name: str) -> Path:
    """A CNN that the onnx package ships for its backend tests (weights stripped)."""
    path = LIGHT_MODELS / f"light_{name}.onnx"
    if not path.exists():
        pytest.skip(f"this onnx release does not ship {path.name}")
    return path


@needs_onnx
def test_vgg19_matches_its_hand_count() -> None:
    model = import_onnx(light_model("vgg19"))
    # 3×3 convs at 224, 112, 56, 28, 14 (channels per block), then three FC layers
    blocks = [(224, [3, 64, 64]), (112, [64, 128, 128]), (56, [128] + [256] * 4),
              (28, [256] + [512] * 4), (14, [512] * 5)]  # fmt: skip
    convs = [(size, c, k) for size, chans in blocks for c, k in pairwise(chans)]
    fcs = [(25088, 4096), (4096, 4096), (4096, 1000)]
    assert model.macs == sum(k * c * 9 * s * s for s, c, k in convs) + sum(c * k for c, k in fcs)
    assert model.params == sum(k * c * 9 for _, c, k in convs) + sum(c * k for c, k in fcs)
    assert model.macs == 19_632_062_464


@needs_onnx
def test_resnet50_residual_dag_and_published_size() -> None:
    model = import_onnx(light_model("resnet50"))
    adds = [i for i in range(len(model)) if model.layer(i).type is LayerType.ELEMENTWISE]
    assert len(adds) == 16 and all(model.graph.in_degree(i) == 2 for i in adds)
    assert sum(layer.type is LayerType.CONV for layer in model.layers) == 53
    # 25,557,032 parameters (torchvision) less BatchNorm's 2 × 26,560 and the FC bias
    assert model.params == 25_557_032 - 2 * 26_560 - 1000
    assert model.macs == pytest.approx(4.09e9, rel=2e-3)  # the published 4.09 GMACs
    assert nx.is_directed_acyclic_graph(model.graph)

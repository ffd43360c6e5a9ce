"""MAESTRO/XRBench ``.m`` parsing: hand-computed layers, XRBench's files, errors, properties."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import random
import re
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import XRBENCH, needs_xrbench
from support.xrbench_facts import LAYER_COUNTS

from rtmm_opt.errors import InputError
from rtmm_opt.workload.layer import Layer, LayerType
from rtmm_opt.workload.maestro import (
    MaestroNetwork,
    format_maestro,
    parse_maestro,
    parse_maestro_text,
)

SCENARIOS = XRBENCH / "scenarios"


def one_layer(text: str) -> Layer:
    parsed = parse_maestro_text(f"Network A {{\nLayer l1 {{\n{text}\n}}\n}}\n")
    (layer,) = parsed.networks[0].layers
    return layer


# -- hand-computed layers ----------------------------------------------------------------------


def test_conv_layer_macs_by_hand() -> None:
    # ES_RITNet conv1: 32·32·3·3 MACs per output, outputs (160-3+1)·(100-3+1) = 158·98.
    layer = one_layer("Type: CONV\nDimensions: { N: 1, K: 32, C: 32, Y: 160, X: 100, R: 3, S: 3 }")
    assert layer.type is LayerType.CONV
    assert (layer.out_y, layer.out_x) == (158, 98)
    assert layer.macs == 9216 * 15484 == 142_700_544
    assert layer.weight_elements == 9216


def test_fc_encoding_becomes_fc_with_same_macs() -> None:
    # KD_res8_narrow fc1: 19 rows of 19 inputs -> 12 outputs = 4332 MACs.
    layer = one_layer("Type: CONV\nDimensions: { N: 1, K: 12, C: 19, Y: 19, X: 1, R: 1, S: 1 }")
    assert layer.type is LayerType.FC
    assert layer.macs == 4332
    assert layer.weight_elements == 12 * 19


def test_depthwise_as_dense_conv_stays_conv() -> None:
    # XRBench writes depthwise as dense K == C: MAESTRO counts K·C·R·S per output.
    layer = one_layer("Type: CONV\nDimensions: { N: 1, K: 8, C: 8, Y: 10, X: 10, R: 3, S: 3 }")
    assert layer.type is LayerType.CONV
    assert layer.macs == 8 * 8 * 9 * 8 * 8 == 36864


def test_one_dimensional_conv_is_not_fc() -> None:
    # AS_ED_TCN conv1: a 25-tap temporal conv on X = 1: 64·128·25·(668-25+1) MACs.
    layer = one_layer("Type: CONV\nDimensions: { N: 1, K: 64, C: 128, Y: 668, X: 1, R: 25, S: 1 }")
    assert layer.type is LayerType.CONV
    assert layer.macs == 131_891_200


def test_kernel_larger_than_input_has_zero_macs() -> None:
    # GE_FBNet_C conv51: X = 4 < S = 5, so MAESTRO's output width clamps to 0.
    layer = one_layer("Type: CONV\nDimensions: { N: 1, K: 8, C: 8, Y: 6, X: 4, R: 5, S: 5 }")
    assert layer.macs == 0


def test_stock_maestro_syntax_with_stride_dsconv_and_dataflow() -> None:
    text = """
    // stock MAESTRO: no colon after block keywords, no N, strides, mapping directives
    Network MnasNet-A1 {
    Layer Conv-1 {
    Type: CONV
    Stride { X: 2, Y: 2 }
    Dimensions { K: 32, C: 3, R: 3, S: 3, Y: 224, X: 224 }
    Dataflow {
        SpatialMap(1,1) Y';
        TemporalMap(16,16) K;
        Cluster(Sz(R),P);
    }
    }
    Layer Conv-2 {
    Type: DSCONV
    Stride { X: 2, Y: 1 }
    Dimensions { K: 1, C: 32, R: 3, S: 3, Y: 112, X: 112 }
    }
    }
    """
    network = parse_maestro_text(text).networks[0]
    assert network.name == "MnasNet-A1"
    assert network.fps is None and network.probability == 1.0 and network.dependencies == ()
    conv, dw = network.layers
    assert (conv.N, conv.stride_y, conv.stride_x) == (1, 2, 2)
    assert (conv.out_y, conv.out_x) == (111, 111)  # (224 - 3) // 2 + 1
    assert conv.macs == 32 * 3 * 9 * 111 * 111
    assert dw.type is LayerType.DWCONV and (dw.K, dw.C) == (32, 32)
    assert (dw.out_y, dw.out_x) == (110, 55)
    assert dw.macs == 32 * 9 * 110 * 55  # depthwise: no sum over C


def test_scenario_fields_comments_and_odd_whitespace() -> None:
    text = (
        "// scenario\nNetwork   A{FPS:3 Probability :0.25\n"
        "Layer l1{Type:CONV Dimensions:{N:1,K:2,C:3,Y:4,X:5,R:1,S:1}}}\n"
        "\n\nNetwork B {\r\n\tDependency: {\n\t\tA\t\n}  // comment { not a brace\n"
        "FPS: 30.5\nlayer l1 { type: conv\n dimensions: { N: 1 K: 2 C: 3 Y: 4 X: 1 R: 1 S: 1 } }\n}"
    )
    a, b = parse_maestro_text(text, source="s.m").networks
    assert (a.name, a.fps, a.probability, a.dependencies, a.line) == ("A", 3.0, 0.25, (), 2)
    assert (b.name, b.fps, b.probability, b.dependencies, b.line) == ("B", 30.5, 1.0, ("A",), 6)
    assert a.layers[0].dims() == {"N": 1, "K": 2, "C": 3, "Y": 4, "X": 5, "R": 1, "S": 1}
    assert b.layers[0].type is LayerType.FC


def test_graph_is_a_chain_in_file_order() -> None:
    text = (
        "Network A {\n"
        + "".join(
            f"Layer l{i} {{ Type: CONV Dimensions: {{ K: 4, C: 4, Y: 8, X: 8, R: 3, S: 3 }} }}\n"
            for i in range(5)
        )
        + "}\n"
    )
    network = parse_maestro_text(text).networks[0]
    graph = network.graph(source="x.m")
    assert graph.is_chain and len(graph) == 5 and graph.source == "x.m"
    assert [graph.layer(i).name for i in graph.order] == [f"l{i}" for i in range(5)]
    assert graph.macs == network.macs == 5 * 4 * 4 * 9 * 6 * 6


# -- errors ------------------------------------------------------------------------------------

LAYER_OK = "Layer l1 { Type: CONV Dimensions: { N: 1, K: 2, C: 2, Y: 4, X: 4, R: 1, S: 1 } }"


def typed(
    type_name: str, dimensions: str = "K: 2, C: 2, Y: 4, X: 4, R: 1, S: 1", extra: str = ""
) -> str:
    return (
        f"Network A {{\nLayer l1 {{\nType: {type_name}\n{extra}\n"
        f"Dimensions: {{ {dimensions} }}\n}}\n}}\n"
    )


def dims(text: str) -> str:
    return f"Network A {{\nLayer l1 {{\nType: CONV\nDimensions: {{ {text} }}\n}}\n}}\n"


BAD_INPUTS = [
    # (text, field, words in the reason)
    ("", None, "empty"),
    ("// only a comment\n", None, "no 'Network'"),
    (
        "Network A {\nLayer l1 {\nType: CONV\n}\n}\n",
        "networks.A.layers.l1.Dimensions",
        "no 'Dimensions'",
    ),
    (
        "Network A {\nLayer l1 {\nDimensions: { K: 2, C: 2, Y: 4, X: 4, R: 1, S: 1 }\n}\n}",
        "networks.A.layers.l1.Type",
        "no 'Type'",
    ),
    (
        dims("N: 1, K: 2, C: 2, Q: 4, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.Q",
        "unknown dimension",
    ),
    (
        dims("N: 1, k: 2, C: 2, Y: 4, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.k",
        "did you mean 'K'",
    ),
    (
        dims("N: 1, K: 0, C: 2, Y: 4, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.K",
        "positive integer, got 0",
    ),
    (
        dims("N: 1, K: 2, C: -3, Y: 4, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.C",
        "positive integer",
    ),
    (
        dims("N: 1, K: 2, C: 2, Y: 4.5, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.Y",
        "expected a positive integer",
    ),
    (
        dims("N: 1, K: 2, C: 2, Y: 99999999, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.Y",
        "absurdly large",
    ),
    (
        dims("N: 1, K: 2, C: 2, Y: " + "9" * 5000 + ", X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.Y",
        "absurdly large",
    ),
    (
        dims("N: 1, K: 2, C: 2, Y: 4, Y: 4, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.Y",
        "twice",
    ),
    (
        dims("N: 1, K: 2, C: 2, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.Y",
        "missing dimension Y",
    ),
    (
        dims("N: 1, K: 2, C: 2, Y 4, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.Y",
        "expected ':'",
    ),
    (
        dims("N: 1, K: 2048, C: 2048, Y: 1024, X: 1024, R: 64, S: 64"),
        "networks.A.layers.l1",
        "absurdly large layer",
    ),
    (
        typed("CONVV"),
        "networks.A.layers.l1.Type",
        "valid: CONV, DSCONV, DWCONV",
    ),
    (
        typed("TRCONV"),
        "networks.A.layers.l1.Type",
        "not supported",
    ),
    (
        typed("DSCONV", "K: 5, C: 2, Y: 4, X: 4, R: 1, S: 1"),
        "networks.A.layers.l1.Dimensions.K",
        "K = 1 or K = C",
    ),
    (
        typed("CONV", extra="Stride { X: 2, Z: 2 }"),
        "networks.A.layers.l1.Stride.Z",
        "unknown dimension",
    ),
    (
        "Network A {\nLayer l1 {\nTipe: CONV\n}\n}",
        "networks.A.layers.l1.Tipe",
        "did you mean 'Type'",
    ),
    (f"Network A {{\n{LAYER_OK}\n{LAYER_OK}\n}}", "networks.A.layers.l1", "duplicate layer name"),
    (
        f"Network A {{\n{LAYER_OK}\n}}\nNetwork A {{\n{LAYER_OK}\n}}",
        "networks.A",
        "duplicate network",
    ),
    ("Network A {\n}\n", "networks.A", "no layers"),
    (f"Network A {{\nFPS: 0\n{LAYER_OK}\n}}", "networks.A.FPS", "must be > 0"),
    (f"Network A {{\nFPS: nan\n{LAYER_OK}\n}}", "networks.A.FPS", "expected a number"),
    (f"Network A {{\nFPS: 1e999\n{LAYER_OK}\n}}", "networks.A.FPS", "must be > 0"),
    (f"Network A {{\nFPS: 3\nFPS: 4\n{LAYER_OK}\n}}", "networks.A.FPS", "twice"),
    (f"Network A {{\nProbability: 1.5\n{LAYER_OK}\n}}", "networks.A.Probability", "<= 1"),
    (f"Network A {{\nFrames: 3\n{LAYER_OK}\n}}", "networks.A.Frames", "unknown field"),
    (
        f"Network A {{\nDependency: {{ Bee }}\n{LAYER_OK}\n}}\nNetwork B {{\n{LAYER_OK}\n}}",
        "networks.A.Dependency",
        "not a network in this file",
    ),
    (f"Network A {{\nDependency: {{ A }}\n{LAYER_OK}\n}}", "networks.A.Dependency", "cyclic"),
    (
        f"Network A {{\nDependency: {{ C }}\n{LAYER_OK}\n}}\nNetwork B {{\nDependency: {{ A }}\n"
        f"{LAYER_OK}\n}}\nNetwork C {{\nDependency: {{ B }}\n{LAYER_OK}\n}}",
        "Dependency",
        "cyclic dependency",
    ),
    (f"Network A {{\n{LAYER_OK}\n", "networks.A", "unexpected end of file"),
    (f"Network A {{\n{LAYER_OK}\nNetwork B {{\n{LAYER_OK}\n}}", "networks.A", "missing '}'"),
    (f"Network A {{\n{LAYER_OK}\n}}\n}}", "line 4", "expected 'Network NAME {'"),
    ("Accelerator acc0 {\nnum_pes: 1024\n}", "line 1", "hardware or dataflow file"),
    ("Network {\n}", "line 1", "expected a network name"),
]


@pytest.mark.parametrize(("text", "field", "reason"), BAD_INPUTS)
def test_bad_input_raises_input_error_with_field(text: str, field: str | None, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_maestro_text(text, source="bad.m")
    error = caught.value
    assert error.file == "bad.m"
    if field is None:
        assert error.field is None
    else:
        assert error.field is not None and field in error.field, error
    assert reason in error.reason, error


def test_error_reason_gives_the_line() -> None:
    text = typed("CONV", "K: 0, C: 2, Y: 4, X: 4, R: 1, S: 1")  # the K is on line 5
    assert text.splitlines()[4].startswith("Dimensions: { K: 0")
    with pytest.raises(InputError, match=r"\(line 5\)"):
        parse_maestro_text(text)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        parse_maestro(tmp_path / "nope.m")
    with pytest.raises(InputError, match="directory"):
        parse_maestro(tmp_path)


# -- XRBench's own files ---------------------------------------------------------------------


@needs_xrbench
def test_xrbench_scenarios_parse_with_readme_fields() -> None:
    vr = parse_maestro(SCENARIOS / "VR_gaming.m")
    assert vr.names == ("ES_RITNet", "GE_FBNet_C", "HT_hand_graph_cnn_half")
    ge = vr.network("GE_FBNet_C")
    assert (ge.fps, ge.probability, ge.dependencies) == (60.0, 1.0, ("ES_RITNet",))
    assert vr.network("HT_hand_graph_cnn_half").fps == 45.0
    outdoor_b = parse_maestro(SCENARIOS / "outdoor_activity_B.m")
    assert outdoor_b.network("KD_res8_narrow").fps == 3.0  # written "FPS:3"
    asr = outdoor_b.network("ASR_EM_24L")
    assert (asr.probability, asr.dependencies) == (0.2, ("KD_res8_narrow",))
    assert parse_maestro(SCENARIOS / "AR_Assistant.m").network("ASR_EM_24L").probability == 0.5
    sweep = parse_maestro(SCENARIOS / "probability_sweep" / "VR_gaming_25p.m")
    assert sweep.network("GE_FBNet_C").probability == 0.25


@needs_xrbench
def test_xrbench_networks_have_readme_layer_counts_and_agree_across_files() -> None:
    seen: dict[str, MaestroNetwork] = {}
    for path in sorted(SCENARIOS.rglob("*.m")):
        for network in parse_maestro(path).networks:
            assert len(network.layers) == LAYER_COUNTS[network.name], (path, network.name)
            if network.name in seen:
                assert network.layers == seen[network.name].layers, (path, network.name)
            seen[network.name] = network
    assert set(seen) == set(LAYER_COUNTS)
    assert seen["D2go_FastRCNN"].layers == seen["OD_D2go_FasterRCNN"].layers
    # every layer is CONV in the files; only FC-shaped ones (R=S=X=1) are re-typed
    for network in seen.values():
        for layer in network.layers:
            fc_shape = (layer.R, layer.S, layer.X) == (1, 1, 1)
            assert layer.type is (LayerType.FC if fc_shape else LayerType.CONV)


def _csv_layers() -> dict[str, dict[int, tuple[str, tuple[int, ...], int, int]]]:
    """model -> layer_index -> (name, N..S, out_Y·out_X clamped MACs, unclamped macs column)."""
    path = XRBENCH / "layer_costs.csv.gz"
    layers: dict[str, dict[int, tuple[str, tuple[int, ...], int, int]]] = defaultdict(dict)
    with gzip.open(path, "rt", newline="") as stream:
        header = next(csv.reader(io.StringIO(stream.readline())))
        col = {name: i for i, name in enumerate(header)}
        need = max(col[c] for c in ("model", "layer_index", "out_X", "macs")) + 1
        for line in stream:
            # only the leading columns are needed: split just that far (fast on 124k rows)
            row = line.split(",", need)
            model, index = row[col["model"]], int(row[col["layer_index"]])
            if index in layers[model]:
                continue
            n, k, c, y, x, r, s = (int(row[col[d]]) for d in "NKCYXRS")
            out_y, out_x = int(row[col["out_Y"]]), int(row[col["out_X"]])
            clamped = n * k * c * r * s * max(0, out_y) * max(0, out_x)
            layers[model][index] = (
                row[col["layer_name"]],
                (n, k, c, y, x, r, s),
                clamped,
                int(row[col["macs"]]),
            )
    return layers


@needs_xrbench
@pytest.mark.skipif(
    not (XRBENCH / "layer_costs.csv.gz").is_file(), reason="layer_costs.csv.gz not found"
)
def test_macs_match_xrbench_layer_cost_table() -> None:
    table = _csv_layers()
    networks = {
        network.name: network
        for path in sorted(SCENARIOS.glob("*.m"))
        for network in parse_maestro(path).networks
    }
    assert set(table) == set(networks) == set(LAYER_COUNTS)
    for name, network in networks.items():
        rows = table[name]
        assert sorted(rows) == list(range(len(network.layers))), name
        for index, layer in enumerate(network.layers):
            layer_name, dimensions, clamped, column = rows[index]
            assert layer_name == layer.name
            assert dimensions == tuple(layer.dims().values())
            assert layer.macs == clamped, (name, layer.name)
            # the table's own column multiplies unclamped out_Y·out_X (its README's caution)
            out = (layer.Y - layer.R + 1) * (layer.X - layer.S + 1)
            assert column == layer.N * layer.K * layer.C * layer.R * layer.S * out
        assert network.graph().macs == sum(row[2] for row in rows.values()), name


# -- properties --------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,12}", fullmatch=True)
small = st.integers(min_value=1, max_value=300)
tiny = st.integers(min_value=1, max_value=7)


@st.composite
def layers(draw: st.DrawFn, name: str) -> Layer:
    kind = draw(st.sampled_from(["conv", "fc", "dwconv"]))
    if kind == "fc":
        return Layer(name, LayerType.FC, N=draw(tiny), K=draw(small), C=draw(small), Y=draw(small))
    channels = draw(small)
    stride_y, stride_x = draw(tiny), draw(tiny)
    layer_type = LayerType.DWCONV if kind == "dwconv" else LayerType.CONV
    layer = Layer(
        name,
        layer_type,
        N=draw(tiny),
        K=channels if kind == "dwconv" else draw(small),
        C=channels,
        Y=draw(small),
        X=draw(small),
        R=draw(tiny),
        S=draw(tiny),
        stride_y=stride_y,
        stride_x=stride_x,
    )
    fc_shaped = (layer.R, layer.S, layer.X, stride_y, stride_x) == (1, 1, 1, 1, 1)
    if kind == "conv" and fc_shaped:  # the parser reads that shape as fc
        return Layer(name, LayerType.FC, N=layer.N, K=layer.K, C=layer.C, Y=layer.Y)
    return layer


@st.composite
def networks(draw: st.DrawFn) -> list[MaestroNetwork]:
    network_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    result = []
    for position, network_name in enumerate(network_names):
        layer_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
        earlier = network_names[:position]
        result.append(
            MaestroNetwork(
                name=network_name,
                fps=draw(st.none() | st.sampled_from([3.0, 30.0, 45.0, 60.0, 12.5])),
                probability=draw(st.sampled_from([1.0, 0.2, 0.5, 0.25, 1e-3])),
                dependencies=tuple(draw(st.lists(st.sampled_from(earlier), unique=True)))
                if earlier
                else (),
                layers=tuple(draw(layers(layer_name)) for layer_name in layer_names),
                line=0,
            )
        )
    return result


def same_networks(parsed: tuple[MaestroNetwork, ...], expected: list[MaestroNetwork]) -> bool:
    def key(network: MaestroNetwork) -> tuple[object, ...]:
        return (
            network.name,
            network.fps,
            network.probability,
            network.dependencies,
            network.layers,
        )

    return [key(n) for n in parsed] == [key(n) for n in expected]


@settings(max_examples=60, deadline=None)
@given(networks())
def test_printed_networks_parse_back_identically(expected: list[MaestroNetwork]) -> None:
    text = format_maestro(expected)
    parsed = parse_maestro_text(text).networks
    assert same_networks(parsed, expected)
    lines = text.splitlines()
    for network in parsed:  # `line` points at the Network keyword
        assert lines[network.line - 1].startswith(f"Network {network.name} ")


@settings(max_examples=40, deadline=None)
@given(networks(), st.randoms(use_true_random=False))
def test_whitespace_and_comments_do_not_matter(
    expected: list[MaestroNetwork], rng: random.Random
) -> None:
    separators = [" ", "\t", "  ", "\n", " // a comment { } :\n", "\r\n"]
    text = format_maestro(expected).replace(": ", ":" if rng.random() < 0.5 else " : ")
    mangled = "".join(rng.choice(separators) if ch == " " else ch for ch in text)
    assert same_networks(parse_maestro_text(mangled).networks, expected)


FRAGMENTS = [
    "Network",
    "Layer",
    "Type",
    "CONV",
    "DSCONV",
    "Dimensions",
    "Stride",
    "FPS",
    "Probability",
    "Dependency",
    "Dataflow",
    "{",
    "}",
    ":",
    ",",
    "N",
    "K",
    "C",
    "Y",
    "X",
    "R",
    "S",
    "0",
    "1",
    "3",
    "-2",
    "0.5",
    "1e400",
    "nan",
    "A",
    "B",
    "//",
    "\n",
    " ",
    "\t",
    "é",
    "9" * 30,
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60) | st.text(max_size=200))
def test_garbage_parses_or_raises_input_error(pieces: list[str] | str) -> None:
    text = pieces if isinstance(pieces, str) else " ".join(pieces)
    with contextlib.suppress(InputError):
        parse_maestro_text(text)


@settings(max_examples=100, deadline=None)
@given(networks(), st.data())
def test_mutated_files_parse_or_raise_input_error(
    expected: list[MaestroNetwork], data: st.DataObject
) -> None:
    text = format_maestro(expected)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = data.draw(st.sampled_from(FRAGMENTS))
        if action == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 20)) :]
        elif action == "insert":
            text = text[:at] + piece + text[at:]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    try:
        parsed = parse_maestro_text(text)
    except InputError:
        return
    check_usable(parsed.networks)


def check_usable(parsed: tuple[MaestroNetwork, ...]) -> None:
    """Whatever parsed is a usable model."""
    for network in parsed:
        assert network.layers and math.isfinite(network.probability)
        network.graph()


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
NUMBERS = ["0", "1", "2", "7", "64", "300", "0.5", "-2", "1e400", "nan"]


def mild_mutation(text: str, data: st.DataObject) -> str:
    """One edit that keeps the file's structure: a number changed, a whole line deleted,
    swapped with the next or duplicated, or a whole layer block deleted."""
    lines = text.split("\n")
    action = data.draw(st.sampled_from(["number", "delete", "swap", "duplicate", "layer"]))
    if action == "number":
        spans = [m.span() for m in NUMBER.finditer(text)]
        if spans:
            begin, end = data.draw(st.sampled_from(spans))
            return text[:begin] + data.draw(st.sampled_from(NUMBERS)) + text[end:]
        return text
    if action == "layer":
        blocks = [i for i, line in enumerate(lines) if line.startswith("Layer ")]
        first = data.draw(st.sampled_from(blocks))
        last = lines.index("}", first)
        return "\n".join(lines[:first] + lines[last + 1 :])
    at = data.draw(st.integers(0, len(lines) - 2))
    if action == "delete":
        del lines[at]
    elif action == "swap":
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
    else:
        lines.insert(at, lines[at])
    return "\n".join(lines)


def test_mildly_mutated_files_parse_or_raise_input_error() -> None:
    # Most mild edits still parse, so the checks on what parsed run on a real share of the
    # examples (counted across a fixed-seed run).
    outcomes: defaultdict[str, int] = defaultdict(int)

    @settings(max_examples=150, deadline=None, derandomize=True, database=None)
    @given(networks(), st.data())
    def check(expected: list[MaestroNetwork], data: st.DataObject) -> None:
        text = format_maestro(expected)
        for _ in range(data.draw(st.integers(1, 2))):
            text = mild_mutation(text, data)
        try:
            parsed = parse_maestro_text(text)
        except InputError:
            outcomes["raised"] += 1
            return
        outcomes["parsed"] += 1
        check_usable(parsed.networks)

    check()
    assert 3 * outcomes["parsed"] >= sum(outcomes.values()), dict(outcomes)

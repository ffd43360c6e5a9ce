"""Model YAML files and the bundled model library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, XRBENCH, needs_xrbench
from support.xrbench_facts import LAYER_COUNTS

from rtmm_opt.errors import InputError
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.layer import Layer, LayerType, SparsityStats
from rtmm_opt.workload.library import MODELS_DIR_ENV, get_model, list_models, models_dir
from rtmm_opt.workload.modelfile import (
    dump_model,
    load_model,
    model_from_dict,
    model_to_dict,
    model_to_yaml,
    models_equal,
)

SCENARIOS = XRBENCH / "scenarios"


def conv(name: str, **dims: Any) -> Layer:
    return Layer(name, LayerType.CONV, **dims)


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- format ------------------------------------------------------------------------------------


def test_documented_example_loads(tmp_path: Path) -> None:
    text = """
kind: model
name: tiny
source: hand-written
layers:
  - {name: conv1, type: conv, N: 1, K: 8, C: 3, Y: 10, X: 10, R: 3, S: 3}
  - {name: conv2, type: dwconv, K: 8, C: 8, Y: 8, X: 8, R: 3, S: 3, stride_y: 2}
  - {name: skip, type: elementwise, K: 8, Y: 3, X: 6}
  - {name: fc, type: gemm, K: 10, C: 144, bytes_per_element: 2,
     sparsity: {input_mean: 0.4, weight: 0.1}}
edges:
  - [conv1, conv2]
  - [conv1, skip]
  - [conv2, skip]
  - [skip, fc]
"""
    model = load_model(write(tmp_path, text))
    assert (model.name, model.source, len(model)) == ("tiny", "hand-written", 4)
    assert not model.is_chain
    assert sorted(model.graph.edges) == [(0, 1), (0, 2), (1, 2), (2, 3)]
    conv1, dw, skip, fc = model.layers
    assert conv1.macs == 8 * 3 * 9 * 8 * 8
    assert (dw.out_y, dw.out_x) == (3, 6) and dw.macs == 8 * 9 * 3 * 6  # depthwise: no C
    assert skip.macs == 0 and (skip.N, skip.C, skip.R) == (1, 1, 1)  # omitted dims are 1
    assert fc.type is LayerType.FC and fc.macs == 1440 and fc.bytes_per_element == 2
    assert fc.sparsity == SparsityStats(input_mean=0.4, weight=0.1, input_std=0.0)


def test_chain_when_edges_omitted_and_source_defaults_to_path(tmp_path: Path) -> None:
    text = "kind: model\nname: c\nlayers:\n" + "".join(
        f"  - {{name: l{i}, type: conv, K: 2, C: 2, Y: 4, X: 4}}\n" for i in range(3)
    )
    path = write(tmp_path, text)
    model = load_model(path)
    assert model.is_chain and len(model) == 3 and model.source == str(path)
    assert "edges" not in model_to_dict(model)


def test_round_trip_dag_with_every_field(tmp_path: Path) -> None:
    layers = [
        conv("yes", K=4, C=3, Y=9, X=9, R=3, S=3),  # YAML would read a bare yes as true
        Layer("1", LayerType.DWCONV, K=4, C=4, Y=7, X=7, R=3, S=3, stride_y=2, stride_x=3),
        Layer("a: b", LayerType.MATMUL, K=5, C=4, Y=6, bytes_per_element=4),
        Layer(
            "#out",
            LayerType.FC,
            K=2,
            C=5,
            Y=6,
            sparsity=SparsityStats(input_mean=0.25, weight=0.5, input_std=0.125),
        ),
    ]
    model = ModelGraph.from_edges(
        "odd: name", layers, [(0, 1), (0, 2), (1, 3), (2, 3)], source="test"
    )
    path = tmp_path / "m.yaml"
    dump_model(model, path, header="two\nlines")
    text = path.read_text()
    assert text.startswith("# two\n# lines\nkind: model\n")
    assert sum(line.startswith("  - {") for line in text.splitlines()) == 4  # one line each
    again = load_model(path)
    assert models_equal(model, again) and again.source == "test"
    assert model_from_dict(model_to_dict(model)).layers == model.layers


text = st.text(min_size=1, max_size=8).filter(str.strip)  # the loader rejects blank names


@st.composite
def models(draw: st.DrawFn) -> ModelGraph:
    count = draw(st.integers(1, 8))
    names = draw(st.lists(text, min_size=count, max_size=count, unique=True))
    layers = []
    for name in names:
        kind = draw(st.sampled_from(list(LayerType)))
        dims: dict[str, Any] = {d: draw(st.integers(1, 64)) for d in "NKCYXRS"}
        sparsity = draw(st.none() | st.builds(SparsityStats, *(st.floats(0, 1) for _ in range(3))))
        layers.append(
            Layer(
                name,
                kind,
                **dims,
                stride_y=draw(st.integers(1, 3)),
                stride_x=draw(st.integers(1, 3)),
                bytes_per_element=draw(st.sampled_from([1, 2, 4])),
                sparsity=sparsity,
            )
        )
    # a connected DAG with forward edges: each later layer hangs off some earlier one
    edges = {(draw(st.integers(0, v - 1)), v) for v in range(1, count)}
    extra = draw(st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, count - 1))))
    edges |= {(u, v) for u, v in extra if u < v}
    return ModelGraph.from_edges(draw(text), layers, sorted(edges))


@settings(max_examples=40, deadline=None)
@given(models())
def test_yaml_round_trip_property(model: ModelGraph) -> None:
    again = model_from_dict(yaml.safe_load(model_to_yaml(model)))
    assert models_equal(model, again)
    assert again.is_chain == model.is_chain


# -- bad input ---------------------------------------------------------------------------------

GOOD = {
    "kind": "model",
    "name": "m",
    "layers": [
        {"name": "a", "type": "conv", "K": 2, "C": 2, "Y": 4, "X": 4},
        {"name": "b", "type": "conv", "K": 2, "C": 2, "Y": 4, "X": 4},
        {"name": "c", "type": "conv", "K": 2, "C": 2, "Y": 4, "X": 4},
    ],
}


def changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """GOOD with one entry set (or deleted, for value ``...``)."""
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


BAD = [
    (changed(("kind",), "scenario"), "kind", "unknown value 'scenario'"),
    (changed(("kind",), ...), "kind", "required"),
    (changed(("name",), ...), "name", "required"),
    (changed(("name",), 12), "name", "non-empty string"),
    (changed(("nmae",), "x"), "nmae", "did you mean 'name'"),
    (changed(("layers",), []), "layers", "at least one layer"),
    (changed(("layers",), {"a": 1}), "layers", "expected a list"),
    (changed(("layers", 1), "conv"), "layers[1]", "expected a mapping"),
    (changed(("layers", 1, "type"), "convv"), "layers[1].type", "did you mean 'conv'"),
    (changed(("layers", 1, "type"), ...), "layers[1].type", "required"),
    (changed(("layers", 1, "K"), 0), "layers[1].K", ">= 1"),
    (changed(("layers", 1, "K"), -4), "layers[1].K", ">= 1"),
    (changed(("layers", 1, "K"), 1.5), "layers[1].K", "expected an integer"),
    (changed(("layers", 1, "K"), "3"), "layers[1].K", "expected an integer"),
    (changed(("layers", 1, "K"), True), "layers[1].K", "expected an integer"),
    (changed(("layers", 1, "K"), 10**9), "layers[1].K", "<="),
    (changed(("layers", 1, "k"), 3), "layers[1].k", "did you mean 'K'"),
    (changed(("layers", 1, "stride"), 2), "layers[1].stride", "did you mean 'stride_"),
    (changed(("layers", 1, "bytes_per_element"), 0), "layers[1].bytes_per_element", ">= 1"),
    (changed(("layers", 2, "name"), "a"), "layers[2].name", "duplicate layer name 'a'"),
    (changed(("layers", 2, "sparsity"), {"weight": 1.5}), "layers[2].sparsity.weight", "<= 1"),
    (
        changed(("layers", 2, "sparsity"), {"wieght": 0.5}),
        "layers[2].sparsity.wieght",
        "did you mean 'weight'",
    ),
    (changed(("layers", 2, "sparsity"), [0.5]), "layers[2].sparsity", "expected a mapping"),
    (changed(("edges",), [["a", "b"], ["b", "d"]]), "edges[1][1]", "no layer named 'd'"),
    (changed(("edges",), [["a", "bb"]]), "edges[0][1]", "did you mean 'b'"),
    (changed(("edges",), [["a", "b", "c"]]), "edges[0]", "pair"),
    (changed(("edges",), "a->b"), "edges", "expected a list"),
    (changed(("edges",), [["a", "b"], ["a", "b"], ["b", "c"]]), "edges[1]", "duplicate edge"),
    (changed(("edges",), [["a", "b"], ["b", "c"], ["c", "a"]]), "edges", "cycle: a -> b -> c -> a"),
    (changed(("edges",), [["a", "a"], ["a", "b"], ["b", "c"]]), "edges", "cycle"),
    (changed(("edges",), [["a", "c"], ["c", "b"]]), "edges[1]", "earlier layer"),
    (changed(("edges",), [["a", "b"]]), "edges", "not connected (2 separate parts; layer 'c'"),
    (changed(("edges",), []), "edges", "not connected"),
]


@pytest.mark.parametrize(("data", "field", "reason"), BAD)
def test_bad_model_raises_input_error_with_field(
    data: Any, field: str, reason: str, tmp_path: Path
) -> None:
    path = write(tmp_path, yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as caught:
        load_model(path)
    assert caught.value.file == str(path)
    assert caught.value.field == field, caught.value
    assert reason in caught.value.reason, caught.value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("kind: model\nname: [unclosed\n", "malformed YAML"),
        ("- a\n- b\n", "mapping"),
    ],
)
def test_unreadable_model_files(text: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=reason):
        load_model(write(tmp_path, text))


# -- the bundled library -----------------------------------------------------------------------


def test_library_lists_the_twelve_xrbench_models() -> None:
    assert models_dir().resolve() == (ROOT / "models").resolve()  # models/ links into the package
    xrbench = [name for name in list_models() if "XRBench-MLSys2023" in (get_model(name).source or "")]
    assert xrbench == sorted(LAYER_COUNTS)  # the other bundled models come from MAESTRO
    assert len(list_models()) == len(LAYER_COUNTS) + 7


@pytest.mark.parametrize(("name", "count"), sorted(LAYER_COUNTS.items()))
def test_bundled_model_loads_as_chain_of_right_length(name: str, count: int) -> None:
    model = get_model(name)
    assert model.name == name and len(model) == count and model.is_chain
    assert model.source is not None and "XRBench-MLSys2023" in model.source
    assert "89156663" in model.source
    assert {layer.type for layer in model.layers} <= {LayerType.CONV, LayerType.FC}
    assert get_model(name) is model  # cached


def test_bundled_models_spot_values() -> None:
    # ES_RITNet conv1 (VR_gaming.m): K=C=32 on 160x100 with a 3x3 kernel, as in the file
    conv1 = get_model("ES_RITNet").layer(0)
    assert conv1.dims() == {"N": 1, "K": 32, "C": 32, "Y": 160, "X": 100, "R": 3, "S": 3}
    assert get_model("KD_res8_narrow").layer(7).type is LayerType.FC
    assert get_model("D2go_FastRCNN").layers == get_model("OD_D2go_FasterRCNN").layers
    assert "same layers as OD_D2go_FasterRCNN" in (get_model("D2go_FastRCNN").source or "")


@needs_xrbench
def test_bundled_models_equal_the_scenario_files() -> None:
    from rtmm_opt.workload.maestro import parse_maestro

    paths = sorted(SCENARIOS.glob("*.m"))
    networks = [(path, network) for path in paths for network in parse_maestro(path).networks]
    assert len(paths) == 7  # XRBench's usage scenarios
    assert {network.name for _, network in networks} == set(LAYER_COUNTS)
    for path, network in networks:
        assert get_model(network.name).layers == network.layers, (path, network.name)


def test_unknown_name_suggests_nearest() -> None:
    with pytest.raises(InputError, match="did you mean 'ES_RITNet'") as caught:
        get_model("ES_RITnet")
    assert caught.value.field == "model"
    with pytest.raises(InputError, match="did you mean 'AS_ED_TCN'"):
        get_model("as_ed_tcn")
    with pytest.raises(InputError, match="bundled models: ASR_EM_24L, AS_ED_TCN"):
        get_model("nothing_like_it")


def test_get_model_from_paths(tmp_path: Path) -> None:
    single = write(
        tmp_path,
        "Network Tiny {\nFPS: 30\nLayer l1 { Type: CONV Dimensions: { K: 2, C: 2, Y: 4, X: 4, "
        "R: 3, S: 3 } }\n}\n",
        "tiny.m",
    )
    model = get_model(single)
    assert (model.name, len(model), model.macs, model.source) == (
        "Tiny",
        1,
        2 * 2 * 9 * 4,
        str(single),
    )
    assert get_model(str(single)) is model
    double = write(
        tmp_path, single.read_text() + single.read_text().replace("Tiny", "Other"), "two.m"
    )
    with pytest.raises(InputError, match=r"exactly one network.*\(Tiny, Other\)"):
        get_model(double)
    yaml_path = tmp_path / "copy.yaml"
    dump_model(get_model("AS_ED_TCN"), yaml_path)
    assert models_equal(get_model(str(yaml_path)), get_model("AS_ED_TCN"))
    with pytest.raises(InputError, match="no such file"):
        get_model(tmp_path / "missing.yaml")


def test_models_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert list_models() == []
    dump_model(ModelGraph.chain("mine", [conv("x", K=2, C=2, Y=3, X=3)]), tmp_path / "mine.yaml")
    assert list_models() == ["mine"]
    assert get_model("mine").name == "mine"
    with pytest.raises(InputError, match="unknown model 'ES_RITNet'"):
        get_model("ES_RITNet")


@needs_xrbench
def test_converter_output_is_up_to_date() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "convert_xrbench_models", ROOT / "scripts" / "convert_xrbench_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    converted = module.convert(SCENARIOS)
    assert set(converted) == set(LAYER_COUNTS)
    for name, text in converted.items():
        assert (ROOT / "models" / f"{name}.yaml").read_text(encoding="utf-8") == text, name

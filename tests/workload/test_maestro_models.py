"""The networks converted from MAESTRO's model files (``models/README.md``): their MACs against
the papers' published counts, and the converter's normalisation rules on hand-written layers.

Published figures: ResNet-50 3.8 G multiply-adds (He et al., CVPR'16, Table 1), MobileNetV2
300 M (Sandler et al., CVPR'18), VGG-16 15.47 G of which 0.12 G in its fully connected layers
(Simonyan & Zisserman, ICLR'15), GoogLeNet 1.5 G (Szegedy et al., CVPR'15), MnasNet-A1 312 M
(Tan et al., CVPR'19), SqueezeNet 1.0 0.82 G (torchvision's model table).
"""

import importlib.util
import sys
from pathlib import Path

import pytest
from support import ROOT

from rtmm_opt.workload.layer import Layer, LayerType
from rtmm_opt.workload.library import get_model

MAESTRO_FILES = Path("/tmp/maestro_models")


def _converter():
    spec = importlib.util.spec_from_file_location(
        "convert_maestro_models", ROOT / "scripts" / "convert_maestro_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def conv_macs(k, c, r, out):
    return k * c * r * r * out * out


@pytest.mark.parametrize(
    ("model", "published", "tolerance"),
    [
        ("GoogLeNet", 1.5e9, 0.02),
        ("MnasNet", 312e6, 0.02),
        ("SqueezeNet1_0", 0.82e9, 0.02),
    ],
)
def test_faithful_files_match_the_published_macs(model, published, tolerance):
    assert get_model(model).macs == pytest.approx(published, rel=tolerance)


def test_vgg16_is_its_thirteen_convolutions():
    """VGG-16's convolutions, hand-counted from the paper's configuration D (3×3, same
    padding): 15.35 G, the published 15.47 G less the three FC layers (0.12 G)."""
    plan = [(64, 3, 224), (64, 64, 224), (128, 64, 112), (128, 128, 112), (256, 128, 56)]
    plan += [(256, 256, 56)] * 2 + [(512, 256, 28)] + [(512, 512, 28)] * 2 + [(512, 512, 14)] * 3
    convs = sum(conv_macs(k, c, 3, out) for k, c, out in plan)
    fc = 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    model = get_model("VGG16")
    assert model.macs == convs == 15_346_630_656
    assert (convs + fc) / 1e9 == pytest.approx(15.47, abs=0.005)


def test_resnet50_plus_what_the_file_omits_is_he_et_al_count():
    """MAESTRO's ResNet-50 lacks the four projection shortcuts and gives blocks 3_2..3_4 a
    first 1×1 layer of 256 input channels (512 in the network); adding both back gives the
    3.86 G of ResNet-50 v1 (He et al.: "3.8 × 10^9 FLOPs", multiply-adds)."""
    model = get_model("ResNet50")
    projections = (
        conv_macs(256, 64, 1, 56)
        + conv_macs(512, 256, 1, 28)
        + conv_macs(1024, 512, 1, 14)
        + conv_macs(2048, 1024, 1, 7)
    )
    slips = 3 * conv_macs(128, 512 - 256, 1, 28)
    assert [layer.C for layer in model.layers if layer.name in ("CONV3_2_1", "CONV3_4_1")] == [
        256,
        256,
    ]
    assert (model.macs + projections + slips) / 1e9 == pytest.approx(3.86, abs=0.005)
    assert model.macs + projections + slips == pytest.approx(3.8e9, rel=0.02)
    first = model.layers[0]
    assert (first.out_y, first.out_x) == (112, 112)  # same padding: 224 / stride 2
    assert model.layers[-1].type is LayerType.FC and model.layers[-1].macs == 2048 * 1000


def test_mobilenetv2_is_wider_than_the_paper_where_the_file_is():
    """MAESTRO's MobileNetV2 gives 0.445 G, not the paper's 0.30 G: projection layers such as
    Bottleneck2_1_3 keep the expanded width (96 → 96 instead of 96 → 24)."""
    model = get_model("MobileNetV2")
    by_name = {layer.name: layer for layer in model.layers}
    assert (by_name["Bottleneck2_1_3"].K, by_name["Bottleneck2_1_3"].C) == (96, 96)
    assert 0.40e9 < model.macs < 0.50e9
    depthwise = [layer for layer in model.layers if layer.type is LayerType.DWCONV]
    assert len(depthwise) == 16 and all(layer.K == layer.C for layer in depthwise)
    # a depthwise layer does K·R·S·Y'·X' MACs: 32 channels, 3×3, 112×112 (same padding)
    assert by_name["Bottleneck1_1_2"].macs == 32 * 9 * 112 * 112


def test_transformer_encoder_macs_from_its_hyperparameters():
    """6 layers, L = 128 tokens, d = 512, d_ff = 2048, 6 heads of 64 (as the file lists them):
    QKV 3·L·d², attention 2·h·L²·64, output L·d², feed-forward 2·L·d·d_ff per layer."""
    length, d, d_ff, heads = 128, 512, 2048, 6
    per_layer = 4 * length * d * d + 2 * heads * length * length * 64 + 2 * length * d * d_ff
    model = get_model("TransformerEncoder")
    assert model.macs == 6 * per_layer == 2_491_416_576
    kinds = {layer.type for layer in model.layers}
    assert kinds == {LayerType.FC, LayerType.MATMUL}
    assert model.params == 6 * (4 * d * d + 2 * d * d_ff)  # matmuls have no weights


def test_normalisation_rules_on_hand_written_layers():
    convert = _converter()
    residual = Layer("res", LayerType.DWCONV, K=16, C=16, Y=8, X=8)
    (add,) = convert.normalise_layer(residual)
    assert add.type is LayerType.ELEMENTWISE and add.macs == 0 and add.output_elements == 16 * 64
    conv = Layer("c", LayerType.CONV, K=4, C=2, Y=10, X=10, R=3, S=3, stride_y=2, stride_x=2)
    (padded,) = convert.normalise_layer(conv)
    assert (padded.Y, padded.out_y) == (11, 5)  # ceil(10 / 2) = 5 outputs: (5 − 1)·2 + 3 = 11
    classifier = Layer("fc", LayerType.CONV, K=10, C=64, Y=7, X=7, R=7, S=7)
    pool, fc = convert.normalise_layer(classifier)
    assert pool.type is LayerType.POOL and pool.output_elements == 64
    assert fc.type is LayerType.FC and fc.macs == 640
    gemm = Layer("g", LayerType.CONV, N=128, K=1536, C=1, R=1, S=512, Y=1, X=512)
    (fc_gemm,) = convert.normalise_layer(gemm)
    assert fc_gemm.type is LayerType.FC and fc_gemm.macs == gemm.macs == 128 * 512 * 1536
    attention = Layer("qk", LayerType.CONV, K=128, C=1, R=64, S=1, Y=64, X=128)
    (product,) = convert.normalise_layer(attention)
    assert product.type is LayerType.MATMUL and product.macs == attention.macs == 128 * 64 * 128


def test_text_fixes():
    convert = _converter()
    text = (
        "Constant Seq 4;\nNetwork n {\nLayer a { Type: CONV\n"
        "Dimensions { K 2,C 3,R 1,S 1,Y Seq,X 4 } }\n"
        "Layer a { Type: CONV\nDimensions { N: Seq, K: 2, C: 2, R: 1, S: 1, Y: 4, X: 4 } }\n}\n"
    )
    fixed = convert.normalise_text(text, "x.m")
    assert "Layer a_2" in fixed and "K: 2" in fixed and "Y: 4" in fixed and "N: 4" in fixed
    assert "Constant" not in fixed


@pytest.mark.skipif(not MAESTRO_FILES.is_dir(), reason="needs MAESTRO's data/model/*.m files")
def test_bundled_files_are_what_the_converter_writes():
    convert = _converter()
    assert convert.main(["--check", *map(str, sorted(MAESTRO_FILES.glob("*.m")))]) == 0

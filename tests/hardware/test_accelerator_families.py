"""Simba-like and Eyeriss-like sub-accelerators in the analytical cost model, and their presets.

The direction checks follow from the two designs' spatial mappings (docs/hardware.md,
"Accelerator families"): Simba puts input channels on its 8-wide vectors and output channels on
its 128 vector lanes, so it fills its MACs only when C and K are large, whatever the filter;
Eyeriss puts filter rows down its 12 rows and output rows across its 14 columns, so a tall
filter and a tall output fill it, while a pointwise layer on a small map or a fully connected
layer (one output row) leaves columns idle (Chen et al., JSSC'17 and Eyeriss v2, JETCAS'19,
on v1's poor utilisation for FC and compact layers).
"""

import pytest

from rtmm_opt.errors import InputError
from rtmm_opt.hardware.accelerator import Accelerator, Dataflow
from rtmm_opt.hardware.cost.analytical import AnalyticalCostModel, breakdown, compute_cycles
from rtmm_opt.hardware.presets import get_system, list_family_presets, system_to_dict
from rtmm_opt.hardware.systemfile import system_from_dict
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.layer import Layer, LayerType
from rtmm_opt.workload.library import get_model

SYSTEM = get_system("hetero-2s2e")
SIMBA, EYERISS = SYSTEM.accelerators[0], SYSTEM.accelerators[2]

LARGE_FILTERS = [  # ResNet-50 conv1 (7×7, padded 224 → 229) and AlexNet conv1 (11×11, stride 4)
    Layer("resnet_conv1", LayerType.CONV, K=64, C=3, Y=229, X=229, R=7, S=7, stride_y=2,
          stride_x=2),
    Layer("alexnet_conv1", LayerType.CONV, K=96, C=3, Y=227, X=227, R=11, S=11, stride_y=4,
          stride_x=4),
]  # fmt: skip
POINTWISE_AND_FC = [  # ResNet-50 conv5 1×1 on its 7×7 map, and its classifier
    Layer("resnet_conv5_1x1", LayerType.CONV, K=2048, C=512, Y=7, X=7),
    Layer("resnet_fc", LayerType.FC, K=1000, C=2048),
]


def util(layer, accelerator):
    return breakdown(layer, accelerator, SYSTEM.dram_bandwidth_gbps).utilisation


def test_presets_are_listed_and_shaped_as_the_papers():
    assert list_family_presets() == ["simba-4", "eyeriss-4", "hetero-2s2e", "hetero-4s4e"]
    assert [acc.name for acc in SYSTEM.accelerators] == ["simba0", "simba1", "eyeriss0", "eyeriss1"]
    assert SIMBA.pes == 16 * 8 * 8 and SIMBA.vector_width == 8  # Shao et al. §3
    assert (EYERISS.array_rows, EYERISS.array_cols, EYERISS.pes) == (12, 14, 168)  # ISCA'16
    assert EYERISS.buffer_bytes == 108 * 1024
    # shared DRAM below the sum of the links, so contention can bind
    assert (
        SYSTEM.dram_bandwidth_gbps
        == 64
        < sum(a.offchip_bandwidth_gbps for a in SYSTEM.accelerators)
    )
    assert len(get_system("hetero-4s4e")) == 8 and len(get_system("eyeriss-4")) == 4
    assert system_from_dict(system_to_dict(SYSTEM)) == SYSTEM  # the new fields round-trip


def test_compute_cycles_by_hand():
    # ResNet conv1 on Simba: ceil(3/8)·ceil(64/128)·112·112·7·7 steps (C and K are spatial)
    conv1 = LARGE_FILTERS[0]
    assert compute_cycles(conv1, SIMBA) == 112 * 112 * 49
    # on Eyeriss: 7 filter rows, 12 // 7 = 1 set down the rows: ceil(64/1) · ceil(112/14)
    # column folds · C · S · X' = 64 · 8 · 3 · 7 · 112
    assert compute_cycles(conv1, EYERISS) == 64 * 8 * 3 * 7 * 112
    # 3×3: 4 sets of 3 rows, 12 rows full; 56 output rows in 4 folds of 14
    conv3 = Layer("c", LayerType.CONV, K=64, C=64, Y=58, X=58, R=3, S=3)
    assert compute_cycles(conv3, EYERISS) == 16 * 4 * 64 * 3 * 56
    assert util(conv3, EYERISS) == pytest.approx(1.0)


@pytest.mark.parametrize("layer", LARGE_FILTERS, ids=lambda layer: layer.name)
def test_eyeriss_is_relatively_better_on_large_filters(layer):
    assert util(layer, EYERISS) > 2 * util(layer, SIMBA)


@pytest.mark.parametrize("layer", POINTWISE_AND_FC, ids=lambda layer: layer.name)
def test_simba_is_relatively_better_on_pointwise_and_fc(layer):
    assert util(layer, SIMBA) > 1.9 * util(layer, EYERISS)


def test_latency_ratio_follows_the_same_direction():
    """Eyeriss has 6× fewer MACs, so it is slower everywhere in absolute terms, but much less
    so on a large-filter layer than on a pointwise one."""

    def ratio(layer):
        return breakdown(layer, EYERISS, 64.0).cycles / breakdown(layer, SIMBA, 64.0).cycles

    assert max(map(ratio, LARGE_FILTERS)) * 3 < ratio(POINTWISE_AND_FC[0])


def test_every_bundled_model_costs_integers_of_at_least_one_on_every_family():
    model = AnalyticalCostModel()
    for name in ("ResNet50", "MobileNetV2", "TransformerEncoder"):
        graph: ModelGraph = get_model(name)
        for index in range(len(graph)):
            for acc in range(len(SYSTEM)):
                cost = model.layer_cost(graph, index, SYSTEM, acc)
                assert cost.cycles >= 1 and cost.energy_nj > 0 and cost.dram_bytes >= 0


def test_xrbench_accelerators_are_unchanged_by_the_new_fields():
    plain = Accelerator("a", Dataflow.WS, pes=2048)
    assert plain.family == "xrbench"
    assert "vector_width" not in system_to_dict(get_system("xrb4k-A"))["accelerators"][0]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dataflow": Dataflow.RS, "pes": 64, "vector_width": 8}, "needs dataflow WS"),
        ({"dataflow": Dataflow.WS, "pes": 100, "vector_width": 8}, "must divide pes"),
        ({"dataflow": Dataflow.RS, "pes": 168, "array_rows": 12}, "both array_rows"),
        ({"dataflow": Dataflow.RS, "pes": 100, "array_rows": 12, "array_cols": 14}, "must equal"),
        (
            {"dataflow": Dataflow.WS, "pes": 168, "array_rows": 12, "array_cols": 14},
            "needs dataflow RS",
        ),
    ],
)
def test_inconsistent_family_fields_are_input_errors(fields, message):
    with pytest.raises(InputError, match=message):
        Accelerator("a", **fields)


def test_system_file_reads_family_fields(tmp_path):
    path = tmp_path / "sys.yaml"
    path.write_text(
        "kind: system\nname: s\naccelerators:\n"
        "  - {name: e, dataflow: RS, pes: 168, array_rows: 12, array_cols: 15}\n"
    )
    with pytest.raises(InputError, match=r"sys.yaml: accelerators\[0\].array_rows: .*must equal"):
        get_system(path)

"""Presets (against XRBench's own files and cost table) and strict system YAML files."""

import csv
import gzip
import json
import re

import pytest
import yaml
from support import ROOT, XRBENCH, needs_xrbench

from rtmm_opt.errors import InputError
from rtmm_opt.hardware import Dataflow
from rtmm_opt.hardware.presets import get_system, list_aliases, list_presets, system_to_dict
from rtmm_opt.hardware.systemfile import load_system

BUNDLED_TABLE = ROOT / "costs" / "xrbench_maestro.csv.gz"


def runs_csv():
    with open(XRBENCH / "reference" / "runs.csv", newline="") as stream:
        return list(csv.DictReader(stream))


# -- presets -----------------------------------------------------------------------------------


def test_38_presets_named_after_hw_and_dataflow_files():
    names = list_presets()
    assert len(names) == 38 == len(set(names))
    assert all(
        re.fullmatch(r"xrb-(Single|Dual|Quad)_[48]K(_BigLittle|_LittleBig)?-[WORS_]+", n)
        for n in names
    )
    groups = {"single": 2 * 3, "dual": 6 * 4, "quad": 2 * 4}
    for group, count in groups.items():
        assert sum(1 for n in names if n.startswith(f"xrb-{group.capitalize()}_")) == count


@needs_xrbench
def test_presets_are_exactly_run_evals_pairs():
    """run_evals.py pairs each hw file with each dataflow file of its group (README, runs.csv)."""
    expected = set()
    for group in ("single", "dual", "quad"):
        hws = [p.stem for p in (XRBENCH / "hw_configs" / group).glob("*.m")]
        flows = [p.stem for p in (XRBENCH / "dataflows" / group).glob("*.m")]
        expected |= {f"xrb-{hw}-{flow}" for hw in hws for flow in flows}
    assert set(list_presets()) == expected
    assert {f"xrb-{r['hw_config']}-{r['dataflow']}" for r in runs_csv()} == expected


@needs_xrbench
def test_aliases_agree_with_paper_labels_in_runs_csv():
    aliases = list_aliases()
    assert len(aliases) == 26
    from_runs = {}
    for row in runs_csv():
        if row["paper_label"]:
            size = "4k" if "_4K" in row["hw_config"] else "8k"
            from_runs[f"xrb{size}-{row['paper_label']}"] = (
                f"xrb-{row['hw_config']}-{row['dataflow']}"
            )
    assert aliases == from_runs
    # spot checks of the brief's letters
    assert aliases["xrb4k-K"] == "xrb-Dual_4K_BigLittle-WS_OS"
    assert aliases["xrb8k-M"] == "xrb-Quad_8K-WS_OS_WS_OS"
    assert aliases["xrb4k-C"] == "xrb-Single_4K-RS"


def table_accelerators(path):
    """(hw_config, dataflow, index) -> (num_pes, top_noc_bw, sub_dataflow) from a cost table."""
    seen = {}
    with gzip.open(path, "rt", newline="") as stream:
        for row in csv.DictReader(stream):
            key = (row["hw_config"], row["dataflow"], int(row["sub_accelerator_index"]))
            if key not in seen:
                seen[key] = (int(row["num_pes"]), int(row["top_noc_bw"]), row["sub_dataflow"])
    return seen


def test_preset_accelerators_match_maestro_table_order_and_sizes():
    """The cost table was produced by XRBench itself: its proc ids fix the accelerator order
    (Dual_8K_LittleBig lists its 2048-PE block first although it is named Acc1)."""
    seen = table_accelerators(BUNDLED_TABLE)
    assert len(seen) == 86
    for name in list_presets():
        system = get_system(name)
        hw, flow = system.origin["hw_config"], system.origin["dataflow"]
        assert len(system) == len(flow.split("_"))
        for index, acc in enumerate(system.accelerators):
            assert (acc.pes, acc.noc_bandwidth, acc.dataflow.value) == seen[(hw, flow, index)]
            assert acc.name == f"acc{index}"
            assert acc.dataflow is Dataflow(flow.split("_")[index])
    little_big = get_system("xrb-Dual_8K_LittleBig-WS_OS")
    assert [a.pes for a in little_big.accelerators] == [2048, 6144]


def test_preset_fields():
    system = get_system("xrb-Dual_4K_BigLittle-WS_OS")
    assert system.origin == {
        "suite": "xrbench",
        "hw_config": "Dual_4K_BigLittle",
        "dataflow": "WS_OS",
    }
    big, little = system.accelerators
    assert (big.pes, little.pes) == (3072, 1024)
    assert big.clock_ghz == little.clock_ghz == 1.0
    assert big.buffer_bytes == 2 * 1024 * 1024 and big.pe_buffer_bytes == 8192
    assert big.offchip_bandwidth_gbps == 128.0  # 128 elements/cycle × 1 B × 1 GHz
    assert system.dram_bandwidth_gbps == 256.0  # sum of the links: never binds first
    single = get_system("xrb-Single_8K-RS")
    assert single.accelerators[0].buffer_bytes == 8 * 1024 * 1024
    assert single.accelerators[0].pe_buffer_bytes == 16384


def test_aliases_resolve_to_the_same_system():
    assert get_system("xrb4k-J") == get_system("xrb-Dual_4K-WS_OS")
    assert get_system("xrb8k-A").name == "xrb-Single_8K-WS"


def test_unknown_system_suggests_nearest_name():
    with pytest.raises(InputError, match=r"did you mean 'xrb-Dual_4K-WS_OS'"):
        get_system("xrb-Dual_4k-WS_OS")
    with pytest.raises(InputError, match="unknown system"):
        get_system("tpu-v9")


def test_bundled_preset_data_records_its_origin():
    data = json.loads(
        (ROOT / "rtmm_opt" / "hardware" / "data" / "xrbench_systems.json").read_text()
    )
    assert data["origin"]["commit"].startswith("89156663")


@needs_xrbench
def test_converter_reproduces_bundled_preset_data():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "conv", ROOT / "scripts" / "convert_xrbench_presets.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bundled = json.loads(
        (ROOT / "rtmm_opt" / "hardware" / "data" / "xrbench_systems.json").read_text()
    )
    assert module.convert(XRBENCH) == bundled


# -- system files --------------------------------------------------------------------------------


def write(tmp_path, data, name="sys.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def test_preset_round_trips_through_a_system_file(tmp_path):
    for name in ("xrb-Quad_8K-WS_OS_WS_OS", "xrb-Single_4K-RS"):
        system = get_system(name)
        path = write(tmp_path, system_to_dict(system))
        loaded = load_system(path)
        assert loaded == system and loaded.origin == system.origin
        assert get_system(str(path)) == system


def test_system_file_defaults_count_and_shared_dram(tmp_path):
    path = write(
        tmp_path,
        """
kind: system
name: phone
accelerators:
  - {name: big, count: 2, dataflow: nvdla, pes: 2048, offchip_bandwidth_gbps: 25.6}
  - {name: little, dataflow: OS, pes: 512, clock_ghz: 0.8}
""",
    )
    system = load_system(path)
    assert [a.name for a in system.accelerators] == ["big0", "big1", "little"]
    assert [a.dataflow for a in system.accelerators] == [Dataflow.WS, Dataflow.WS, Dataflow.OS]
    assert system.accelerators[2].clock_ghz == 0.8
    assert system.accelerators[2].buffer_bytes == 2 * 1024 * 1024  # Accelerator default
    assert system.dram_bandwidth_gbps == pytest.approx(25.6 + 25.6 + 128.0)
    assert system.origin == {}


GOOD = {
    "kind": "system",
    "name": "s",
    "dram_bandwidth_gbps": 64,
    "accelerators": [{"name": "a", "dataflow": "WS", "pes": 1024}],
}


def with_change(path, value):
    data = json.loads(json.dumps(GOOD))
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        ("dram_bandwith_gbps", 64, "dram_bandwith_gbps", "did you mean 'dram_bandwidth_gbps'"),
        ("accelerators.0.pe", 4, "accelerators[0].pe", "did you mean 'pes'"),
        ("accelerators.0.dataflow", "XS", "accelerators[0].dataflow", "unknown dataflow 'XS'"),
        ("accelerators.0.pes", 0, "accelerators[0].pes", "must be > 0"),
        ("accelerators.0.pes", 10.5, "accelerators[0].pes", "expected an integer"),
        ("accelerators.0.pes", True, "accelerators[0].pes", "expected an integer"),
        ("accelerators.0.clock_ghz", -1.0, "accelerators[0].clock_ghz", "must be > 0"),
        ("accelerators.0.clock_ghz", float("nan"), "accelerators[0].clock_ghz", "finite"),
        ("accelerators.0.buffer_bytes", 10**20, "accelerators[0].buffer_bytes", "must be <="),
        (
            "accelerators.0.offchip_bandwidth_gbps",
            "fast",
            "accelerators[0].offchip_bandwidth_gbps",
            "expected a number",
        ),
        ("accelerators.0.count", 0, "accelerators[0].count", "must be > 0"),
        ("dram_bandwidth_gbps", 0, "dram_bandwidth_gbps", "must be > 0"),
        ("accelerators", [], "accelerators", "at least one accelerator"),
        ("accelerators", "a", "accelerators", "expected a list"),
        ("accelerators.0", 5, "accelerators[0]", "expected a mapping"),
        ("kind", "model", "kind", "expected 'system'"),
        ("name", DELETE, "name", "required field is missing"),
        ("accelerators.0.pes", DELETE, "accelerators[0].pes", "required field is missing"),
        ("origin", {"hw_config": 3}, "origin.hw_config", "expected a non-empty string"),
    ],
)
def test_bad_system_files_name_file_and_field(tmp_path, path, value, field, reason):
    file = write(tmp_path, with_change(path, value))
    with pytest.raises(InputError) as caught:
        load_system(file)
    assert caught.value.file == str(file)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_duplicate_accelerator_names_after_count(tmp_path):
    data = with_change(
        "accelerators",
        [
            {"name": "npu", "count": 2, "dataflow": "WS", "pes": 64},
            {"name": "npu1", "dataflow": "OS", "pes": 64},
        ],
    )
    with pytest.raises(InputError) as caught:
        load_system(write(tmp_path, data))
    assert caught.value.field == "accelerators[1].name" and "npu1" in caught.value.reason


def test_malformed_and_missing_system_files(tmp_path):
    with pytest.raises(InputError, match="malformed YAML"):
        load_system(write(tmp_path, "kind: system\naccelerators: [\n"))
    with pytest.raises(InputError, match="no such file"):
        load_system(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="no such file"):
        get_system(str(tmp_path / "absent.yaml"))

"""Every kind of bad input exits 2 with one line naming the file, the field and the reason.

One case per kind the foundation promises (malformed and empty files, unknown keys with a
suggestion, cycles, missing references, bad numbers, unknown dataflows and layer types), each
through the real command line.
"""

import pytest

from rtmm_opt.cli.main import main

GOOD_LAYER = "{name: c1, type: conv, K: 4, C: 3, Y: 8, X: 8, R: 3, S: 3}"
MODEL = f"kind: model\nname: m\nlayers:\n  - {GOOD_LAYER}\n"
SYSTEM = (
    "kind: system\nname: s\ndram_bandwidth_gbps: 64\naccelerators:\n"
    "  - {name: a0, dataflow: WS, pes: 1024}\n"
)
SCENARIO = (
    "kind: scenario\nname: sc\ntasks:\n"
    "  - {name: eye, model: ES_RITNet, fps: 60}\n"
    "  - {name: gaze, model: GE_FBNet_C, fps: 60, depends_on: [eye]}\n"
)
MAESTRO = "Network n {\nLayer c1 {\nType: CONV\nDimensions: { N: 1, K: 4, C: 3, Y: 8, X: 8, R: 3, S: 3 }\n}\n}\n"

CASES = [
    # (name, file name, content, words that must appear in the one error line)
    ("malformed yaml", "a.yaml", "kind: model\nlayers: [\n", ["malformed YAML"]),
    ("empty yaml", "a.yaml", "\n", ["empty"]),
    ("malformed .m", "a.m", "Network n { Layer c1 { Type: CONV Dimensions: { K: 4 ", ["Dimensions", "unexpected end of file"]),
    ("empty .m", "a.m", "", ["empty"]),
    ("unknown key", "a.yaml", MODEL.replace("name: m", "name: m\nlayerz: []"), ["layerz", "did you mean 'layers'"]),
    ("unknown layer key", "a.yaml", MODEL.replace("K: 4", "KK: 4"), ["KK"]),
    ("unknown task key", "a.yaml", SCENARIO.replace("fps: 60}", "fsp: 60}", 1), ["fsp", "did you mean 'fps'"]),
    ("cyclic model", "a.yaml", MODEL + f"  - {GOOD_LAYER.replace('c1', 'c2')}\nedges: [[c1, c2], [c2, c1]]\n", ["cycle"]),
    ("cyclic tasks", "a.yaml", SCENARIO.replace("{name: eye, model: ES_RITNet, fps: 60}", "{name: eye, model: ES_RITNet, fps: 60, depends_on: [gaze]}"), ["cycl"]),
    ("missing model", "a.yaml", SCENARIO.replace("GE_FBNet_C", "GE_FBNet_X"), ["GE_FBNet_X"]),
    ("missing task", "a.yaml", SCENARIO.replace("depends_on: [eye]", "depends_on: [ear]"), ["ear"]),
    ("missing edge layer", "a.yaml", MODEL + "edges: [[c1, c9]]\n", ["c9"]),
    ("zero fps", "a.yaml", SCENARIO.replace("fps: 60}", "fps: 0}", 1), ["fps"]),
    ("negative dim", "a.yaml", MODEL.replace("K: 4", "K: -4"), ["K"]),
    ("nan pes", "a.yaml", SYSTEM.replace("pes: 1024", "pes: .nan"), ["pes"]),
    ("absurd fps", "a.yaml", SCENARIO.replace("fps: 60}", "fps: 1.0e+30}", 1), ["fps", "must be <="]),
    ("absurd .m dim", "a.m", MAESTRO.replace("K: 4", "K: 99999999999"), ["K"]),
    ("unknown dataflow", "a.yaml", SYSTEM.replace("WS", "XS"), ["dataflow", "XS"]),
    ("unknown layer type", "a.yaml", MODEL.replace("type: conv", "type: convolution3d"), ["convolution3d"]),
    ("unknown .m type", "a.m", MAESTRO.replace("CONV", "CONVX"), ["CONVX"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "file_name", "content", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_file_exits_2_with_one_line(tmp_path, capsys, name, file_name, content, words):
    path = tmp_path / file_name
    path.write_text(content)
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert status == 2, f"{name}: exit {status}, stderr {err!r}"
    assert out == ""
    assert err.startswith(f"rtmm: error: {path}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert words, f"{name}: no words to look for"
    for word in words:
        assert word in err, f"{name}: {word!r} not in {err!r}"


def test_good_files_pass(tmp_path, capsys):
    for file_name, content in (
        ("m.yaml", MODEL),
        ("s.yaml", SYSTEM),
        ("sc.yaml", SCENARIO),
        ("n.m", MAESTRO),
    ):
        path = tmp_path / file_name
        path.write_text(content)
        assert main(["validate", str(path)]) == 0, capsys.readouterr().err

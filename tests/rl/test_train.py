"""RELMAS's training (PyTorch): the numpy actor computes what the trained network computes, a
short training run through ``rtmm train relmas`` writes a checkpoint that ``rtmm run`` uses, and
the same seed trains the same weights."""

import csv
import json

import numpy as np
import pytest
import torch  # the test extra brings it: these tests are never skipped

from rtmm_opt.rl.train import TorchActor
from rtmm_opt.schedulers.relmas_state import GLOBAL_FEATURES, N_INPUTS


@pytest.mark.parametrize("recurrent", [True, False])
def test_numpy_actor_matches_the_torch_actor(recurrent):
    torch.manual_seed(0)
    net = TorchActor(recurrent, hidden=16, width=32)
    actor = net.to_numpy(bandwidth=True, k=5, meta={})
    rng = np.random.default_rng(0)
    h = torch.zeros(1, 16)
    c = torch.zeros(1, 16)
    for _ in range(3):  # the recurrent state carries over
        pairs = rng.uniform(-2, 2, (5, 3, N_INPUTS)).astype(np.float32)
        glob = rng.uniform(0, 2, len(GLOBAL_FEATURES)).astype(np.float32)
        with torch.no_grad():
            expected, h, c = net(torch.from_numpy(pairs)[None], torch.from_numpy(glob)[None], h, c)
        got = actor.scores(pairs, glob)
        assert np.allclose(got, expected[0].numpy(), atol=1e-5)


def train_cli(rtmm, out, *extra):
    return rtmm("train", "relmas", "--scenario", "instances/multitenant/light.yaml",
                "--scenario", "heavy", "--system", "hetero-2s2e", "--steps", "300",
                "--demo-steps", "100", "--episode", "100ms", "--seed", "1", "--out", str(out),
                "--json", *extra)  # fmt: skip


def test_short_training_run_writes_a_checkpoint_that_rtmm_run_uses(rtmm, tmp_path):
    out = tmp_path / "policy.npz"
    code, stdout, stderr = train_cli(rtmm, out)
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["algorithm"] == "ddpg" and summary["episodes"] >= 2
    curve = tmp_path / "policy.curve.csv"
    assert (tmp_path / "policy.curve.png").is_file()
    rows = list(csv.DictReader(curve.open()))
    assert len(rows) == summary["episodes"]
    assert all(0 <= float(row["sla_rate"]) <= 1 for row in rows)
    assert int(rows[-1]["step"]) <= 300
    code, stdout, _ = rtmm("run", "instances/multitenant/medium.yaml", "--system", "hetero-4s4e",
                           "--scheduler", "relmas", "--param", f"policy={out}", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(stdout)
    assert data["valid"] and 0 < data["metrics"]["sla_rate"] <= 1
    # the same seed trains the same weights
    again = tmp_path / "again.npz"
    assert train_cli(rtmm, again)[0] == 0
    first, second = np.load(out), np.load(again)
    weights = [key for key in first.files if "." in key]
    assert len(weights) == 9
    for key in weights:
        assert np.array_equal(first[key], second[key]), key
    meta = json.loads(str(first["meta"]))
    assert meta["config"]["seed"] == 1 and meta["trained"] is True


def test_td3_mlp_without_bandwidth_trains(rtmm, tmp_path):
    out = tmp_path / "ablation.npz"
    code, _, stderr = train_cli(rtmm, out, "--algorithm", "td3", "--mlp", "--no-bandwidth",
                                     "--expert", "none")  # fmt: skip
    assert code == 0, stderr
    with np.load(out) as data:
        assert not bool(data["recurrent"]) and not bool(data["bandwidth"])
        assert json.loads(str(data["meta"]))["algorithm"] == "td3"
        assert "embed.w" in data.files and "lstm.w_ih" not in data.files


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (("--load", "2:1"), "--load"),
        (("--expert", "nobody"), "scheduler"),
        (("--episode", "soon"), "--episode"),
    ],
)
def test_bad_training_options_exit_2(rtmm, tmp_path, extra, field):
    code, _, stderr = train_cli(rtmm, tmp_path / "p.npz", *extra)
    assert code == 2
    assert field in stderr
    assert not (tmp_path / "p.npz").exists()


def test_checkpoint_must_be_an_npz_file(rtmm, tmp_path):
    code, _, stderr = train_cli(rtmm, tmp_path / "p.pt")
    assert code == 2 and "--out" in stderr

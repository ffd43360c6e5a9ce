"""The on-disk cache (rtmm_opt/io/disk_cache.py) and the cost table's use of it."""

import gzip
import json
import os

import pytest

from rtmm_opt.hardware.cost import table as table_module
from rtmm_opt.hardware.cost.table import TableCostModel
from rtmm_opt.io import disk_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(disk_cache.CACHE_ENV, str(folder))
    return folder


def test_values_round_trip_under_their_key(cache):
    key = ["/some/file", 123, 456, "H", "D"]
    assert disk_cache.load("kind", key) is None
    value = [["m", 0, 1, 0.1 + 0.2, 1e-300, 7.0, None, 2]]
    disk_cache.store("kind", key, value)
    assert disk_cache.load("kind", key) == value  # floats exactly (JSON keeps repr)
    assert disk_cache.load("kind", [*key[:-1], "E"]) is None
    assert disk_cache.load("other", key) is None
    assert len(list((cache / "kind").iterdir())) == 1  # one entry, no temporary left behind


def test_corrupt_or_foreign_entries_are_misses(cache):
    key = ["f", 1, 2]
    disk_cache.store("kind", key, [1, 2, 3])
    (entry,) = (cache / "kind").iterdir()
    entry.write_text("{not json")
    assert disk_cache.load("kind", key) is None
    entry.write_text(json.dumps({"key": "another key", "value": [9]}))
    assert disk_cache.load("kind", key) is None
    disk_cache.store("kind", key, [4])  # rewritten over the bad entry
    assert disk_cache.load("kind", key) == [4]


def test_the_cache_can_be_turned_off_and_survives_an_unwritable_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(disk_cache.CACHE_ENV, "off")
    assert disk_cache.cache_dir() is None
    disk_cache.store("kind", ["k"], [1])
    assert disk_cache.load("kind", ["k"]) is None
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(disk_cache.CACHE_ENV, str(blocker / "cache"))  # cannot be made
    disk_cache.store("kind", ["k"], [1])  # silently skipped
    assert disk_cache.load("kind", ["k"]) is None


def test_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(disk_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert disk_cache.cache_dir() == tmp_path / "rtmm-opt"


HEADER = "model,layer_index,hw_config,dataflow,sub_accelerator_index,cycles,energy_nJ,N,K,C,Y,X,R,S"


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz"])
def test_a_table_pair_is_read_once_then_from_the_disk_cache(cache, tmp_path, name, monkeypatch):
    text = HEADER + "\nm,0,H,D,0,10.25,2.5,1,2,3,4,5,6,7\nm,1,H,D,0,20,3,1,1,1,1,1,1,1\n"
    text += "m,0,H,E,0,99,9,1,1,1,1,1,1,1\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    first = TableCostModel(path)._group("H", "D")
    assert len(list((cache / table_module.DISK_KIND).iterdir())) == 1
    # a new process: nothing in memory, and reading the file would fail
    monkeypatch.setattr(table_module, "_GROUP_CACHE", {})
    monkeypatch.setattr(TableCostModel, "_scan_group", lambda *_: pytest.fail("read the file"))
    again = TableCostModel(path)._group("H", "D")
    assert again == first
    assert again[("m", 0, 0)].dims == (1, 2, 3, 4, 5, 6, 7)
    assert again[("m", 0, 0)].line == 2


def test_an_edited_table_is_read_again(cache, tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "\nm,0,H,D,0,10,2,1,1,1,1,1,1,1\n")
    assert TableCostModel(path).lookup("m", 0, "H", "D", 0).cycles == 10
    monkeypatch.setattr(table_module, "_GROUP_CACHE", {})
    path.write_text(HEADER + "\nm,0,H,D,0,30,2,1,1,1,1,1,1,1\n")
    os.utime(path, ns=(1, 1))  # another modification time, whatever the clock's resolution
    assert TableCostModel(path).lookup("m", 0, "H", "D", 0).cycles == 30


def test_a_corrupt_cache_entry_means_reading_the_file(cache, tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "\nm,0,H,D,0,10,2,1,1,1,1,1,1,1\n")
    TableCostModel(path)._group("H", "D")
    (entry,) = (cache / table_module.DISK_KIND).iterdir()
    stored = json.loads(entry.read_text())
    stored["value"] = [["m", "zero", 0]]  # the right key, a malformed value
    entry.write_text(json.dumps(stored))
    monkeypatch.setattr(table_module, "_GROUP_CACHE", {})
    assert TableCostModel(path).lookup("m", 0, "H", "D", 0).cycles == 10

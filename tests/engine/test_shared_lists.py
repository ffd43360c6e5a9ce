"""The engine's per-op lists with shared objects (contract.shared_values, shared_rows) equal
numpy's ``tolist`` and share equal values and rows."""

import numpy as np

from rtmm_opt.engine.contract import shared_rows, shared_values


def test_shared_rows_equal_tolist_and_share_equal_rows():
    rng = np.random.default_rng(1)
    distinct = rng.integers(-1, 10**12, size=(7, 3))
    matrix = distinct[rng.integers(0, 7, size=500)]
    rows = shared_rows(matrix)
    assert rows == matrix.tolist()
    assert len({id(row) for row in rows}) == len({tuple(row) for row in matrix.tolist()})
    assert shared_rows(np.zeros((0, 2), np.int64)) == []


def test_shared_rows_survive_a_hash_collision():
    weights = np.array([0x9E3779B97F4A7C15 >> (3 * k) | 1 for k in range(2)], np.uint64)
    w0, w1 = (int(w) for w in weights.view(np.int64))
    # (x + w1) w0 + (y - w0) w1 = x w0 + y w1 (mod 2^64): two rows, one hash
    first = [5, 7]
    second = [(5 + w1 + 2**63) % 2**64 - 2**63, (7 - w0 + 2**63) % 2**64 - 2**63]
    matrix = np.array([first, second, first], np.int64)
    rows = shared_rows(matrix)
    assert rows == matrix.tolist()
    assert rows[0] is rows[2] and rows[0] is not rows[1]


def test_shared_values_equal_tolist_and_share_equal_values():
    values = np.array([10**9, 3, 10**9, -1, 3, 10**9], np.int64)
    shared = shared_values(values)
    assert shared == values.tolist()
    assert shared[0] is shared[2] is shared[5]
    assert shared_values(np.zeros(0, np.int64)) == []

"""The XRBench real-time score's logistic function equals SciPy's ``expit`` to the bit."""

import numpy as np
import pytest

from rtmm_opt.metrics.metrics import XRBENCH_RT_SLOPE_PER_MS, logistic


def test_logistic_is_bit_identical_to_scipy_expit():
    expit = pytest.importorskip("scipy.special").expit
    rng = np.random.default_rng(7)
    lateness_ms = np.concatenate(
        [
            rng.normal(0.0, 1.0, 20_000),
            rng.normal(0.0, 50.0, 20_000),
            rng.uniform(-1000.0, 1000.0, 20_000),
            [0.0, -0.0, 1e-300, 47.3, 47.4, -49.7, 1e6, -1e6, np.inf, -np.inf],
        ]
    )
    x = -XRBENCH_RT_SLOPE_PER_MS * lateness_ms
    with np.errstate(over="ignore"):
        assert logistic(x).tobytes() == expit(x).tobytes()


def test_logistic_of_a_very_late_job_is_zero_without_overflow():
    assert logistic(np.array([-1e9, 0.0])).tolist() == [0.0, 0.5]

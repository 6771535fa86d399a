"""Shared test configuration: hypothesis profile, thread count, tolerances (from theory.tolerances)."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from theory import tolerances
from theory.linalg import relative_error

# deterministic, bounded property tests: same examples on every run and in CI
settings.register_profile("freqsens", derandomize=True, max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "freqsens"))

try:  # deliberate thread count: tests are small; never let two processes fight over 2 cores
    import torch
    torch.set_num_threads(int(os.environ.get("FREQSENS_THREADS", "1")))
except ImportError:  # pragma: no cover - torch is a declared dependency
    pass

# the bad-input table's world fixture (tests/bad_inputs/ holds one file of cases per command)
pytest_plugins = ("badinput_table",)

EXACT = tolerances.EXACT_F64


rel_err = relative_error  # max |a - b| / max |b| (elementwise, b's scale)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

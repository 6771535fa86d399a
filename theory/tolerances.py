"""All numerical tolerances of freqsens checks and tests, in one place.

Relative errors unless stated. Identities that are exact in exact arithmetic are checked at
round-off level for the dtype; optimizer and solver results get looser, stated bounds.
"""
from __future__ import annotations

import numpy as np

# exact identities (DFT, convolution theorem, Parseval, Lemma 3.11/4.3, norms), per dtype
EXACT = {np.dtype(np.float64): 1e-10, np.dtype(np.complex128): 1e-10,
         np.dtype(np.float32): 1e-4, np.dtype(np.complex64): 1e-4}
EXACT_F64 = EXACT[np.dtype(np.float64)]

# a local optimizer (L-BFGS) reaching a known minimum, relative gap
OPTIMIZER = 1e-8
# an interior-point / first-order conic solver (cvxpy) against a closed form, relative
CONIC_SOLVER = 1e-5
# "never below the bound": a value may undershoot its lower bound by at most this (round-off)
LOWER_BOUND_SLACK = 1e-10


def exact(dtype) -> float:
    """Round-off tolerance for an exact identity evaluated in ``dtype``."""
    return EXACT[np.dtype(dtype)]

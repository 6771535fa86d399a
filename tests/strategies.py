"""Composite hypothesis strategies that build valid inputs (bounded sizes: references are O(n^4))."""
import numpy as np
from hypothesis import strategies as st

from theory import linear_cnn as lc

sizes = st.integers(1, 5)
channels = st.integers(1, 3)
seeds = st.integers(0, 2**32 - 1)


@st.composite
def images(draw, batch=True):
    """(x, H, W, C): real images (N, C, H, W) (or (C, H, W) when batch=False)."""
    H, W, C = draw(sizes), draw(sizes), draw(channels)
    rng = np.random.default_rng(draw(seeds))
    shape = ((draw(st.integers(1, 3)),) if batch else ()) + (C, H, W)
    return rng.standard_normal(shape) * draw(st.sampled_from([1e-3, 1.0, 1e3])), H, W, C


@st.composite
def conv_pairs(draw):
    """(w, x): a real conv weight (C_out, C_in, H, W) and one image (C_in, H, W)."""
    x, H, W, C = draw(images(batch=False))
    rng = np.random.default_rng(draw(seeds))
    return rng.standard_normal((draw(channels), C, H, W)), x


@st.composite
def linear_cnns(draw, max_depth=4):
    """(ws, x): weights of eq. 3.1 with random depth/channels and a batch of images."""
    H, W = draw(sizes), draw(sizes)
    L = draw(st.integers(1, max_depth))
    chans = [draw(channels) for _ in range(L + 1)]
    rng = np.random.default_rng(draw(seeds))
    return lc.random_weights(chans, H, W, rng), rng.standard_normal((2, chans[0], H, W))


@st.composite
def complex_matrices(draw, batch=True, max_dim=5):
    """A complex stack (b, m, n) (or (m, n)) of random rank, with a random overall scale."""
    m, n = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    r = draw(st.integers(1, min(m, n)))
    rng = np.random.default_rng(draw(seeds))
    b = (draw(st.integers(1, 3)),) if batch else ()
    Z = lambda *s: rng.standard_normal(s) + 1j * rng.standard_normal(s)  # noqa: E731
    return (Z(*b, m, r) @ Z(*b, r, n)) * draw(st.sampled_from([1e-4, 1.0, 1e4]))


exponents = st.one_of(st.sampled_from([0.05, 0.1, 0.5, 2 / 3, 1.0, 2.0, 3.0]), st.floats(0.05, 4.0))
depths = st.integers(1, 6)

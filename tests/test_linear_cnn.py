"""theory.linear_cnn: eq. 3.1, Lemma 3.11 (eq. 3.12), Lemma 4.3 (eq. 4.4) and Theorem 4.9's constant."""
import numpy as np
import pytest
from hypothesis import given

from conftest import EXACT, rel_err
from strategies import linear_cnns
from theory import dft, linear_cnn as lc, reference as ref
from theory.tolerances import LOWER_BOUND_SLACK


@given(linear_cnns())
def test_three_way_agreement(case):
    """f(x) by pixel-space eq. 3.1, by the Fourier network (eq. 3.12) and by v_hat (eq. 4.4) agree
    with each other and with explicit loops, to ~1e-10 relative in float64."""
    ws, x = case
    loops = np.array([ref.linear_cnn_loops(ws, xi) for xi in x])
    x_hat = dft.dft2(x)
    f_fourier = lc.forward_fourier(ws, x_hat)
    assert rel_err(lc.forward_pixel(ws, x), loops) < EXACT
    assert rel_err(f_fourier, loops) < EXACT          # imaginary part vanishes too
    assert rel_err(dft.fourier_inner(lc.v_hat(ws), x_hat), loops) < EXACT
    assert rel_err(dft.contract(lc.effective_filter(ws), x), loops) < EXACT


@given(linear_cnns())
def test_v_hat_is_dft_of_real_filter(case):
    """v_hat[-k] = conj(v_hat[k]): the eq. 4.4 predictor (with its conjugates) is the DFT of a real filter."""
    ws, _ = case
    v = lc.v_hat(ws)
    I, J = dft.conjugate_indices(*v.shape[-2:])
    assert rel_err(v[..., I, J], v.conj()) < EXACT


@given(linear_cnns())
def test_v_hat_constant(case):
    """With equal weights per layer scaled by t, v_hat scales by t^L, and the constant is N^((L-1)/2):
    for 1x1 channels and delta kernels (w = e_0), v = e_0 so v_hat = N^(-1/2) everywhere."""
    ws, _ = case
    L, (H, W) = len(ws), ws[0].shape[-2:]
    deltas = [np.zeros((1, 1, H, W)) for _ in range(L)]
    for d in deltas:
        d[0, 0, 0, 0] = 1.0
    assert rel_err(lc.v_hat(deltas), np.full((1, 1, H, W), 1 / np.sqrt(H * W))) < EXACT
    assert rel_err(lc.v_hat([2 * w for w in ws]), 2 ** L * lc.v_hat(ws)) < EXACT


@given(linear_cnns(max_depth=5))
def test_balanced_weights_attain_theorem_49(case):
    """Real balanced weights reproduce v_hat and attain L N^(-(L-1)/L) sum_k |v_hat_k|_{2/L}^{2/L};
    the random weights that produced v_hat are never below it (Theorem 4.9 with exact constants)."""
    ws, x = case
    L, v = len(ws), lc.v_hat(ws)
    wb = lc.balanced_weights(v, L)
    assert all(np.isrealobj(w) for w in wb)
    assert rel_err(lc.v_hat(wb), v) < EXACT
    assert rel_err(lc.forward_pixel(wb, x), lc.forward_pixel(ws, x)) < 1e-8
    target = lc.min_weight_penalty(v, L)
    assert lc.weight_penalty(wb) == pytest.approx(target, rel=1e-9)
    assert lc.weight_penalty(ws) >= target * (1 - LOWER_BOUND_SLACK)


def test_theorem_49_constant_against_hand_value():
    """1x1 channels, L = 2, H = W = 2: v = 4 e_0 gives v_hat = 2 everywhere; min sum|w|^2 =
    2 * 4^(-1/2) * 4 * |2|^1 = 8, reached e.g. by w1 = w2 = 2 e_0 (sum 8), i.e. not the paper's 2*4*2=16."""
    v = np.zeros((1, 1, 2, 2))
    v[0, 0, 0, 0] = 4.0
    v_hat = dft.dft2(v)
    assert np.allclose(v_hat, 2.0)
    assert lc.min_weight_penalty(v_hat, 2) == pytest.approx(8.0)
    w = np.zeros((1, 1, 2, 2))
    w[0, 0, 0, 0] = 2.0
    assert rel_err(lc.v_hat([w, w]), v_hat) < EXACT and lc.weight_penalty([w, w]) == pytest.approx(8.0)


def test_widths_below_rank_rejected(rng):
    """balanced_weights needs inner widths >= the block ranks."""
    ws = lc.random_weights([3, 3, 3], 2, 2, rng)
    with pytest.raises(ValueError, match="widths"):
        lc.balanced_weights(lc.v_hat(ws), 3, widths=[1, 3])


@pytest.mark.parametrize("call, match", [
    (lambda: lc.v_hat([]), "ws: expected a list"),
    (lambda: lc.v_hat([np.ones((2, 3, 4, 4)), np.ones((1, 3, 4, 4))]), r"ws\[1\].*input channels"),
    (lambda: lc.v_hat([np.ones((2, 3, 4, 4)), np.ones((1, 2, 4, 5))]), r"ws\[1\].*spatial size"),
    (lambda: lc.v_hat([np.ones((2, 3, 4))]), r"ws\[0\].*4 dimensions"),
    (lambda: lc.v_hat([np.ones((1, 1, 2, 2)) * 1j]), "real weights"),
    (lambda: lc.forward_pixel([np.ones((1, 3, 4, 4))], np.ones((2, 2, 4, 4))), "x: expected trailing"),
    (lambda: lc.min_weight_penalty(np.ones((1, 1, 2, 2)), 0), "L: expected an integer >= 1"),
    (lambda: lc.random_weights([3], 2, 2, np.random.default_rng()), "channels"),
])
def test_bad_input(call, match):
    """L < 1, mismatched shapes, complex weights: ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        call()

"""theory.dft: the unitary DFT and the exact convolution / Parseval identities (eq. 3.2-3.9)."""
import numpy as np
import pytest
from hypothesis import given

from conftest import EXACT, rel_err
from strategies import conv_pairs, images
from theory import dft, reference as ref


@given(images())
def test_dft_matches_dense_matrix(case):
    """dft2 equals the dense matrix of eq. 3.5 (built without any FFT)."""
    x, *_ = case
    assert rel_err(dft.dft2(x), ref.dft2_dense(x)) < EXACT


@given(images())
def test_dft_is_unitary(case):
    """eq. 3.5 is unitary: F^* F = I, idft2 inverts dft2, and the norm is preserved."""
    x, H, W, _ = case
    F = ref.dft2_matrix(H, W)
    assert rel_err(F.conj().T @ F, np.eye(H * W)) < EXACT
    assert rel_err(dft.idft2(dft.dft2(x)), x) < EXACT
    assert abs(np.linalg.norm(dft.dft2(x)) / np.linalg.norm(x) - 1) < EXACT


@given(conv_pairs())
def test_circular_conv_is_eq_3_2(case):
    """Both circular_conv methods equal explicit loops over eq. 3.2 (a convolution, not a correlation)."""
    w, x = case
    loops = ref.circular_conv_loops(w, x)
    assert rel_err(dft.circular_conv(w, x), loops) < EXACT
    assert rel_err(dft.circular_conv(w, x, method="direct"), loops) < EXACT


def test_circular_conv_is_not_correlation():
    """A one-hot kernel at (1, 0) shifts forward: (w*x)[i] = x[i-1] (correlation would give x[i+1])."""
    x = np.arange(12.0).reshape(1, 3, 4)
    w = np.zeros((1, 1, 3, 4))
    w[0, 0, 1, 0] = 1
    assert np.array_equal(dft.circular_conv(w, x, method="direct"), np.roll(x, 1, axis=-2))


@given(conv_pairs())
def test_convolution_theorem_exact_constant(case):
    """eq. 3.7 with the unitary DFT: DFT(w * x) = sqrt(HW) * w_hat . x_hat (dense DFT, loop conv)."""
    w, x = case
    H, W = x.shape[-2:]
    lhs = ref.dft2_dense(ref.circular_conv_loops(w, x))
    rhs = np.einsum("cdij,dij->cij", ref.dft2_dense(w), ref.dft2_dense(x))
    assert rel_err(np.sqrt(H * W) * rhs, lhs) < EXACT
    assert rel_err(dft.fourier_product(dft.dft2(w), dft.dft2(x)), lhs) < EXACT
    assert dft.conv_theorem_constant(H, W) == pytest.approx(np.sqrt(H * W))


@given(conv_pairs())
def test_paper_convolution_theorem_off_by_sqrt_hw(case):
    """eq. 3.7 as printed (no constant) is wrong by exactly the factor sqrt(HW)."""
    w, x = case
    H, W = x.shape[-2:]
    lhs = ref.dft2_dense(ref.circular_conv_loops(w, x))
    printed = np.einsum("cdij,dij->cij", ref.dft2_dense(w), ref.dft2_dense(x))
    if np.linalg.norm(lhs) > 1e-8 * np.linalg.norm(w) * np.linalg.norm(x):
        assert np.linalg.norm(lhs) / np.linalg.norm(printed) == pytest.approx(np.sqrt(H * W), rel=EXACT)
        if H * W > 1:
            assert rel_err(printed, lhs) > 0.29  # 1 - 1/sqrt(2) at the smallest size


@given(conv_pairs())
def test_parseval_with_conjugate(case):
    """eq. 3.8 exact: sum(w x) = sum(conj(w_hat) x_hat) (contraction of eq. 3.3 by loops)."""
    w, x = case
    loops = ref.contract_loops(w, x)
    assert rel_err(dft.fourier_inner(ref.dft2_dense(w), ref.dft2_dense(x)), loops) < EXACT
    assert rel_err(dft.contract(w, x), loops) < EXACT


def test_parseval_without_conjugate_fails(rng):
    """eq. 3.8 as printed omits the conjugate; on a generic 4x4 instance it is far off."""
    w, x = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 4, 4))
    printed = np.einsum("kdij,dij->k", dft.dft2(w), dft.dft2(x))
    assert rel_err(printed, dft.contract(w, x)) > 0.1


@given(images())
def test_conjugate_symmetry_of_real_images(case):
    """For real x, dft2(x)[-k] = conj(dft2(x)[k]) (conjugate_indices gives -k)."""
    x, H, W, _ = case
    I, J = dft.conjugate_indices(H, W)
    X = dft.dft2(x)
    assert rel_err(X[..., I, J], X.conj()) < EXACT


def test_signed_frequencies():
    """Signed integer frequency grid in FFT order, centred grid [-n/2, n/2)."""
    assert dft.signed_frequencies(4).tolist() == [0, 1, -2, -1]
    assert dft.signed_frequencies(5).tolist() == [0, 1, 2, -2, -1]


def test_blocks_round_trip(rng):
    """to_blocks moves (K, C, H, W) to (H, W, K, C); from_blocks inverts it."""
    a = rng.standard_normal((2, 3, 4, 5, 6))
    b = dft.to_blocks(a)
    assert b.shape == (2, 5, 6, 3, 4) and b[1, 4, 5, 0, 2] == a[1, 0, 2, 4, 5]
    assert np.array_equal(dft.from_blocks(b), a)


def test_torch_path_matches_numpy(rng):
    """dft2/idft2 on torch tensors use the same unitary convention as numpy."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 5, 4))
    assert rel_err(dft.dft2(torch.tensor(x)).numpy(), dft.dft2(x)) < EXACT
    assert rel_err(dft.idft2(torch.tensor(dft.dft2(x))).numpy(), x) < EXACT


@pytest.mark.parametrize("call, match", [
    (lambda: dft.circular_conv(np.ones((2, 3, 4, 4)), np.ones((2, 4, 4))), "x: expected trailing shape"),
    (lambda: dft.circular_conv(np.ones((3, 4, 4)), np.ones((3, 4, 4))), "w: expected shape"),
    (lambda: dft.circular_conv(np.ones((1, 1, 2, 2)), np.full((1, 2, 2), np.nan)), "x: expected finite"),
    (lambda: dft.circular_conv(np.ones((1, 1, 2, 2)), np.ones((1, 2, 2)), method="fast"), "method"),
    (lambda: dft.contract(np.ones((2, 1, 3, 3)), np.ones((1, 3, 2))), "x: expected trailing shape"),
    (lambda: dft.dft2(np.ones(3)), "x: expected at least 2 dimensions"),
])
def test_bad_input_names_the_argument(call, match):
    """Mismatched shapes and non-finite entries raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("H, W", [(4, 4), (5, 3), (1, 6), (7, 7)])
def test_flat_conjugate_index_and_symmetrise(H, W):
    """conjugate_flat_indices maps k to -k on the flat grid (for real x: flat x_hat[neg] = conj(x_hat)), and
    conjugate_symmetrise is the DFT of the real part of idft2 (an explicit loop over -k as reference)."""
    rng = np.random.default_rng(H * 10 + W)
    neg = dft.conjugate_flat_indices(H, W)
    xh = dft.dft2(rng.standard_normal((2, H, W))).reshape(2, -1)
    assert np.allclose(xh[:, neg], np.conj(xh), atol=1e-12)
    v = rng.standard_normal((2, H, W)) + 1j * rng.standard_normal((2, H, W))
    expected = np.empty_like(v)
    for i in range(H):
        for j in range(W):
            expected[..., i, j] = (v[..., i, j] + np.conj(v[..., (-i) % H, (-j) % W])) / 2
    assert np.allclose(dft.conjugate_symmetrise(v), expected, atol=1e-14)
    assert np.allclose(dft.conjugate_symmetrise(v), dft.dft2(dft.idft2(v).real), atol=1e-12)

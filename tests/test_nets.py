"""nets: FFT layer vs nn.Conv2d, models, training (resume, NaN), sensitivity maps, radial curves, moments."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from nets.models.layers import FFTCircularConv2d, conv_weight_to_eq32, same_padding_shift
from nets.models import ConvActually, LinearCNN, MyrtleCNN, build_model, count_parameters
from nets.measures import frequency_sensitivity, moment, postprocess, radial_curve
from theory import dft, linear_cnn as lc

F32 = 1e-4   # float32 round-off, relative to the output scale


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("B, C, O, H, W", [(2, 3, 4, 8, 8), (3, 2, 3, 6, 5), (2, 3, 5, 32, 32), (1, 1, 1, 7, 4)])
def test_fft_layer_matches_conv2d(B, C, O, H, W):
    """FFTCircularConv2d equals nn.Conv2d(kernel=(H, W), padding='same', padding_mode='circular') with the same
    state dict: values and gradients (input, weight, bias), float64 to 1e-12 and float32 to round-off."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(C, O, (H, W), padding="same", padding_mode="circular")
    fft = FFTCircularConv2d(C, O, (H, W))
    fft.load_state_dict(conv.state_dict())
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, F32)):
        conv.to(dtype), fft.to(dtype)
        x = torch.randn(B, C, H, W, dtype=dtype, requires_grad=True)
        a, b = conv(x), fft(x)
        scale = a.abs().max()
        assert (a - b).abs().max() <= tol * scale
        g = torch.randn_like(a)
        ga = torch.autograd.grad(a, [x, conv.weight, conv.bias], g)
        gb = torch.autograd.grad(b, [x, fft.weight, fft.bias], g)
        for u, v in zip(ga, gb):
            assert (u - v).abs().max() <= tol * max(u.abs().max(), 1e-30) * 10


@pytest.mark.parametrize("H, W", [(6, 6), (5, 7), (8, 5)])
def test_fft_layer_forward_mode_and_gradcheck(H, W):
    """The custom autograd Function: forward-mode tangents (torch.func.jvp, in x, weight and bias at once)
    equal nn.Conv2d's, and torch.autograd.gradcheck (finite differences, float64) passes, odd sizes included."""
    from nets.models.layers import _SpectralConv
    torch.manual_seed(7)
    conv = torch.nn.Conv2d(2, 3, (H, W), padding="same", padding_mode="circular").double()
    x = torch.randn(2, 2, H, W, dtype=torch.float64, requires_grad=True)
    prim = (x.detach(), conv.weight.detach(), conv.bias.detach())
    tang = tuple(torch.randn_like(p) for p in prim)
    _, ref = torch.func.jvp(conv._conv_forward, prim, tang)
    _, out = torch.func.jvp(lambda *a: _SpectralConv.apply(*a)[0], prim, tang)
    assert (out - ref).abs().max() <= 1e-12 * ref.abs().max()
    w = conv.weight.detach().clone().requires_grad_()
    b = conv.bias.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: _SpectralConv.apply(*a)[0], (x, w, b))
    assert torch.autograd.gradcheck(lambda *a: _SpectralConv.apply(*a, None)[0], (x, w))


def test_fft_layer_under_functorch_transforms():
    """vmap, vmap(jacrev), jacfwd and is_grads_batched through the layer equal nn.Conv2d's (float64)."""
    torch.manual_seed(8)
    fft = FFTCircularConv2d(2, 3, (6, 5)).double()
    conv = torch.nn.Conv2d(2, 3, (6, 5), padding="same", padding_mode="circular").double()
    conv.load_state_dict(fft.state_dict())
    x = torch.randn(4, 2, 6, 5, dtype=torch.float64)
    f, g = (lambda xi: fft(xi[None])[0]), (lambda xi: conv(xi[None])[0])
    close = lambda a, b: (a - b).abs().max() <= 1e-12 * b.abs().max()  # noqa: E731
    assert close(torch.func.vmap(f)(x), conv(x))
    assert close(torch.func.vmap(torch.func.jacrev(f))(x), torch.func.vmap(torch.func.jacrev(g))(x))
    assert close(torch.func.jacfwd(f)(x[0]), torch.func.jacfwd(g)(x[0]))
    cot = torch.randn(5, 4, 3, 6, 5, dtype=torch.float64)
    grads = []
    for layer in (fft, conv):
        xb = x.clone().requires_grad_()
        grads.append(torch.autograd.grad(layer(xb), xb, cot, is_grads_batched=True)[0])
    assert close(*grads)


@pytest.mark.parametrize("m, n", [(37, 5), (5, 37), (16, 16)])
def test_blocked_transpose_copy_equals_the_plain_transpose(monkeypatch, m, n):
    """The FFT layer's blocked transpose (``_transpose_copy``) equals ``.t().contiguous()`` exactly, for tall, wide
    and square matrices cut into many blocks (block budget shrunk to a few rows), real, complex and a conjugate
    view; the layer tests alone fit in one block."""
    import nets.models.layers as layers
    monkeypatch.setattr(layers, "_BLOCK_BYTES", 3 * 8 * max(m, n) // 2)   # a few rows or columns per block
    torch.manual_seed(10)
    z = torch.randn(m, n, dtype=torch.complex64)
    for src in (z, z.conj(), z.real.contiguous()):
        out = layers._transpose_copy(src)
        assert out.is_contiguous() and torch.equal(out, src.t().contiguous())


def test_fft_layer_init_matches_conv2d():
    """Same initialisation distribution as nn.Conv2d (kaiming_uniform a=sqrt5): same bound, same seeded draw."""
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(3, 4, (8, 8), padding="same", padding_mode="circular")
    torch.manual_seed(1)
    fft = FFTCircularConv2d(3, 4, (8, 8))
    assert torch.equal(conv.weight, fft.weight) and torch.equal(conv.bias, fft.bias)


def test_eq32_kernel_conversion():
    """conv_weight_to_eq32 turns the layer's cross-correlation kernel into the eq. 3.2 convolution kernel."""
    torch.manual_seed(2)
    layer = FFTCircularConv2d(2, 3, (5, 6), bias=False).double()
    x = torch.randn(4, 2, 5, 6, dtype=torch.float64)
    w32 = conv_weight_to_eq32(layer.weight.detach().numpy())
    assert np.abs(layer(x).detach().numpy() - dft.circular_conv(w32, x.numpy(), method="direct")).max() < 1e-12
    assert same_padding_shift(32) == 15


def test_parameter_counts():
    """MyrtleCNN has 1,556,106 parameters (appendix C.5 (b)); a ConvActually block 196,672 (C.5 (a))."""
    assert count_parameters(MyrtleCNN()) == 1_556_106
    ca = ConvActually(depth=2)
    assert count_parameters(ca.features[0]) == 196_672
    assert count_parameters(ConvActually(depth=1)) == 3 * 32 * 32 * 10 + 10
    assert count_parameters(build_model("resnet20")) == 272_474


def test_linear_cnn_matches_theory():
    """LinearCNN (nets, FFT layers) computes eq. 3.1 with the weights theory_weights() reports, and its v_hat
    predicts its outputs through the exact Parseval form."""
    torch.manual_seed(3)
    m = LinearCNN((2, 3, 3, 2), (4, 5)).double()
    x = torch.randn(6, 2, 4, 5, dtype=torch.float64)
    ws = m.theory_weights()
    out = m(x).detach().numpy()
    assert np.abs(out - lc.forward_pixel(ws, x.numpy())).max() < 1e-10
    assert np.abs(out - dft.fourier_inner(m.v_hat(), dft.dft2(x.numpy())).real).max() < 1e-10


def test_sensitivity_of_linear_cnn_is_abs_v_hat():
    """For a LinearCNN the gradient is constant, so S_cij = ||v_hat[:, c, i, j]||_2 exactly, with SE 0."""
    torch.manual_seed(4)
    m = LinearCNN((3, 4, 5), (6, 6)).double()
    S = frequency_sensitivity(m, torch.randn(10, 3, 6, 6, dtype=torch.float64), batch_size=4)
    expected = np.sqrt((np.abs(m.v_hat()) ** 2).sum(0))
    assert np.abs(S.mean - expected).max() < 1e-12 * expected.max()
    assert S.se.max() < 1e-10 and S.n == 10


def test_sensitivity_matches_per_basis_jvp():
    """On a tiny nonlinear model the batched K-backward + FFT map equals the naive definition: one JVP per
    complex Fourier basis vector e_cij per image (real and imaginary parts), norm over outputs, mean."""
    torch.manual_seed(5)
    m = ConvActually(depth=2, width=3, in_channels=2, classes=3, size=(4, 4)).double().eval()
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    S = frequency_sensitivity(m, x, batch_size=2)
    ref = np.zeros((2, 4, 4))
    eye = np.eye(32).reshape(32, 2, 4, 4)
    for xi in x:
        for idx in range(32):
            e = dft.idft2(eye[idx])   # unitary basis vector e_cij in pixel space (complex)
            d = [torch.func.jvp(lambda z: m(z[None])[0], (xi,), (torch.tensor(part),))[1]
                 for part in (e.real, e.imag)]
            ref[np.unravel_index(idx, (2, 4, 4))] += torch.sqrt((d[0] ** 2 + d[1] ** 2).sum()).item()
    ref /= len(x)
    assert np.abs(S.mean - ref).max() < 1e-10 * ref.max()


class _RecordingLayer(torch.nn.Module):
    """x -> x * w through a custom autograd.Function that records whether it was asked for w's gradient."""

    asked: list = []

    class _Mul(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            _RecordingLayer.asked.append(ctx.needs_input_grad[1])
            return g * w, (g * x if ctx.needs_input_grad[1] else None)

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(1, 2, 3, 3))
        self.head = torch.nn.Linear(18, 4)

    def forward(self, x):
        return self.head(self._Mul.apply(x, self.w).flatten(1))


@pytest.mark.parametrize("measure", ["gradient", "gradient_probes", "loss_gradient", "first_order_heatmap"])
def test_measures_skip_parameter_gradients_and_restore_them(measure):
    """A custom autograd.Function is not asked for its weight's gradient while a map is measured (the FFT
    layer's backward would otherwise compute it: a third of its cost), and the model's parameters require
    gradients again afterwards, also when the measure fails."""
    from nets.measures import measure as run_measure
    torch.manual_seed(0)
    m = _RecordingLayer()
    _RecordingLayer.asked.clear()
    opts = {"probes": 2} if measure == "gradient_probes" else {}
    run_measure(measure, m, torch.randn(5, 2, 3, 3), torch.zeros(5, dtype=torch.long), **opts)
    assert _RecordingLayer.asked and not any(_RecordingLayer.asked)
    assert all(p.requires_grad for p in m.parameters())
    with pytest.raises(ValueError):   # NaN images: the error happens inside the measure
        frequency_sensitivity(m, torch.full((2, 2, 3, 3), float("nan")))
    assert all(p.requires_grad for p in m.parameters())


def test_radial_curve_and_moments():
    """DC alone at r = 0; equal radii pooled; moments of known curves (eq. 5.1)."""
    S = np.zeros((1, 8, 8))
    S[0, 0, 0] = 1
    r, g = radial_curve(S)
    assert r[0] == 0 and g[0] == 1 and np.all(g[1:] == 0)
    r = np.linspace(0, 4, 41)
    assert moment(r, np.ones_like(r), 1) == pytest.approx(2.0)
    assert moment(r, np.ones_like(r), 2) == pytest.approx(16 / 3, rel=1e-3)
    assert moment(r, r, 1) == pytest.approx(8 / 3, rel=1e-3)
    p = postprocess(r, np.exp(-r))
    assert p.shape == r.shape and np.all(np.diff(p) < 0)   # a decreasing curve stays decreasing
    with pytest.raises(ValueError, match="positive integral"):
        moment(r, np.zeros_like(r), 1)


def test_dc_robust_summaries():
    """A DC spike moves eq. 5.1's moment but not the DC-free one; the mid-band slope recovers a planted power
    law exactly and is 0 for a flat map; both checked against explicit sums over the grid."""
    from nets.measures import midband_slope, moment_without_dc
    from theory.dft import signed_frequencies
    flat = np.ones((3, 16, 16))
    spiked = flat.copy()
    spiked[:, 0, 0] = 1000.0
    r0, g0 = radial_curve(flat)
    r1, g1 = radial_curve(spiked)
    assert moment(r1, g1, 1) < 0.5 * moment(r0, g0, 1)
    assert moment_without_dc(r1, g1, 1) == pytest.approx(moment_without_dc(r0, g0, 1), rel=1e-12)
    k = signed_frequencies(16)
    rad = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    power = np.where(rad > 0, rad, 1.0) ** -2.0
    r, g = radial_curve(np.broadcast_to(power, (3, 16, 16)))
    assert midband_slope(r, g) == pytest.approx(-2.0, abs=1e-9)
    assert midband_slope(r0, g0) == pytest.approx(0.0, abs=1e-12)
    # the DC-free moment by an explicit loop over distinct radii
    radii = sorted({float(v) for v in rad.ravel() if v > 0})
    means = [power[np.isclose(rad, q)].mean() for q in radii]
    num = sum((radii[i + 1] - radii[i]) * (radii[i + 1] * means[i + 1] + radii[i] * means[i]) / 2 for i in range(len(radii) - 1))
    den = sum((radii[i + 1] - radii[i]) * (means[i + 1] + means[i]) / 2 for i in range(len(radii) - 1))
    assert moment_without_dc(r, g, 1) == pytest.approx(num / den, rel=1e-9)


def _diverging_run(out) -> int:
    """``nets.train``'s main on a model whose logits are NaN from the first step (a loss that became
    non-finite after the run started), in-process; returns the exit status."""
    import contextlib
    import io

    import nets.training
    from nets.cli.train import main

    class NaNModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.full((len(x), 10), float("nan")) * self.w
    orig = nets.training.make_model
    nets.training.make_model = lambda *a, **k: NaNModel()
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            code = main(["--model", "convactually", "--depth", "2", "--width", "4", "--dataset",
                         "synthetic:grf?n_train=200&n_val=40&n_test=40&H=8&W=8", "--batch-size", "32",
                         "--max-epochs", "2", "--out", str(out)])
    finally:
        nets.training.make_model = orig
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip() and not ln.startswith("[train]")]
    assert len(lines) == 1 and "non-finite loss" in lines[0], err.getvalue()
    return code


def run_train(tmp_path, name, *extra):
    args = [sys.executable, "-m", "nets", "train", "--model", "convactually", "--depth", "2", "--width", "4",
            "--dataset", "synthetic:grf?n_train=200&n_val=40&n_test=40&H=8&W=8", "--batch-size", "32",
            "--max-epochs", "3", "--out", str(tmp_path / name), *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def test_train_end_to_end_and_resume(tmp_path):
    """A quick run writes config, metrics, checkpoints and a result; a run killed after 2 epochs and resumed
    ends with weights identical to an uninterrupted 3-epoch run (seeded CPU run, bit-identical)."""
    full = run_train(tmp_path, "full")
    assert full.returncode == 0, full.stderr
    res = json.loads((tmp_path / "full" / "result.json").read_text())
    assert 0 <= res["test_acc"] <= 1 and len((tmp_path / "full" / "metrics.jsonl").read_text().splitlines()) == 3
    # the interrupted run: stopped after 2 epochs (as a kill after epoch 1's checkpoint leaves it), then resumed
    import torch as T
    assert T.load(tmp_path / "full" / "last.pt", weights_only=False)["epoch"] == 2
    short = run_train(tmp_path, "short", "--max-epochs", "2")
    assert short.returncode == 0
    (tmp_path / "short" / "result.json").unlink()
    cfg = json.loads((tmp_path / "short" / "config.json").read_text())
    cfg["config"]["max_epochs"] = 3
    (tmp_path / "short" / "config.json").write_text(json.dumps(cfg))
    resumed = run_train(tmp_path, "short", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a = T.load(tmp_path / "full" / "last.pt", weights_only=False)["model"]
    b = T.load(tmp_path / "short" / "last.pt", weights_only=False)["model"]
    assert all(T.equal(a[k], b[k]) for k in a)


def test_train_errors(tmp_path):
    """Unknown model, a different config in an existing folder, an lr above 100: exit 2, one clear line; an lr
    that makes the loss non-finite: exit 1 (the run had started), one line, the folder kept."""
    bad = subprocess.run([sys.executable, "-m", "nets", "train", "--model", "vgg", "--out", str(tmp_path / "v")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown name 'vgg'" in bad.stderr and "Traceback" not in bad.stderr
    assert run_train(tmp_path, "a").returncode == 0
    other = run_train(tmp_path, "a", "--weight-decay", "0.5")
    assert other.returncode == 2 and "different config" in other.stderr
    huge = run_train(tmp_path, "huge", "--lr", "1e30")   # refused before anything is written
    assert huge.returncode == 2 and "--lr" in huge.stderr and not (tmp_path / "huge").exists()
    assert _diverging_run(tmp_path / "nan") == 1   # the loss turns NaN after the start: exit 1, folder kept
    assert (tmp_path / "nan" / "config.json").exists() and (tmp_path / "nan" / "best.pt").exists()
    neg = subprocess.run([sys.executable, "-m", "nets", "train", "--weight-decay", "-1", "--out", str(tmp_path / "n")],
                         capture_output=True, text=True, timeout=120)
    assert neg.returncode == 2 and "--weight-decay" in neg.stderr


def test_sensitivity_cli(tmp_path):
    """freqsens sensitivity on a finished run writes npz, json (moments) and a PNG."""
    assert run_train(tmp_path, "s").returncode == 0
    proc = subprocess.run([sys.executable, "-m", "nets", "sensitivity", str(tmp_path / "s"), "--max-images", "20"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    js = json.loads((tmp_path / "s" / "sensitivity.json").read_text())
    assert js["n_images"] == 20 and js["moment1"] > 0 and (tmp_path / "s" / "sensitivity.png").exists()
    missing = subprocess.run([sys.executable, "-m", "nets", "sensitivity", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "not a finished freqsens run" in missing.stderr


@pytest.mark.parametrize("depth", [1, 2])
def test_learned_v_hat_matches_convex_solution(depth):
    """A LinearCNN (FFT layers) fit with weight decay wd has v_hat equal to the ridge (L=1) / nuclear-norm (L=2)
    solution with lam_v = (wd/2)(HW)^(-(L-1)/L), per frequency, cross-entropy loss."""
    from nets.data.synthetic import gaussian_field, teacher_labels
    from nets.models.linear_cnn import fit_weights
    from nets.training import eq41_lambda
    from theory.equivalence import compare
    x = gaussian_field(200, 2, 5, 5, alpha=1.5, rng=1).astype(np.float64)
    c = compare(x, teacher_labels(x, 3, 0), (2,) + (3,) * (depth - 1) + (3,), eq41_lambda(1e-2), "cross_entropy",
                restarts=1, max_iter=2000, fit=fit_weights, paper_form=False)
    assert c.v_hat_error < 1e-4 and c.per_frequency_error.max() < 1e-3 and abs(c.v_objective_gap) < 1e-8


def test_compare_sensitivity_planted():
    """A sensitivity image that is a monotone function of tau scores Spearman 1; an unrelated one does not."""
    from nets.measures import compare_sensitivity
    rng = np.random.default_rng(0)
    tau = rng.uniform(0.01, 10, (3, 8, 8))
    good = compare_sensitivity(np.sqrt(tau), tau, 0.1)
    bad = compare_sensitivity(rng.uniform(0.01, 10, (3, 8, 8)), tau, 0.1)
    assert good["spearman_tau"] == pytest.approx(1.0) and good["pearson_log_tau"] == pytest.approx(1.0)
    assert good["spearman_ridge"] == pytest.approx(1.0) and abs(bad["spearman_tau"]) < 0.3

"""Benchmarks of the nets code paths: the FFT layer and the sensitivity maps (registered on import).

Sensitivity baselines: the published method (per image, ``torch.autograd.functional.jacobian`` of the K
outputs, then a DFT of the Jacobian) and the naive definition (one JVP per real and imaginary part of
every unitary Fourier basis vector e_cij). All three return the same map; the harness checks it.
"""
from __future__ import annotations

import numpy as np
import torch

from benchmarks.harness import Case, register
from theory.dft import dft2, idft2


def _conv_case(small: bool) -> Case:
    from nets.models.layers import FFTCircularConv2d
    B, C, H = (4, 8, 8) if small else (128, 64, 32)
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(C, C, H, padding="same", padding_mode="circular")
    fft = FFTCircularConv2d(C, C, (H, H))
    fft.load_state_dict(conv.state_dict())
    x = torch.randn(B, C, H, H, requires_grad=True)   # a hidden layer: gradients for input, weight and bias

    def step(layer):
        def f():
            layer.zero_grad()
            x.grad = None
            out = layer(x)
            out.sum().backward()
            return out.detach()
        return f

    return Case(f"forward+backward (input, weight, bias grads), batch {B}, {C}->{C} channels, {H}x{H} full kernel",
                step(fft), step(conv), "FFTCircularConv2d", "nn.Conv2d(padding_mode='circular')",
                rtol=1e-3, slow_baseline=not small)


register("fft-conv-layer", "full-size circular conv layer: FFT vs nn.Conv2d (target >= 100x)", target=100)(_conv_case)


def _model(name: str, small: bool):
    """A registered model in eval mode and its input shape: the default size on 3x32x32 (ConvActually depth 4,
    width 64); small: 8x8 inputs (full-size models rebuilt for 8x8 at width 4), so baselines stay CI-sized."""
    from nets.models import build_model, get_model_spec
    torch.manual_seed(0)
    spec = get_model_spec(name)
    if spec.full_size:
        kw = dict(depth=2, width=4, size=(8, 8)) if small else dict(depth=4, width=64)
        return build_model(name, **kw).eval(), ((3, 8, 8) if small else (3, 32, 32))
    return build_model(name).eval(), ((3, 8, 8) if small else (3, 32, 32))


def sensitivity_per_image_jacobian(model, x):
    """The published method: per image, the full Jacobian (K, C, H, W), its DFT, norm over K; mean."""
    maps = []
    for xi in x:
        J = torch.autograd.functional.jacobian(lambda z: model(z[None])[0], xi)
        maps.append(dft2(J).abs().pow(2).sum(0).sqrt())
    return torch.stack(maps).mean(0).double().numpy()


def sensitivity_per_basis(model, x):
    """The definition, one basis vector at a time: JVPs along Re e_cij and Im e_cij for every (c, i, j)."""
    C, H, W = x.shape[1:]
    eye = np.eye(C * H * W).reshape(-1, C, H, W)
    out = np.zeros((C, H, W))
    for xi in x:
        for idx in range(C * H * W):
            e = idft2(eye[idx])
            d = [torch.func.jvp(lambda z: model(z[None])[0], (xi,), (torch.tensor(p, dtype=xi.dtype),))[1]
                 for p in (e.real, e.imag)]
            out[np.unravel_index(idx, (C, H, W))] += torch.sqrt((d[0] ** 2 + d[1] ** 2).sum()).item()
    return out / len(x)


def _sens_case(model_name: str, baseline: str, small: bool) -> Case:
    from nets.measures import frequency_sensitivity
    from nets.models import build_model, get_model_spec
    model, shape = _model(model_name, small)
    reduced = baseline == "per-basis" and not small and get_model_spec(model_name).full_size
    if reduced:
        # 6144 JVPs through depth 4, width 64 did not finish in 20 min: depth 2, width 16 keeps it to about a minute
        torch.manual_seed(0)
        model = build_model(model_name, depth=2, width=16).eval()
    # per-image: 64 images, one batch (a sensitivity map is an average over thousands, so the batched path
    # runs at full batches; the per-image baseline's cost is linear in the count, so the ratio is per image)
    n = 1 if baseline == "per-basis" else (2 if small else 64)
    x = torch.randn((n,) + shape)
    base = (lambda: sensitivity_per_basis(model, x)) if baseline == "per-basis" else \
        (lambda: sensitivity_per_image_jacobian(model, x))
    what = f"{model_name} depth 2 width 16" if reduced else model_name
    return Case(f"{what}, {n} image(s) {shape}", lambda: frequency_sensitivity(model, x, batch_size=64).mean,
                base, "batched K VJPs + one FFT", "per-basis JVPs" if baseline == "per-basis" else
                "per-image autograd.functional.jacobian", rtol=1e-3, slow_baseline=not small)


for _m in ("myrtle", "convactually"):
    for _b in ("per-image", "per-basis"):
        register(f"sensitivity-{_m}-{_b}", f"sensitivity map of {_m}: batched VJP+FFT vs {_b} "
                 f"(targets: >= 10x per-image, >= 500x per-basis)", target=10 if _b == "per-image" else 500)(
            lambda small=False, _m=_m, _b=_b: _sens_case(_m, _b, small))


def _probe_case(small: bool) -> Case:
    """Many classes: the random-probe estimator (m = 32 backward passes) vs the exact map (K = 1000 passes)."""
    from nets.measures import frequency_sensitivity, probe_sensitivity
    torch.manual_seed(0)
    K, size, n = (50, 32, 2) if small else (1000, 224, 8)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4, padding=2), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, K)).eval()
    x = torch.rand(n, 3, size, size)

    def rel_rms(a, b):
        return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b ** 2)))

    return Case(f"random CNN, K = {K} classes, {n} images 3x{size}x{size}",
                lambda: probe_sensitivity(model, x, probes=32, batch_size=n).mean,
                lambda: frequency_sensitivity(model, x, batch_size=n).mean,
                "32 random probes", f"exact ({K} backward passes)", rtol=0.35, agreement=rel_rms,
                slow_baseline=not small)


register("sensitivity-probes-1000-classes", "gradient map with K = 1000 classes at 224x224: 32 random probes vs "
         "the exact K backward passes (time ratio; agreement = relative RMS error, reported)")(
    lambda small=False: _probe_case(small))

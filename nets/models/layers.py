"""Full-size circular convolution computed through the FFT (the ConvActually / LinearCNN layer).

``FFTCircularConv2d(C_in, C_out, (H, W))`` is a drop-in, bit-for-bit-compatible replacement for
``nn.Conv2d(C_in, C_out, kernel_size=(H, W), padding="same", padding_mode="circular")`` on H x W
inputs: same weight layout ``(C_out, C_in, H, W)``, same initialisation, same function (torch's conv2d
is a cross-correlation), so a state dict loads into either.

Derivation (unitary DFT of ``theory.dft``, N = HW). PyTorch's "same" padding for an even kernel pads
``s = (k - 1) // 2`` before and ``k - 1 - s`` after, so ``out[i] = sum_m w[m] x[i + m - s]``, a circular
cross-correlation with ``roll(w, -s)``. The correlation theorem (exact, unitary) gives

    DFT(out)[k] = sqrt(N) * conj(DFT(roll(w, -s))[k]) . DFT(x)[k]     (per frequency, a C_out x C_in product)
                = sqrt(N) * exp(-2 pi i k.s / n) conj(DFT(w)[k]) . DFT(x)[k]

(eq. 3.3 / Lemma 3.11 for a cross-correlation; the roll is a phase, folded into the small weight tensor).
(DESIGN.md wrote ``roll(w, -16)`` for 32 x 32; against nn.Conv2d the shift is 15 = (32-1)//2, tested.)

How it is computed (``_SpectralConv``, a custom autograd Function; why: speed, measured in
``benchmarks`` "fft-conv-layer"). Real FFTs keep the half spectrum F = H (W//2 + 1). The channel
contraction is one complex batched matmul over frequencies, which needs the frequency axis leading: the
input spectrum is transposed once to ``(F, B, C)``; the inverse transform starts with the H-direction
inverse FFT on that frequency-major layout (batch dimension contiguous, fast), then one transpose and a
1-D inverse real FFT along W. The backward pass is written out: with ``R`` the onesided rfft2 and ``G`` the
spectrum of the output gradient,

    grad_x = irfft2(G K^H),   grad_w = roll(irfft2(sqrt(N) sum_b conj(G) X), s),   grad_bias = sqrt(N) Re G[DC],

where the factor 2 that torch's irfft backward puts on interior columns and the 1/2 of the rfft adjoint
cancel because everything between them is per-frequency. The bias is added to the DC coefficient (a
B x C_out slice) instead of to every pixel. Forward-mode AD (``torch.func.jvp``) is supported: the layer
is bilinear in (x, w), so ``dy = conv(dx, w) + conv(x, dw) + dbias``; ``torch.func.vmap`` (and so
``jacrev``/``jacfwd`` under vmap, ``is_grads_batched``) through torch's generated batching rule.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from theory.dft import NORM


def same_padding_shift(k: int) -> int:
    """Left padding of torch's ``padding="same"`` for kernel size k: ``(k - 1) // 2``."""
    return (k - 1) // 2


_BLOCK_BYTES = 1 << 21   # a transposed block of about 2 MB stays in cache while it is written


def _functorch_wrapped(t: torch.Tensor) -> bool:
    """True inside a functorch transform, for a vmap/grad/jvp-wrapped tensor or autograd's ``is_grads_batched``
    (legacy) batched tensor (functorch's private tests; True when torch lacks them, so the plain copy is taken)."""
    try:
        return bool(torch._C._are_functorch_transforms_active() or torch._C._functorch.is_functorch_wrapped_tensor(t)
                    or torch._C._functorch.is_legacy_batchedtensor(t))
    except AttributeError:
        return True   # cannot tell: take the plain copy, correct everywhere


def _transpose_copy(src: torch.Tensor) -> torch.Tensor:
    """``src (m, n)`` -> its transpose ``(n, m)``, contiguous (conjugate views resolved on the way).

    Why not ``src.t().contiguous()``: torch's strided copy walks the whole matrix at once; copied in blocks
    of ~2 MB along the long side it measured 2-4x faster on CPU ((8192, 544) complex: 30 -> 7.5 ms;
    (17, 262144): 30 -> 7.6 ms). Under functorch transforms (vmap, jacrev: writing into a fresh tensor is
    not vmappable) and off the CPU, the plain copy."""
    if src.device.type != "cpu" or _functorch_wrapped(src):
        return src.t().contiguous()
    m, n = src.shape
    out = torch.empty((n, m), dtype=src.dtype)
    if m >= n:
        b = max(1, _BLOCK_BYTES // (src.element_size() * n))
        for i in range(0, m, b):
            out[:, i:i + b].copy_(src[i:i + b].t())
    else:
        b = max(1, _BLOCK_BYTES // (src.element_size() * m))
        for j in range(0, n, b):
            out[j:j + b].copy_(src[:, j:j + b].t())
    return out


def _freq_major(z: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, Wf)`` complex -> ``(H * Wf, B, C)`` contiguous (frequency leading, for the batched matmul)."""
    B, C = z.shape[:2]
    return _transpose_copy(z.reshape(B * C, -1)).view(-1, B, C)


def _irfft2_freq_major(zt: torch.Tensor, H: int, W: int, conj: bool = False) -> torch.Tensor:
    """Unitary irfft2 of a frequency-major half spectrum: ``zt (H * Wf, *R)`` complex -> ``(*R, H, W)`` real;
    conj=True: of ``conj(zt)`` (``ifft(conj z) = conj(fft z)``, the conjugation folded into the copy below).

    The H-direction inverse FFT runs on the frequency-major layout (transform axis leading, the batch
    contiguous), then one transpose puts W last for the 1-D inverse real FFT."""
    R = zt.shape[1:]
    z = torch.fft.fft(zt.reshape(H, -1), dim=0, norm=NORM).conj() if conj else \
        torch.fft.ifft(zt.reshape(H, -1), dim=0, norm=NORM)
    Wf = W // 2 + 1
    if z.t().is_contiguous():   # torch's CPU FFT returns it transposed: memory (Wf, *R, H); one blocked copy
        z = _transpose_copy(z.t().reshape(Wf, -1)).view(*R, H, Wf)
    else:                       # reshape + permute view the layout as it is, so one copy reorders it
        z = z.reshape(H, Wf, -1).permute(2, 0, 1).contiguous().view(*R, H, Wf)
    return torch.fft.irfft(z, n=W, dim=-1, norm=NORM)


def _shift_phase(H: int, W: int, dtype: torch.dtype, device) -> torch.Tensor:
    """``sqrt(N) exp(-2 pi i (k_h s_h / H + k_w s_w / W))`` on the ``(H, W//2 + 1)`` half grid, s = same-padding
    shift: multiplying ``conj(DFT(w))`` by it gives ``sqrt(N) conj(DFT(roll(w, -s)))``."""
    kh = torch.fft.fftfreq(H, 1 / H, dtype=torch.float64, device=device)
    kw = torch.fft.rfftfreq(W, 1 / W, dtype=torch.float64, device=device)
    ang = -2 * math.pi * (kh[:, None] * same_padding_shift(H) / H + kw[None, :] * same_padding_shift(W) / W)
    return torch.polar(torch.full_like(ang, math.sqrt(H * W)), ang).to(dtype)


def _kernel_freq_major(w: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """``K[f, i, o] = sqrt(N) conj(DFT(roll(w, -s)))[o, i, f]``: w ``(O, I, H, W)`` -> ``(F, I, O)`` complex."""
    O, I = w.shape[:2]
    return (torch.fft.rfft2(w, norm=NORM).conj() * phase).permute(2, 3, 1, 0).reshape(-1, I, O).contiguous()


def _spectral_apply(Xt, Kt, bias, H, W):
    """``irfft2`` of ``X K`` (+ bias on DC): Xt ``(F, B, I)``, Kt ``(F, I, O)`` -> y ``(B, O, H, W)``."""
    Yt = torch.bmm(Xt, Kt)                                              # (F, B, O)
    if bias is not None:
        Yt[0] += math.sqrt(H * W) * bias                                # DC: a constant image per channel
    return _irfft2_freq_major(Yt, H, W)


class _SpectralConv(torch.autograd.Function):
    """y = circular cross-correlation of x with w (+ bias), see the module docstring. x ``(B, I, H, W)``,
    w ``(O, I, H, W)``, bias ``(O,)`` or None -> ``(B, O, H, W)``."""

    generate_vmap_rule = True   # forward, backward and jvp use only vmappable torch ops

    @staticmethod
    def forward(x, w, bias):
        H, W = x.shape[-2:]
        phase = _shift_phase(H, W, torch.promote_types(x.dtype, torch.complex64), x.device)
        Xt = _freq_major(torch.fft.rfft2(x, norm=NORM))                # (F, B, I)
        Kt = _kernel_freq_major(w, phase)                               # (F, I, O)
        return _spectral_apply(Xt, Kt, bias, H, W), Xt, Kt, phase

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, Xt, Kt, phase = output
        ctx.mark_non_differentiable(Xt, Kt, phase)
        ctx.set_materialize_grads(False)   # no zero-filled gradients for the non-differentiable outputs
        ctx.save_for_backward(Xt, Kt, phase)
        ctx.save_for_forward(inputs[0], inputs[1], Xt, Kt, phase)
        ctx.has_bias = inputs[2] is not None

    @staticmethod
    def backward(ctx, gy, *_):
        if gy is None:                     # the output did not reach the loss
            return None, None, None
        Xt, Kt, phase = ctx.saved_tensors
        H, W = gy.shape[-2:]
        # conj(G), conjugated inside the transposing copy (free): both products below then take plain
        # transposes, which BLAS reads in place, where G^H made bmm copy a conjugate of G (measured 1.6x slower)
        Gc = _freq_major(torch.fft.rfft2(gy, norm=NORM).conj())       # (F, B, O)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:   # spectrum G K^H = conj(conj(G) K^T)
            gx = _irfft2_freq_major(torch.bmm(Gc, Kt.transpose(1, 2)), H, W, conj=True)
        if ctx.needs_input_grad[1]:   # G^H X = conj(G)^T X; the phase is roll(., +s)
            P = torch.bmm(Gc.transpose(1, 2), Xt) * phase.reshape(-1, 1, 1)   # (F, O, I)
            gw = _irfft2_freq_major(P, H, W)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = math.sqrt(H * W) * Gc[0].real.sum(0)
        return gx, gw, gb

    @staticmethod
    def jvp(ctx, dx, dw, dbias):
        x, w, Xt, Kt, phase = ctx.saved_tensors
        H, W = x.shape[-2:]
        Yt = 0
        if dx is not None:
            Yt = Yt + torch.bmm(_freq_major(torch.fft.rfft2(dx, norm=NORM)), Kt)
        if dw is not None:
            Yt = Yt + torch.bmm(Xt, _kernel_freq_major(dw, phase))
        if isinstance(Yt, int):
            dy = torch.zeros(x.shape[0], w.shape[0], H, W, dtype=x.dtype, device=x.device)
        else:
            dy = _irfft2_freq_major(Yt, H, W)
        if dbias is not None:
            dy = dy + dbias[:, None, None]
        return dy, None, None, None


class FFTCircularConv2d(nn.Module):
    """Full-size (kernel = image size) circular cross-correlation through the FFT; see the module docstring.

    x: ``(B, C_in, H, W)`` -> ``(B, C_out, H, W)``. ``weight: (C_out, C_in, H, W)``, ``bias: (C_out,)`` or None.
    """

    def __init__(self, in_channels: int, out_channels: int, size: tuple[int, int], bias: bool = True):
        super().__init__()
        H, W = size
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("size[0]", H), ("size[1]", W)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {v!r}")
        self.in_channels, self.out_channels, self.size = in_channels, out_channels, (H, W)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, H, W))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Conv2d's initialisation: kaiming_uniform(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_channels * self.size[0] * self.size[1])
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = self.size
        if x.dim() != 4 or x.shape[-3:] != (self.in_channels, H, W):
            raise ValueError(f"x: expected (B, {self.in_channels}, {H}, {W}), got {tuple(x.shape)}")
        dtype = x.dtype
        if dtype in (torch.float16, torch.bfloat16):  # FFTs in float32 (cuFFT half needs powers of 2)
            x = x.float()
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return _SpectralConv.apply(x, self.weight.to(x.dtype), bias)[0].to(dtype)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, size={self.size}, bias={self.bias is not None}"


def conv_weight_to_eq32(weight):
    """The eq. 3.2 (true convolution) kernel equal to this cross-correlation layer's function.

    ``out[i] = sum_m w[m] x[i + m - s] = sum_j w~[j] x[i - j]`` with ``w~[j] = w[(s - j) mod k]``.
    Works on numpy arrays or tensors ``(..., H, W)``.
    """
    H, W = weight.shape[-2:]
    import numpy as np
    ih = (same_padding_shift(H) - np.arange(H)) % H
    iw = (same_padding_shift(W) - np.arange(W)) % W
    return weight[..., ih, :][..., iw]


def full_conv(c_in: int, c_out: int, size, bias: bool, impl: str = "fft") -> nn.Module:
    """A full-size circular convolution: the FFT layer (default) or the equivalent nn.Conv2d."""
    if impl == "fft":
        return FFTCircularConv2d(c_in, c_out, size, bias=bias)
    if impl == "direct":
        return nn.Conv2d(c_in, c_out, size, padding="same", padding_mode="circular", bias=bias)
    raise ValueError(f"impl: expected 'fft' or 'direct', got {impl!r}")

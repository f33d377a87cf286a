"""Convolution layers: ``Conv2d`` and ``Conv1d``, with their functional forms
``conv2d`` and ``conv1d``. Both run the one primitive ``ops.Conv2d`` (a 1-D
signal is an image of height 1), whose docstring derives the backward.

Shapes (PyTorch's): input (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW),
bias (C_out,), output (N, C_out, Ho, Wo) with
Ho = floor((H + 2 p - d (kH - 1) - 1) / s) + 1. An unbatched input (C_in, H, W)
gives an unbatched output.
"""

from __future__ import annotations

import math
import numbers

from .. import backend, ops
from ..tensor import Tensor, _apply, zeros
from . import init
from .linear import as_tensor
from .module import Module, Parameter

__all__ = ["Conv2d", "Conv1d", "conv2d", "conv1d"]


def _tuple(value, n, name, what, minimum):
    """An int or a sequence of n ints (each >= minimum) as a tuple of n ints: 3 -> (3, 3)."""
    if isinstance(value, (tuple, list)):
        items = tuple(value)
    else:
        items = (value,) * n
    whole = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items)
    if len(items) != n or not whole or any(v < minimum for v in items):
        kind = "positive" if minimum > 0 else "non-negative"
        raise ValueError(f"{what}: {name} must be a {kind} integer or a tuple of {n}, got {value!r}")
    return tuple(int(v) for v in items)


def _pads(padding, kernel, stride, dilation, what):
    """padding as (top, bottom, left, right): an int, a pair, 'valid' (none) or
    'same' (output as large as the input, stride 1; an odd total puts the extra
    row/column at the bottom/right, as PyTorch does)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{what}: padding='same' needs stride 1, got stride {stride}")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    ph, pw = _tuple(padding, 2, "padding", what, 0)
    return (ph, ph, pw, pw)


def _check_groups(in_channels, out_channels, groups, what):
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups <= 0:
        raise ValueError(f"{what}: groups must be a positive integer, got {groups!r}")
    for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
        if n % groups:
            raise ValueError(f"{what}: {name} ({n}) must be divisible by groups ({groups})")


def _check_input(x, weight, groups, what, dims):
    """Rank, channel count and groups of an input (N, C_in, *dims) or (C_in, *dims)
    against a weight (C_out, C_in / groups, *kernel)."""
    names = ", ".join(dims)
    if weight.ndim != 2 + len(dims):
        kernel = ", ".join(f"k{d}" for d in dims) if len(dims) > 1 else "k"
        raise ValueError(f"{what}: weight must have shape (C_out, C_in / groups, {kernel}), got {weight.shape}")
    if x.ndim not in (1 + len(dims), 2 + len(dims)):
        raise ValueError(
            f"{what} expects input of shape (N, C_in, {names}) or unbatched (C_in, {names}), got shape {x.shape}"
        )
    out_channels, per_group = weight.shape[:2]
    _check_groups(per_group * groups if isinstance(groups, numbers.Integral) else 0, out_channels, groups, what)
    channels = x.shape[-1 - len(dims)]
    if channels != per_group * groups:
        unbatched = f" (a {x.ndim}-D input is one unbatched example (C_in, {names}))" if x.ndim == 1 + len(dims) else ""
        raise ValueError(
            f"{what} expects {per_group * groups} input channels (weight {weight.shape}, groups={groups}), "
            f"got {channels} (input shape {x.shape}){unbatched}"
        )


def _conv2d(x, weight, bias, stride, padding, dilation, groups, what, dims=("H", "W")):
    """The checks and the primitive behind conv2d/conv1d and the layers; ``what``
    names the caller in errors. x (N, C, H, W) or (C, H, W); weight 4-D (a Conv1d
    passes its input and weight with a height-1 axis and ``dims=("L",)``)."""
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    out_channels, _, kh, kw = weight.shape
    stride = _tuple(stride, 2, "stride", what, 1)
    dilation = _tuple(dilation, 2, "dilation", what, 1)
    pads = _pads(padding, (kh, kw), stride, dilation, what)
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    padded = (x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3])
    if span[0] > padded[0] or span[1] > padded[1]:
        shown = x.shape if dims != ("L",) else x.shape[:2] + x.shape[3:]
        raise ValueError(
            f"{what}: the kernel spans {_size(span, dims)} (size {_size((kh, kw), dims)}, "
            f"dilation {_size(dilation, dims)}), more than the padded input's "
            f"{_size(padded, dims)} (input shape {shown}, padding {_size(pads[::2], dims)})"
        )
    inputs = (x, weight)
    if bias is not None:
        bias = as_tensor(bias, what)
        if bias.shape != (out_channels,):
            raise ValueError(f"{what}: bias must have shape ({out_channels},), got {bias.shape}")
        inputs += (bias,)
    backend.check_same_device(what, *(t.data for t in inputs))
    y = _apply(ops.Conv2d, *inputs, stride=stride, pads=pads, dilation=dilation, groups=groups)
    return y.reshape(y.shape[1:]) if unbatched else y


def _size(pair, dims):
    # a Conv1d's (1, 5) reads as the length 5; 2-D sizes read as 3x3
    return str(pair[1]) if dims == ("L",) else "x".join(str(v) for v in pair)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of input (N, C_in, H, W) with weight
    (C_out, C_in / groups, kH, kW), plus bias (C_out,) per output channel:

        Y[n, o, i, j] = b[o] + sum_{c, a, b} W[o, c, a, b] X_p[n, c, s i + d a, s j + d b]

    stride, dilation: an int or (sH, sW); padding: an int, (pH, pW), 'valid' or
    'same'. The backward (a convolution too) is derived in ``ops.Conv2d``."""
    x, weight = as_tensor(input, "conv2d"), as_tensor(weight, "conv2d")
    _check_input(x, weight, groups, "conv2d", ("H", "W"))
    return _conv2d(x, weight, bias, stride, padding, dilation, groups, "conv2d")


def _conv1d(x, weight, bias, stride, padding, dilation, groups, what):
    x, weight = as_tensor(x, what), as_tensor(weight, what)
    _check_input(x, weight, groups, what, ("L",))
    stride = _tuple(stride, 1, "stride", what, 1)[0]
    dilation = _tuple(dilation, 1, "dilation", what, 1)[0]
    if isinstance(padding, str):
        if padding == "same" and stride != 1:
            raise ValueError(f"{what}: padding='same' needs stride 1, got stride {stride}")
        pad = padding  # the 2-D rule pads the height-1 axis by d (1 - 1) = 0
    else:
        pad = (0, _tuple(padding, 1, "padding", what, 0)[0])
    weight = weight.reshape(weight.shape[:2] + (1, weight.shape[2]))
    y = _conv2d(x.reshape(x.shape[:-1] + (1, x.shape[-1])), weight, bias, (1, stride), pad, (1, dilation),
                groups, what, dims=("L",))
    return y.reshape(y.shape[:-2] + (y.shape[-1],))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution of input (N, C_in, L) with weight (C_out, C_in / groups, k):
    ``conv2d`` on images of height 1, Y[n, o, i] = b[o] + sum_{c, a} W[o, c, a] X_p[n, c, s i + d a]."""
    return _conv1d(input, weight, bias, stride, padding, dilation, groups, "conv1d")


class _ConvNd(Module):
    """The parameters and the PyTorch-style repr that Conv1d and Conv2d share."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, rng, dtype, device, n):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {value!r}")
        _check_groups(in_channels, out_channels, groups, name)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name, 1)
        self.stride = _tuple(stride, n, "stride", name, 1)
        self.dilation = _tuple(dilation, n, "dilation", name, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride {self.stride}")
            self.padding = padding
        else:
            self.padding = _tuple(padding, n, "padding", name, 0)
        # PyTorch's default: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        # fan_in = (C_in / groups) kH kW, the inputs one output entry sums over
        fan_in = in_channels // groups * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in)
        rng = init.default_rng(rng)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(zeros(*shape, dtype=dtype, device=device))
        init.uniform_(self.weight, -bound, bound, rng=rng)
        if bias:
            self.bias = Parameter(zeros(out_channels, dtype=dtype, device=device))
            init.uniform_(self.bias, -bound, bound, rng=rng)
        else:
            self.bias = None

    def extra_repr(self):
        n = len(self.kernel_size)
        parts = [f"{self.in_channels}, {self.out_channels}", f"kernel_size={self.kernel_size}", f"stride={self.stride}"]
        if self.padding != (0,) * n:
            parts.append(f"padding={self.padding!r}")
        if self.dilation != (1,) * n:
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        return ", ".join(parts)


class Conv2d(_ConvNd):
    """2-D convolution layer: Y = conv2d(X, W) + b, X (N, C_in, H, W) -> Y (N, C_out, Ho, Wo).

    Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
           groups=1, bias=True, rng=None, dtype='float64', device=None)

    weight (C_out, C_in / groups, kH, kW) and bias (C_out,), PyTorch's shapes, both
    initialised U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C_in / groups kH kW
    (PyTorch's default) from ``rng``; pass ``numpy.random.default_rng(seed)`` for
    reproducible weights. Each output channel sees the C_in / groups input channels
    of its group (groups = C_in: one filter per channel, a depthwise convolution).

    Gradients come from the engine through ``ops.Conv2d``: dW is a correlation of X
    with dY, dX a full convolution of dY with the flipped kernel, db = sum_{n, i, j} dY.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, rng=None, dtype="float64", device=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, rng, dtype, device, 2)

    def forward(self, x):
        what = repr(self)
        x = as_tensor(x, what)
        _check_input(x, self.weight, self.groups, what, ("H", "W"))
        return _conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, what)


class Conv1d(_ConvNd):
    """1-D convolution layer over sequences: X (N, C_in, L) -> Y (N, C_out, Lo),
    Lo = floor((L + 2 p - d (k - 1) - 1) / s) + 1.

    Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
           groups=1, bias=True, rng=None, dtype='float64', device=None)

    weight (C_out, C_in / groups, k), bias (C_out,), PyTorch's shapes and default
    init; computed as a Conv2d on images of height 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, rng=None, dtype="float64", device=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, rng, dtype, device, 1)

    def forward(self, x):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return _conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups,
                       repr(self))

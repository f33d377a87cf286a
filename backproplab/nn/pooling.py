"""Pooling layers on (N, C, H, W) images: ``MaxPool2d`` and ``AvgPool2d``, with their
functional forms ``max_pool2d`` and ``avg_pool2d``. Each channel is pooled on
its own; the output is (N, C, Ho, Wo) with Ho = floor((H + 2 p - d (k - 1) - 1) / s) + 1,
the stride s defaulting to the kernel size (windows side by side, no overlap).

Max pooling is its own primitive (``ops.MaxPool2d``: the gradient goes to each
window's winner). Average pooling is composed: it is a convolution of every
channel with the constant kernel 1 / (kH kW), so its gradient comes from the
convolution's backward (each input pixel receives dY / (kH kW) from every
window it lies in).
"""

from __future__ import annotations

import numbers

from .. import backend, ops
from ..autodiff import no_grad
from ..tensor import Tensor, _apply
from .conv import _conv2d, _tuple
from .linear import as_tensor
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "max_pool2d", "avg_pool2d"]


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, what):
    """Checked input (batched) and geometry of a pooling window."""
    x = as_tensor(x, what)
    if x.ndim not in (3, 4):
        raise ValueError(f"{what} expects input of shape (N, C, H, W) or unbatched (C, H, W), got shape {x.shape}")
    if ceil_mode:
        raise NotImplementedError(f"{what}: ceil_mode=True is not supported; pad the input instead")
    kernel = _tuple(kernel_size, 2, "kernel_size", what, 1)
    stride = kernel if stride is None else _tuple(stride, 2, "stride", what, 1)
    ph, pw = _tuple(padding, 2, "padding", what, 0)
    dilation = _tuple(dilation, 2, "dilation", what, 1)
    if 2 * ph > kernel[0] or 2 * pw > kernel[1]:
        raise ValueError(
            f"{what}: padding ({ph}, {pw}) must be at most half the kernel size {kernel}, so that "
            "every window holds at least one input pixel"
        )
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    h, w = x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw
    if span[0] > h or span[1] > w:
        raise ValueError(
            f"{what}: the window spans {span[0]}x{span[1]}, more than the padded input's {h}x{w} "
            f"(input shape {x.shape}, padding ({ph}, {pw}))"
        )
    return x, kernel, stride, (ph, ph, pw, pw), dilation


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> Tensor:
    """Y[n, c, i, j] = max_{a, b} X_p[n, c, s i + d a, s j + d b] (X_p: X padded with -inf).

    dY flows back to each window's largest entry only (the first, row by row, on ties):
    dX[winner] += dY[n, c, i, j], 0 elsewhere."""
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")


def _max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, what):
    x, kernel, stride, pads, dilation = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, what)
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{what}: expects a floating-point input, got dtype {backend._dtype_name(x.dtype)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    y = _apply(ops.MaxPool2d, x, kernel=kernel, stride=stride, pads=pads, dilation=dilation)
    return y.reshape(y.shape[1:]) if unbatched else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:
    """Y[n, c, i, j] = (1 / (kH kW)) sum_{a, b} X_p[n, c, s i + a, s j + b] (X_p: X padded with 0),
    a convolution of each channel with the constant kernel 1 / (kH kW);
    dX[n, c, y, x] = sum over the windows that contain (y, x) of dY / (kH kW).

    count_include_pad=False divides by the number of real (unpadded) pixels in each
    window instead; divisor_override divides by that number instead."""
    return _avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                       "avg_pool2d")


def _avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, what):
    x, kernel, stride, pads, _ = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, what)
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{what}: expects a floating-point input, got dtype {backend._dtype_name(x.dtype)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    n, c, h, w = x.shape
    xp = backend.namespace(x.data)
    ones = Tensor._wrap(xp.ones((1, 1) + kernel, dtype=x.dtype, device=backend.device_of(x.data)))
    pad = (pads[0], pads[2])
    # every channel of every example as its own one-channel image: one convolution for all
    sums = _conv2d(x.reshape(n * c, 1, h, w), ones, None, stride, pad, 1, 1, what)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Number) or divisor_override == 0:
            raise ValueError(f"{what}: divisor_override must be a nonzero number, got {divisor_override!r}")
        y = sums / divisor_override
    elif count_include_pad or not any(pads):
        y = sums / (kernel[0] * kernel[1])
    else:
        with no_grad():  # how many real pixels each window covers: a constant
            counts = _conv2d(Tensor._wrap(xp.ones((1, 1, h, w), dtype=x.dtype, device=backend.device_of(x.data))),
                             ones, None, stride, pad, 1, 1, what)
        y = sums / counts
    y = y.reshape(n, c, y.shape[2], y.shape[3])
    return y.reshape(y.shape[1:]) if unbatched else y


class MaxPool2d(Module):
    """The largest value of each (kH, kW) window, channel by channel:
    (N, C, H, W) -> (N, C, Ho, Wo). The gradient goes to each window's winner.

    MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)
    (stride defaults to kernel_size; padding, at most half the kernel, pads with -inf)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.ceil_mode = ceil_mode
        _tuple(kernel_size, 2, "kernel_size", "MaxPool2d", 1)

    def forward(self, x):
        return _max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, repr(self))

    def extra_repr(self):
        stride = self.kernel_size if self.stride is None else self.stride
        return (f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each (kH, kW) window, channel by channel: (N, C, H, W) -> (N, C, Ho, Wo).

    AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True, divisor_override=None)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override
        _tuple(kernel_size, 2, "kernel_size", "AvgPool2d", 1)

    def forward(self, x):
        return _avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                           self.count_include_pad, self.divisor_override, repr(self))

    def extra_repr(self):
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"

"""Checks of exercise notebook 11_convolution: references from the library's convolution and
pooling backward (backproplab.nn.functional, through Tensor.backward)."""

import numpy as np

from ...nn import functional as F
from ...tensor import Tensor
from ..spec import Spec

REFERENCES = ("backproplab",)


def _library_weight_grad(x, dy, kernel_size, stride):
    # dL/dW of L = sum(conv2d(X, W, 0) * dY), by the library's backward. W's value does not
    # matter (Y is linear in W), nor does the bias (0).
    o, c = dy.shape[1], x.shape[1]
    weight = Tensor(np.zeros((o, c, kernel_size, kernel_size)), requires_grad=True)
    y = F.conv2d(Tensor(x), weight, Tensor(np.zeros(o)), stride=stride)
    (y * Tensor(dy)).sum().backward()
    return weight.grad


def _weight_grad_cases(rng):
    cases = []
    for n, c, h, w, o, k, s in [(2, 3, 6, 6, 4, 3, 1), (1, 1, 5, 7, 2, 2, 1), (3, 2, 7, 7, 3, 3, 2),
                                (2, 1, 4, 4, 1, 1, 1), (1, 2, 8, 6, 2, 3, 3)]:
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
        cases.append((rng.standard_normal((n, c, h, w)), rng.standard_normal((n, o, ho, wo)), k, s))
    return cases


def _library_pool_grad(dy, x, k):
    xt = Tensor(x, requires_grad=True)
    (F.max_pool2d(xt, k) * Tensor(dy)).sum().backward()
    return xt.grad


def _pool_cases(rng):
    cases = []
    for n, c, h, w, k, ties in [(2, 3, 4, 6, 2, True), (1, 2, 6, 6, 3, True), (2, 1, 4, 4, 2, False),
                                (1, 1, 6, 4, 2, True)]:
        x = rng.integers(0, 3, (n, c, h, w)).astype(float) if ties else rng.standard_normal((n, c, h, w))
        cases.append((rng.standard_normal((n, c, h // k, w // k)), x, k))
    return cases


def _tied_windows(dy, x, k):
    # the pixels of windows whose maximum is taken more than once
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // k, k, w // k, k)
    tied = (blocks == blocks.max(axis=(3, 5), keepdims=True)).sum(axis=(3, 5), keepdims=True) > 1
    return np.broadcast_to(tied, blocks.shape).reshape(n, c, h, w)


def _library_receptive_field(layers):
    # Measured by backprop: a chain of 1-D convolutions with all weights 1 (so no gradient
    # cancels), the span of input positions that one output unit's gradient reaches (size),
    # and how far that span moves for the next unit (jump).
    strides = int(np.prod([s for _, s, _ in layers])) if layers else 1
    length = 16 + 4 * strides * (1 + sum(d * k for k, _, d in layers))

    def first_and_last(unit):
        x = Tensor(np.zeros((1, 1, length)), requires_grad=True)
        h = x
        for k, s, d in layers:
            h = F.conv1d(h, Tensor(np.ones((1, 1, k))), Tensor(np.zeros(1)), stride=s, dilation=d)
        h[0, 0, h.shape[2] // 2 + unit].backward()
        live = np.flatnonzero(x.grad[0, 0])
        return int(live[0]), int(live[-1])

    (start, end), (next_start, _) = first_and_last(0), first_and_last(1)
    return end - start + 1, next_start - start


def _receptive_cases(rng):
    cases = [([(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1)],),   # the lesson's digits CNN
             ([(3, 1, 1), (3, 1, 2), (3, 1, 4)],),               # dilations 1, 2, 4
             ([(7, 2, 1), (3, 2, 1), (3, 1, 1)],),
             ([],)]                                              # no layer: the pixel itself
    for _ in range(3):
        layers = []
        for _ in range(int(rng.integers(1, 5))):
            k = int(rng.choice([1, 2, 3, 5]))
            layers.append((k, int(rng.integers(1, 4)), int(rng.integers(1, 3)) if k > 1 else 1))
        cases.append((layers,))
    return cases


SPECS = [
    Spec("conv2d_weight_grad", "conv2d_weight_grad", 3, _weight_grad_cases,
         subject="conv2d_weight_grad", reference=_library_weight_grad, names="dW",
         arg_names=("x", "dy", "kernel_size", "stride"), seed=110),
    Spec("max_pool_backward", "max_pool_backward", 3, _pool_cases, subject="max_pool_backward",
         reference=_library_pool_grad, names="dx", arg_names=("dy", "x", "k"), seed=111,
         regions={"in windows whose maximum is tied (only the first maximum, row by row, gets "
                  "the window's gradient)": _tied_windows}),
    Spec("receptive_field", "receptive_field", 2, _receptive_cases, subject="receptive_field",
         reference=_library_receptive_field, names=("size", "jump"), arg_names=("layers",),
         seed=112),
]

"""Tests of the exercise checks of lessons 10 (what backprop costs) and 11 (convolutional
networks): each rejects plausible wrong answers with a hint that says what is wrong. That every
check passes on the solution, fails on the blank stub and draws cases that change with the seed
is tested for all exercises in test_every_exercise.py."""

from pathlib import Path

import numpy as np
import pytest

from checking import assert_rejected

ROOT = Path(__file__).resolve().parents[2]


# ---- lesson 11: convolutional networks ----

L11 = "11_convolution"


def _windows(x, k, s, ho, wo):
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]


def _dw_flipped(x, dy, k, s):      # the kernel flipped: the dX rule used for dW
    dw = np.tensordot(dy, _windows(x, k, s, *dy.shape[2:]), axes=([0, 2, 3], [0, 2, 3]))
    return dw[:, :, ::-1, ::-1]


def _dw_stride_ignored(x, dy, k, s):   # every window, not every s-th: wrong shape for s > 1
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    return np.tensordot(dy, windows[:, :, :dy.shape[2], :dy.shape[3]], axes=([0, 2, 3], [0, 2, 3]))


def _dw_batch_mean(x, dy, k, s):   # the mean over examples instead of the sum
    return np.tensordot(dy, _windows(x, k, s, *dy.shape[2:]), axes=([0, 2, 3], [0, 2, 3])) / len(x)


def _dw_channels_swapped(x, dy, k, s):   # (C, O, k, k)
    return np.tensordot(_windows(x, k, s, *dy.shape[2:]), dy, axes=([0, 2, 3], [0, 2, 3])).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("wrong, hint", [
    (_dw_flipped, r"dW is wrong: \d+ of \d+ entries differ"),
    (_dw_stride_ignored, r"dW is wrong"),
    (_dw_batch_mean, r"dW is wrong"),
    (_dw_channels_swapped, r"dW has shape \(3, 4, 3, 3\), expected \(4, 3, 3, 3\)"),
])
def test_conv2d_weight_grad_rejects(wrong, hint):
    assert_rejected(L11, "conv2d_weight_grad", hint, conv2d_weight_grad=wrong)


def _pool(route):
    def max_pool_backward(dy, x, k):
        n, c, h, w = x.shape
        blocks = x.reshape(n, c, h // k, k, w // k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // k, w // k, k * k)
        mask = route(blocks).astype(float)
        dx = (mask * dy[..., None]).reshape(n, c, h // k, w // k, k, k)
        return dx.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
    return max_pool_backward


TIED = r"dx is wrong in windows whose maximum is tied"


@pytest.mark.parametrize("wrong, hint", [
    (_pool(lambda b: b == b.max(axis=-1, keepdims=True)), TIED),            # every tied pixel
    (_pool(lambda b: (b == b.max(axis=-1, keepdims=True))
           / (b == b.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True)), TIED),  # shared
    (_pool(lambda b: np.arange(b.shape[-1]) == (b.shape[-1] - 1 - b[..., ::-1].argmax(axis=-1))[..., None]),
     TIED),                                                                   # the last maximum
    (_pool(lambda b: np.ones_like(b) / b.shape[-1]), r"dx is wrong: \d+ of"),  # average pooling
    (lambda dy, x, k: np.kron(dy, np.ones((k, k))) * (x == x.max()), r"dx is wrong"),
])
def test_max_pool_backward_rejects(wrong, hint):
    assert_rejected(L11, "max_pool_backward", hint, max_pool_backward=wrong)


def _field(update):
    def receptive_field(layers):
        size, jump = 1, 1
        for k, s, d in layers:
            size, jump = update(size, jump, k, s, d)
        return size, jump
    return receptive_field


@pytest.mark.parametrize("wrong, hint", [
    (_field(lambda r, j, k, s, d: (r + d * (k - 1), j * s)), r"size is 7, expected 10"),   # no jump
    (_field(lambda r, j, k, s, d: (r + (k - 1) * j, j * s)), r"size is 7, expected 15"),   # no dilation
    (_field(lambda r, j, k, s, d: (r + d * (k - 1) * j * s, j * s)), r"size is 13, expected 10"),  # new jump
    (_field(lambda r, j, k, s, d: (r + d * (k - 1) * j, j + s - 1)), r"jump is 3, expected 4"),  # jumps added
])
def test_receptive_field_rejects(wrong, hint):
    assert_rejected(L11, "receptive_field", hint, receptive_field=wrong)


def test_receptive_field_reference_is_measured_by_backprop():
    from backproplab.grading.course import l11_convolution as l11
    assert l11._library_receptive_field([(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1)]) == (10, 4)
    assert l11._library_receptive_field([(3, 1, 2)]) == (5, 1)   # taps 0, 2, 4
    assert l11._library_receptive_field([]) == (1, 1)


# ---- lesson 10: what backprop costs ----

L10 = "10_cost"


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, i, o, dx, b: 4 * n * i * o + (n * o if b else 0), r"flops is \d+, expected \d+"),    # dX always
    (lambda n, i, o, dx, b: (2 if dx else 1) * n * i * o + (n * o if b else 0), r"flops is"),      # a MAC as 1
    (lambda n, i, o, dx, b: 2 * n * i * o * (2 if dx else 1), r"flops is"),                        # bias forgotten
    (lambda n, i, o, dx, b: 2 * n * i * o * (2 if dx else 1) + (o if b else 0), r"flops is"),      # db as D_out
])
def test_linear_backward_flops_rejects(wrong, hint):
    assert_rejected(L10, "linear_backward_flops", hint, linear_backward_flops=wrong)


def _saved(matmul=1, add=1, tanh=True, last_tanh=False, scalar=1, inputs=False):
    def mlp_saved_bytes(batch, widths, itemsize):
        outs = widths[1:]
        numbers = (matmul + add) * batch * sum(outs)
        numbers += batch * sum(outs if last_tanh else outs[:-1]) if tanh else 0
        numbers += scalar + (batch * widths[0] if inputs else 0)
        return numbers * itemsize
    return mlp_saved_bytes


@pytest.mark.parametrize("wrong", [
    _saved(add=0),              # the output of + b forgotten (only XW)
    _saved(last_tanh=True),     # a tanh after the last layer too
    _saved(scalar=0),           # the sum's one number forgotten
    _saved(inputs=True),        # the input counted
    _saved(tanh=False),         # tanh's output forgotten
])
def test_mlp_saved_bytes_rejects(wrong):
    assert_rejected(L10, "mlp_saved_bytes", r"bytes is \d+, expected \d+", mlp_saved_bytes=wrong)


def test_mlp_saved_bytes_hint_names_the_numbers():
    assert_rejected(L10, "mlp_saved_bytes", r"bytes is 267268, expected 796676 \(case 1 of 5\)",
                    mlp_saved_bytes=_saved(add=0, tanh=False))


def _scaler(skip_scale=0.5, grow=2.0, keep_count=False, multiply=False, inf_only=False, no_reset=False):
    def grad_scaler_step(grads, scale, growth_tracker, growth_interval):
        bad = (lambda g: np.isinf(g).any()) if inf_only else (lambda g: not np.isfinite(g).all())
        if any(bad(g) for g in grads):
            return None, scale * skip_scale, growth_tracker if keep_count else 0
        unscaled = [g * scale if multiply else g / scale for g in grads]
        growth_tracker += 1
        if growth_tracker >= growth_interval:
            return unscaled, scale * grow, growth_tracker if no_reset else 0
        return unscaled, scale, growth_tracker
    return grad_scaler_step


@pytest.mark.parametrize("wrong, hint", [
    (_scaler(multiply=True), r"grads\[0\] is wrong"),                  # scaled again, not unscaled
    (_scaler(skip_scale=1.0), r"scale is 1\.678e\+07, expected 8\.389e\+06"),  # no backoff
    (_scaler(keep_count=True), r"growth_tracker is 5, expected 0"),  # count kept after overflow
    (_scaler(inf_only=True), r"grads should be None"),              # nan not seen as overflow
    (_scaler(no_reset=True), r"growth_tracker is \d+, expected 0"),  # count not reset on growth
    (_scaler(grow=1.0), r"scale is 1024, expected 2048"),           # never grows
])
def test_grad_scaler_step_rejects(wrong, hint):
    assert_rejected(L10, "grad_scaler_step", hint, grad_scaler_step=wrong)


def test_grad_scaler_step_must_not_change_its_input():
    def in_place(grads, scale, growth_tracker, growth_interval):
        if not all(np.isfinite(g).all() for g in grads):
            return None, scale / 2, 0
        for g in grads:
            g /= scale
        growth_tracker += 1
        return (grads, scale * 2, 0) if growth_tracker == growth_interval else (grads, scale, growth_tracker)
    assert_rejected(L10, "grad_scaler_step", "mutated its input grads", grad_scaler_step=in_place)


def test_flops_reference_counts_what_the_library_multiplies():
    # the count of exercise 1 against the shapes of the products the library's backward makes
    from backproplab import Tensor, nn
    from backproplab.grading.course.l10_cost import linear_backward_flops
    layer = nn.Linear(7, 5, rng=np.random.default_rng(0))
    x = Tensor(np.ones((3, 7)), requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.shape == (3, 7) and layer.weight.grad.shape == (7, 5)
    assert linear_backward_flops(3, 7, 5, True, True) == 2 * 3 * 7 * 5 * 2 + 3 * 5
    assert linear_backward_flops(3, 7, 5, False, False) == 2 * 3 * 7 * 5



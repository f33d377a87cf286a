"""The convolution and pooling primitives, driven by one table as tests/test_ops.py
is (its rows take inputs and a NumPy reference; these take conv's arguments too):
each row is checked forward against a slow loop that reads like the formula, and
backward by float64 gradcheck, on every backend of the ``xp`` fixture (NumPy takes
the sliding-window path, array-api-strict the slicing path)."""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from backproplab import Tensor, gradcheck
from backproplab.nn import functional as F


# ---- slow references: loops over every index, straight from the definitions ----

def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_loop(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Y[n, o, i, j] = b[o] + sum_{c, a, b} W[o, c, a, b] X[n, g C/G + c, s i + d a - p, s j + d b - p],
    terms outside X left out (zero padding)."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n_, c_, h_, w_ = x.shape
    o_, cg, kh, kw = w.shape
    ho = (h_ + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w_ + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = o_ // groups
    y = np.zeros((n_, o_, ho, wo))
    for n in range(n_):
        for o in range(o_):
            g = o // og
            for i in range(ho):
                for j in range(wo):
                    total = 0.0 if b is None else b[o]
                    for c in range(cg):
                        for a in range(kh):
                            for bb in range(kw):
                                r, s = sh * i + dh * a - ph, sw * j + dw * bb - pw
                                if 0 <= r < h_ and 0 <= s < w_:
                                    total += w[o, c, a, bb] * x[n, g * cg + c, r, s]
                    y[n, o, i, j] = total
    return y


def conv1d_loop(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    y = conv2d_loop(x[:, :, None, :], w[:, :, None, :], b, (1, stride), (0, padding), (1, dilation), groups)
    return y[:, :, 0, :]


def _pool_loop(x, kernel, stride, padding, dilation, reduce, pad_value):
    (kh, kw) = _pair(kernel)
    (sh, sw) = _pair(stride if stride is not None else kernel)
    (ph, pw), (dh, dw) = _pair(padding), _pair(dilation)
    n_, c_, h_, w_ = x.shape
    ho = (h_ + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w_ + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n_, c_, ho, wo))
    for n in range(n_):
        for c in range(c_):
            for i in range(ho):
                for j in range(wo):
                    window, real = [], 0
                    for a in range(kh):
                        for bb in range(kw):
                            r, s = sh * i + dh * a - ph, sw * j + dw * bb - pw
                            inside = 0 <= r < h_ and 0 <= s < w_
                            window.append(x[n, c, r, s] if inside else pad_value)
                            real += inside
                    y[n, c, i, j] = reduce(window, real)
    return y


def max_pool2d_loop(x, kernel, stride=None, padding=0, dilation=1):
    return _pool_loop(x, kernel, stride, padding, dilation, lambda v, real: max(v), -np.inf)


def avg_pool2d_loop(x, kernel, stride=None, padding=0, count_include_pad=True):
    return _pool_loop(x, kernel, stride, padding, 1,
                      lambda v, real: sum(v) / (len(v) if count_include_pad else real), 0.0)


# ---- the table ----

@dataclass
class Op:
    name: str
    fn: Callable  # on Tensors
    ref: Callable  # on NumPy arrays, the loop version
    shapes: tuple  # input shapes
    distinct: bool = False  # max pooling: well-separated values, no ties within a window
    extra: dict = field(default_factory=dict)


def _conv(kw, ref=conv2d_loop, fn=F.conv2d):
    return (lambda x, w, b=None: fn(x, w, b, **kw)), (lambda x, w, b=None: ref(x, w, b, **kw))


def _row(name, kw, shapes, op="conv2d"):
    fn, ref = _conv(kw) if op == "conv2d" else _conv(kw, conv1d_loop, F.conv1d)
    return Op(name, fn, ref, shapes)


OPS = [
    _row("conv2d_plain", {}, ((2, 3, 5, 5), (4, 3, 3, 3), (4,))),
    _row("conv2d_stride2_pad1", dict(stride=2, padding=1), ((2, 2, 6, 5), (3, 2, 3, 2), (3,))),
    _row("conv2d_dilation2_pad", dict(padding=(2, 1), dilation=2), ((1, 2, 7, 6), (2, 2, 3, 3))),
    _row("conv2d_groups2_stride", dict(stride=(2, 1), padding=1, groups=2), ((2, 4, 5, 5), (6, 2, 3, 3), (6,))),
    _row("conv2d_depthwise", dict(groups=3, dilation=(1, 2)), ((1, 3, 4, 6), (3, 1, 2, 2), (3,))),
    _row("conv2d_everything", dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2),
         ((2, 4, 7, 8), (4, 2, 2, 3), (4,))),
    _row("conv2d_1x1", {}, ((2, 3, 3, 4), (5, 3, 1, 1))),
    _row("conv2d_kernel_is_the_image", {}, ((1, 2, 3, 3), (3, 2, 3, 3))),
    _row("conv1d", dict(stride=2, padding=1, dilation=2, groups=2), ((2, 4, 9), (6, 2, 3), (6,)), op="conv1d"),
    _row("conv1d_plain", {}, ((3, 2, 6), (3, 2, 4)), op="conv1d"),
    Op("max_pool2d_2", lambda x: F.max_pool2d(x, 2), lambda x: max_pool2d_loop(x, 2), ((2, 3, 4, 6),), distinct=True),
    Op("max_pool2d_3_s2_p1", lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: max_pool2d_loop(x, 3, 2, 1),
       ((2, 2, 5, 6),), distinct=True),
    Op("max_pool2d_overlap_dilated", lambda x: F.max_pool2d(x, (2, 3), 1, 0, (2, 1)),
       lambda x: max_pool2d_loop(x, (2, 3), 1, 0, (2, 1)), ((1, 2, 5, 5),), distinct=True),
    Op("max_pool2d_odd_size", lambda x: F.max_pool2d(x, 2), lambda x: max_pool2d_loop(x, 2), ((1, 2, 5, 7),),
       distinct=True),
    Op("avg_pool2d_2", lambda x: F.avg_pool2d(x, 2), lambda x: avg_pool2d_loop(x, 2), ((2, 3, 4, 6),)),
    Op("avg_pool2d_3_s2_p1", lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: avg_pool2d_loop(x, 3, 2, 1),
       ((2, 2, 5, 6),)),
    Op("avg_pool2d_exclude_pad", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
       lambda x: avg_pool2d_loop(x, 3, 2, 1, count_include_pad=False), ((1, 2, 5, 5),)),
]


def _inputs(op, seed):
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in op.shapes:
        if op.distinct:  # gaps of 0.37, far above gradcheck's eps: no ties, no winner changes
            size = int(np.prod(shape))
            arrays.append((rng.permutation(size) * 0.37 - size * 0.2).reshape(shape))
        else:
            arrays.append(rng.standard_normal(shape))
    return arrays


CASES = [pytest.param(op, id=op.name) for op in OPS]


@pytest.mark.parametrize("op", CASES)
def test_forward_matches_the_loop(op, xp):
    arrays = _inputs(op, seed=0)
    tensors = [Tensor(xp.asarray(a)) for a in arrays]
    out = op.fn(*tensors)
    assert isinstance(out, Tensor)
    assert type(out.data) is type(tensors[0].data) and out.device == tensors[0].device
    expected = op.ref(*arrays)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", CASES)
def test_gradcheck(op, xp):
    arrays = _inputs(op, seed=1)
    tensors = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    assert gradcheck(op.fn, *tensors)
    for t, a in zip(tensors, arrays):  # the caller's inputs are left as they were
        np.testing.assert_array_equal(t.numpy(), a)
        assert t.grad is None


@pytest.mark.parametrize("op", [c for c in CASES if c.values[0].name in ("conv2d_groups2_stride", "max_pool2d_2")])
def test_float32_path(op, xp):
    arrays = _inputs(op, seed=2)
    tensors = [Tensor(xp.asarray(a, dtype=np.float32), requires_grad=True) for a in arrays]
    out = op.fn(*tensors)
    assert str(out.dtype).endswith("float32")
    out.sum().backward()
    for t in tensors:
        assert str(t.grad.dtype).endswith("float32")
    np.testing.assert_allclose(out.numpy(), op.ref(*arrays), rtol=1e-5, atol=1e-5)


# ---- what the docstrings claim ----

def _flip_swap(w, groups):
    """Wt[c, o, a, b] = W[o, c, kH-1-a, kW-1-b], per group: (O, C/G, kH, kW) -> (C, O/G, kH, kW)."""
    o, cg, kh, kw = w.shape
    wt = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4).reshape(groups * cg, o // groups, kh, kw)
    return wt[:, :, ::-1, ::-1]


@pytest.mark.parametrize("groups", [1, 2])
def test_input_gradient_is_the_full_convolution_with_the_flipped_kernel(groups):
    """Stride 1: dX = conv2d(dY padded by k - 1 - p, flipped W with channels swapped)."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((6, 4 // groups, 3, 2))
    p = (1, 0)
    xt = Tensor(x, requires_grad=True)
    y = F.conv2d(xt, Tensor(w), padding=p, groups=groups)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    full = conv2d_loop(dy, _flip_swap(w, groups), padding=(3 - 1 - p[0], 2 - 1 - p[1]), groups=groups)
    np.testing.assert_allclose(xt.grad, full, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, dilation", [((1, 1), (1, 1)), ((2, 1), (1, 2))])
def test_weight_gradient_is_the_correlation_of_input_and_upstream_gradient(stride, dilation):
    """dW[o, c] = sum_n X[n, c] correlated with dY[n, o], dY as the kernel with dilation s
    (and stride d): conv2d of X viewed as (C, N, H, W) with dY viewed as (O, N, Ho, Wo)."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    wt = Tensor(w, requires_grad=True)
    y = F.conv2d(Tensor(x), wt, stride=stride, padding=1, dilation=dilation)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    corr = conv2d_loop(x.transpose(1, 0, 2, 3), dy.transpose(1, 0, 2, 3), padding=1, stride=dilation, dilation=stride)
    np.testing.assert_allclose(wt.grad, corr[:, :, :3, :2].transpose(1, 0, 2, 3), rtol=1e-12, atol=1e-12)


def test_max_pool_routes_the_gradient_to_the_first_winner_of_a_tie():
    x = Tensor(np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.5, 2.0, 2.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).backward(np.array([[[[3.0, 5.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[3.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_overlapping_max_windows_add_their_gradients():
    x = Tensor(np.array([[[[0.0, 9.0, 0.0]]]]), requires_grad=True)  # the 9 wins both windows
    F.max_pool2d(x, (1, 2), stride=1).backward(np.array([[[[1.0, 2.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[0.0, 3.0, 0.0]]]])


# ---- PyTorch as a second reference (skipped where torch is not installed) ----

TORCH_CASES = [
    ("conv2d", dict(stride=2, padding=1, dilation=1, groups=2), ((2, 4, 7, 6), (6, 2, 3, 3), (6,))),
    ("conv2d", dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1), groups=1), ((3, 2, 8, 9), (4, 2, 2, 3), (4,))),
    ("conv2d", dict(padding="same", dilation=2), ((1, 2, 6, 6), (3, 2, 4, 3), (3,))),
    ("conv2d", dict(padding="same"), ((1, 2, 5, 6), (3, 2, 2, 4), (3,))),  # odd totals: the extra row goes last
    ("conv1d", dict(stride=2, padding=2, dilation=1, groups=3), ((2, 6, 11), (3, 2, 5), (3,))),
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1), ((2, 3, 7, 8),)),
    ("avg_pool2d", dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), count_include_pad=False), ((2, 3, 5, 7),)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch notes that it pads a copy, as we do
@pytest.mark.parametrize("name, kw, shapes", TORCH_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(TORCH_CASES)])
def test_matches_pytorch(name, kw, shapes):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = getattr(F, name)(*ours, **kw)
    ty = getattr(torch.nn.functional, name)(*theirs, **kw)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    y.backward(dy)
    ty.backward(torch.tensor(dy))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)

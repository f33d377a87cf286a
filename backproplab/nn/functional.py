"""Functional forms: softmax, log-softmax and the losses, as plain functions of Tensors.

Shapes: predictions and logits (N, C) (N examples, C outputs/classes); class
labels (N,) integers in [0, C); probability targets (N, C). Every loss takes
``reduction``: 'mean' (average over examples, the default except for
sum_squared_error), 'sum', or 'none' (one value per example).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, _apply, where
from ._device import array_like
from .softmax_cross_entropy import SoftmaxCrossEntropy
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d
from .pooling import avg_pool2d, max_pool2d

__all__ = [
    "softmax", "log_softmax", "logsumexp", "mse_loss", "sum_squared_error",
    "binary_cross_entropy_with_logits", "cross_entropy", "one_hot",
    "scaled_dot_product_attention",
    "conv1d", "conv2d", "max_pool2d", "avg_pool2d",
]

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x, what, like=None) -> Tensor:
    """``x`` as a Tensor (constants are wrapped), on ``like``'s device if given."""
    if not isinstance(x, Tensor):
        try:
            x = Tensor(x if like is None else array_like(x, like.data))
        except TypeError as err:
            raise TypeError(f"{what}: expected a Tensor or an array, got {type(x).__name__}") from err
    elif like is not None and backend.device_name(x.data) != like.device:
        raise ValueError(f"{what}: the target is on {x.device} but the predictions are on {like.device}")
    return x


def _constant_max(x: Tensor, axis):
    # The shift m = max x is a constant for the graph: softmax(x - m) = softmax(x) for
    # any m, so no gradient needs to flow through it.
    xp = backend.namespace(x.data)
    return Tensor._wrap(xp.max(x.data, axis=axis, keepdims=True))


def logsumexp(x: Tensor, axis=-1, keepdims=False) -> Tensor:
    """log sum_j e^{x_j} along ``axis``, computed as m + log sum_j e^{x_j - m} (m = max x)
    so no exponential overflows;  d/dx_j = softmax(x)_j."""
    m = _constant_max(x, axis)
    out = (x - m).exp().sum(axis, keepdims=True).log() + m
    return out if keepdims else out.reshape(tuple(n for i, n in enumerate(out.shape) if i != axis % x.ndim))


def softmax(x: Tensor, axis=-1) -> Tensor:
    """s_i = e^{x_i - m} / sum_j e^{x_j - m} along ``axis`` (m = max x: no overflow);
    ds_i/dx_j = s_i (delta_ij - s_j)."""
    x = _tensor(x, "softmax")
    e = (x - _constant_max(x, axis)).exp()
    return e / e.sum(axis, keepdims=True)


def log_softmax(x: Tensor, axis=-1) -> Tensor:
    """log s_i = (x_i - m) - log sum_j e^{x_j - m} along ``axis``;  d/dx_j = delta_ij - s_j."""
    x = _tensor(x, "log_softmax")
    shifted = x - _constant_max(x, axis)
    return shifted - shifted.exp().sum(axis, keepdims=True).log()


def _reduce(loss: Tensor, reduction: str, what: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{what}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(what, pred: Tensor, target: Tensor):
    # No broadcasting here: predictions (N, 1) against targets (N,) would broadcast to
    # (N, N) and give a wrong loss without any error.
    if pred.shape != target.shape:
        raise ValueError(
            f"{what}: prediction shape {pred.shape} and target shape {target.shape} differ; "
            "they must be equal (reshape the target, e.g. y.reshape(-1, 1))"
        )


def mse_loss(pred, target, reduction="mean") -> Tensor:
    """Mean squared error: (1/n) sum_i (y_i - d_i)^2 over all n entries ('mean');
    dL/dy_i = 2 (y_i - d_i) / n. 'none' gives the squared errors, shape of ``pred``."""
    pred = _tensor(pred, "mse_loss")
    target = _tensor(target, "mse_loss", like=pred)
    _same_shape("mse_loss", pred, target)
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse_loss")


def sum_squared_error(pred, target, reduction="sum") -> Tensor:
    """The error of Rumelhart, Hinton and Williams (1986):

        E = 1/2 sum_c sum_j (y_jc - d_jc)^2        (c: cases, j: output units)
        dE/dy_jc = y_jc - d_jc

    pred, target: (N, D). reduction 'sum' (default) gives E; 'none' gives E_c per
    case, shape (N,); 'mean' gives E / N.
    """
    pred = _tensor(pred, "sum_squared_error")
    target = _tensor(target, "sum_squared_error", like=pred)
    _same_shape("sum_squared_error", pred, target)
    diff = pred - target
    sq = 0.5 * diff * diff
    per_case = sq.reshape(sq.shape[0], -1).sum(1) if sq.ndim > 1 else sq
    return _reduce(per_case, reduction, "sum_squared_error")


def binary_cross_entropy_with_logits(logits, target, reduction="mean") -> Tensor:
    """Binary cross-entropy of p = sigmoid(z) against targets t in [0, 1], from logits z:

        l = -t log p - (1 - t) log(1 - p) = softplus(z) - t z
        softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^{-|z|})   (never overflows)
        dl/dz = sigmoid(z) - t

    ``max`` and ``|z|`` share one mask (z >= 0), so their one-sided derivatives at
    z = 0 combine to the true derivative 1/2 - t.
    """
    z = _tensor(logits, "binary_cross_entropy_with_logits")
    t = _tensor(target, "binary_cross_entropy_with_logits", like=z)
    _same_shape("binary_cross_entropy_with_logits", z, t)
    if not backend.is_floating(t.dtype):
        t = t.astype(z.dtype)
    nonneg = z >= 0
    relu_z = where(nonneg, z, 0.0)
    abs_z = where(nonneg, z, -z)
    loss = relu_z + (1 + (-abs_z).exp()).log() - t * z
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def one_hot(labels, num_classes: int, dtype="float64"):
    """(N,) integer labels -> (N, C) array with a 1 in each label's column (array API)."""
    data = labels.data if isinstance(labels, Tensor) else labels
    xp = backend.namespace(data)
    classes = xp.arange(num_classes, device=backend.device_of(data))
    hot = data[:, None] == classes[None, :]
    target = getattr(xp, dtype) if isinstance(dtype, str) else dtype
    return xp.astype(hot, target)


def _check_labels(labels, z: Tensor):
    """Validate class labels against logits (N, C); returns the label array on z's device."""
    data = labels.data if isinstance(labels, Tensor) else labels
    if not hasattr(data, "dtype"):
        data = np.asarray(data)
    name = backend._dtype_name(data.dtype)
    n, c = z.shape
    if not (name.startswith("int") or name.startswith("uint")):
        raise TypeError(
            f"cross_entropy: class labels must be integers (e.g. int64), got dtype {name}; "
            f"convert them with .astype('int64'), or pass probabilities of shape {z.shape} "
            "as a floating-point target"
        )
    if tuple(data.shape) != (n,):
        raise ValueError(
            f"cross_entropy: class labels must have shape ({n},), one per row of the logits "
            f"{z.shape}, got shape {tuple(data.shape)}"
        )
    host = backend.to_numpy(data)
    bad = (host < 0) | (host >= c)
    if bad.any():
        where_bad = np.flatnonzero(bad)
        shown = ", ".join(f"labels[{i}]={int(host[i])}" for i in where_bad[:5])
        more = f" and {len(where_bad) - 5} more" if len(where_bad) > 5 else ""
        raise ValueError(
            f"cross_entropy: class labels must be in [0, {c}) for logits with {c} classes; "
            f"got {shown}{more}"
        )
    return array_like(data, z.data)


def cross_entropy(logits, target, reduction="mean") -> Tensor:
    """Softmax cross-entropy from logits Z (N, C).

        L_i = -sum_c t_ic log softmax(z_i)_c ;   dL_i/dz_i = softmax(z_i) - t_i

    target: class labels (N,) of an integer dtype, each in [0, C) (t_i is then the
    one-hot row), or probabilities (N, C) of a floating dtype (which also get a
    gradient if they require one). Computed by the fused, stable
    ``SoftmaxCrossEntropy`` primitive.
    """
    z = _tensor(logits, "cross_entropy")
    if z.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {z.shape}")
    tdata = target.data if isinstance(target, Tensor) else target
    floating = hasattr(tdata, "dtype") and backend.is_floating(tdata.dtype)
    if floating and len(tdata.shape) == 2:
        t = _tensor(target, "cross_entropy", like=z)
        _same_shape("cross_entropy (probability targets)", z, t)
        if t.dtype != z.dtype:
            t = t.astype(z.dtype)
    else:
        labels = _check_labels(target, z)
        t = Tensor._wrap(one_hot(labels, z.shape[1], z.dtype))
    return _reduce(_apply(SoftmaxCrossEntropy, z, t), reduction, "cross_entropy")

"""Hand-written forward and backward passes: the layers that lessons 4 and 5 derive.

No autodiff here. Every backward is the formula from the lessons, written out with
the array module of its inputs (NumPy, CuPy or any Python array API library), so the
code reads like the math:

    linear      Y = X W + b           dX = dY W^T,  dW = X^T dY,  db = sum_n dY
    relu        y = max(x, 0)         dx = dy * [x > 0]
    sigmoid     y = 1 / (1 + e^-x)    dx = dy * y (1 - y)
    tanh        y = tanh(x)           dx = dy * (1 - y^2)
    softmax + cross-entropy           dZ = (P - Y_onehot) / N

Shapes: N examples, D features, C classes. Each backward takes what its formula
needs by name (``x``, ``w``, ``out``) rather than a positional cache. These are the
reference implementations the exercise checks compare against; the tests check each
one against central differences in float64 and against ``backproplab.Tensor``.
"""

from __future__ import annotations

from .backend import device_of, namespace

__all__ = [
    "linear_forward",
    "linear_backward",
    "relu_forward",
    "relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "softmax",
    "softmax_cross_entropy",
    "sum_to_shape",
    "mlp_forward",
    "mlp_loss_and_grads",
]


def _shape(a):
    return tuple(a.shape)


def _check_same_shape(fn, name_a, a, name_b, b):
    if _shape(a) != _shape(b):
        raise ValueError(f"{fn}: {name_a} has shape {_shape(a)} but {name_b} has shape "
                         f"{_shape(b)}; they must be equal")


def _check_linear(fn, x, w):
    if x.ndim != 2:
        raise ValueError(f"{fn}: x must be 2-D (N, D_in), got shape {_shape(x)}")
    if w.ndim != 2:
        raise ValueError(f"{fn}: w must be 2-D (D_in, D_out), got shape {_shape(w)}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{fn}: w of shape {_shape(w)} expects {w.shape[0]} input features, "
                         f"got {x.shape[1]} (x shape {_shape(x)})")


# ---- linear layer -------------------------------------------------------------------


def linear_forward(x, w, b):
    """Y = X W + b.

    x: (N, D_in), w: (D_in, D_out), b: (D_out,)  ->  Y: (N, D_out).
    b is broadcast over the N rows (copied to every example).
    """
    _check_linear("linear_forward", x, w)
    if _shape(b) != (w.shape[1],):
        raise ValueError(f"linear_forward: b must have shape ({w.shape[1]},) to match w of "
                         f"shape {_shape(w)}, got {_shape(b)}")
    return x @ w + b


def linear_backward(dout, x, w):
    """Gradients of Y = X W + b, given dout = dL/dY.

        dX = dY W^T    (N, D_out) (D_out, D_in) -> (N, D_in)
        dW = X^T dY    (D_in, N) (N, D_out)     -> (D_in, D_out)
        db = sum over n of dY[n, :]              -> (D_out,)

    Each gradient has the shape of the thing it is the gradient of. db is a sum
    because b was copied to every row: the adjoint of a copy is a sum.
    Returns (dx, dw, db).
    """
    _check_linear("linear_backward", x, w)
    if _shape(dout) != (x.shape[0], w.shape[1]):
        raise ValueError(f"linear_backward: dout must have the output's shape "
                         f"({x.shape[0]}, {w.shape[1]}) for x {_shape(x)} and w {_shape(w)}, "
                         f"got {_shape(dout)}")
    xp = namespace(dout, x, w)
    dx = dout @ w.T
    dw = x.T @ dout
    db = xp.sum(dout, axis=0)
    return dx, dw, db


# ---- activations ----------------------------------------------------------------------


def relu_forward(x):
    """y = max(x, 0), elementwise; any shape."""
    xp = namespace(x)
    return xp.where(x > 0, x, xp.zeros_like(x))


def relu_backward(dout, x):
    """dx = dout * [x > 0]: the gradient passes where the input was positive and is
    0 elsewhere (at x = 0 too, as PyTorch does). dout and x have the same shape."""
    _check_same_shape("relu_backward", "dout", dout, "x", x)
    xp = namespace(dout, x)
    return xp.where(x > 0, dout, xp.zeros_like(dout))


def sigmoid_forward(x):
    """y = sigma(x) = 1 / (1 + e^-x), elementwise; any shape.

    Written with e^-|x| so that no exponential overflows: for x < 0,
    sigma(x) = e^x / (1 + e^x).
    """
    xp = namespace(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(dout, out):
    """dx = dout * sigma'(x) = dout * y (1 - y), from the forward's output y = ``out``.

    The derivative is a function of the output, so the forward keeps y, not x.
    """
    _check_same_shape("sigmoid_backward", "dout", dout, "out", out)
    return dout * out * (1 - out)


def tanh_forward(x):
    """y = tanh(x), elementwise; any shape."""
    return namespace(x).tanh(x)


def tanh_backward(dout, out):
    """dx = dout * (1 - y^2), from the forward's output y = tanh(x) = ``out``."""
    _check_same_shape("tanh_backward", "dout", dout, "out", out)
    return dout * (1 - out * out)


# ---- softmax and cross-entropy --------------------------------------------------------


def softmax(z, axis=-1):
    """p_j = e^{z_j} / sum_k e^{z_k} along ``axis`` (default: the last, the classes).

    Stable: subtracting max_k z_k from every z_j leaves p unchanged (it cancels
    between numerator and denominator) and keeps every exponent <= 0, so e^z
    cannot overflow.
    """
    xp = namespace(z)
    e = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _check_labels(fn, logits, y):
    xp = namespace(logits, y)
    if logits.ndim != 2:
        raise ValueError(f"{fn}: logits must be 2-D (N, C), got shape {_shape(logits)}")
    n, c = logits.shape
    if _shape(y) != (n,):
        raise ValueError(f"{fn}: y must hold one class label per row of logits, shape "
                         f"({n},), got {_shape(y)}")
    if xp.isdtype(y.dtype, "real floating") or xp.isdtype(y.dtype, "bool"):
        raise TypeError(f"{fn}: y must be integer class labels, got dtype {y.dtype}")
    if n and (bool(xp.any(y < 0)) or bool(xp.any(y >= c))):
        raise ValueError(f"{fn}: labels must be in 0..{c - 1} for {c} classes, got values "
                         f"from {int(xp.min(y))} to {int(xp.max(y))}")


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

        L  = (1/N) sum_n [ log sum_k e^{z_nk} - z_{n, y_n} ]
        dZ = (P - Y) / N,   P = softmax(Z) row by row, Y the one-hot labels

    logits: (N, C) float, y: (N,) integer labels in 0..C-1.
    Returns (loss, dlogits): a 0-d array and an (N, C) array.
    """
    _check_labels("softmax_cross_entropy", logits, y)
    xp = namespace(logits, y)
    n, c = logits.shape
    shifted = logits - xp.max(logits, axis=1, keepdims=True)  # the stable form of softmax
    log_norm = xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    log_p = shifted - log_norm
    classes = xp.arange(c, device=device_of(logits))
    onehot = xp.astype(y[:, None] == classes[None, :], logits.dtype)
    loss = -xp.sum(log_p * onehot) / n
    dlogits = (xp.exp(log_p) - onehot) / n
    return loss, dlogits


# ---- broadcasting ---------------------------------------------------------------------


def sum_to_shape(grad, shape):
    """The backward of broadcasting an array of ``shape`` to ``grad.shape``.

    Broadcasting copies entries: along axes it prepends and along axes of size 1 that
    it stretches. The adjoint of a copy is a sum, so the gradient sums ``grad`` over
    exactly those axes and then has ``shape``, the shape of the thing it is the
    gradient of. Example: b of shape (D,) added to every row of (N, D) gets
    ``sum_to_shape(dY, (D,))``, the sum of dY over the N rows.
    """
    shape = tuple(int(n) for n in shape)
    gshape = _shape(grad)
    lead = len(gshape) - len(shape)
    if lead < 0 or any(n not in (1, m) for n, m in zip(shape, gshape[lead:])):
        raise ValueError(f"sum_to_shape: an array of shape {shape} does not broadcast to "
                         f"the gradient's shape {gshape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    xp = namespace(grad)
    if axes:
        grad = xp.sum(grad, axis=axes, keepdims=True)
    return xp.reshape(grad, shape)


# ---- a multi-layer perceptron from the layers above -----------------------------------


def _check_params(fn, params):
    if not params:
        raise ValueError(f"{fn}: params must be a non-empty list of (W, b) pairs")
    for k, pair in enumerate(params):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"{fn}: params[{k}] must be a (W, b) pair")
    for k in range(1, len(params)):
        w_prev, w = params[k - 1][0], params[k][0]
        if w.shape[0] != w_prev.shape[1]:
            raise ValueError(f"{fn}: layer {k} has W of shape {_shape(w)}, expecting "
                             f"{w_prev.shape[1]} inputs from layer {k - 1} (W shape "
                             f"{_shape(w_prev)})")


def mlp_forward(x, params):
    """Scores of an MLP: Linear, ReLU, Linear, ReLU, ..., Linear (no ReLU at the end).

    x: (N, D); params: list of (W, b) pairs, W_k of shape (D_k, D_{k+1}).
    Returns scores (N, C), with C the last layer's width.
    """
    _check_params("mlp_forward", params)
    h = x
    for k, (w, b) in enumerate(params):
        h = linear_forward(h, w, b)
        if k < len(params) - 1:
            h = relu_forward(h)
    return h


def mlp_loss_and_grads(x, y, params):
    """Softmax cross-entropy of ``mlp_forward(x, params)`` against labels y, and the
    gradients of every parameter, by chaining the layers' backward last to first.

    x: (N, D), y: (N,) integer labels, params: list of (W, b) pairs.
    Returns (loss, grads) with grads a list of (dW, db), one per layer, first layer
    first; each has the shape of its parameter.
    """
    _check_params("mlp_loss_and_grads", params)
    inputs, pre = [], []  # the input of each Linear and of each ReLU, for the backward
    h = x
    for k, (w, b) in enumerate(params):
        inputs.append(h)
        h = linear_forward(h, w, b)
        if k < len(params) - 1:
            pre.append(h)
            h = relu_forward(h)
    loss, dout = softmax_cross_entropy(h, y)
    grads = [None] * len(params)
    for k in reversed(range(len(params))):
        if k < len(params) - 1:
            dout = relu_backward(dout, pre[k])
        dout, dw, db = linear_backward(dout, inputs[k], params[k][0])
        grads[k] = (dw, db)
    return loss, grads

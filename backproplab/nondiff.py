"""Past the differentiable: gradients for steps that have none (lesson 14).

Rounding, taking a sign, an argmax and drawing a sample are flat almost everywhere: their
derivative is 0 (or undefined at the jumps), so backpropagation through them passes back
nothing. Three ways past them:

    round_ste, sign_ste   straight-through estimators: the forward rounds or signs, the
                          backward passes the upstream gradient through as if the step were
                          the identity (optionally only where |x| <= 1)
    reinforce_surrogate   the score-function (REINFORCE) estimator for a sampled categorical
                          choice: a surrogate whose gradient is the estimate
    sample_categorical    draws those choices from logits with an explicit generator
    input_gradient, fgsm  the gradient of a loss with respect to the input, and the fast
                          gradient sign attack built on it

The two STE ops are primitive ``Function``s, forward next to backward, written against the
array namespace of their inputs like every op in ``backproplab.ops``. Their backward is a
multiplication by a constant mask, so with ``create_graph`` it runs on the Tensor gradient
directly (``backward_on_tensors``) and gradients of gradients go through them.
"""

from __future__ import annotations

import numpy as np

from . import autodiff, backend
from .autodiff import Function
from .backend import namespace
from .nn import functional as F
from .nn._device import array_like
from .tensor import Tensor, _apply

__all__ = ["RoundSTE", "SignSTE", "round_ste", "sign_ste", "sample_categorical",
           "reinforce_surrogate", "input_gradient", "fgsm"]


def _pass_through(g, x, clip):
    # dL/dx = dL/dz, or dL/dz * 1[|x| <= 1] (the derivative of the hard tanh) with clip
    if not clip:
        return g
    xp = namespace(g)
    return g * xp.astype(xp.abs(x) <= 1, g.dtype)


class RoundSTE(Function):
    """z = round(x), halves to even as ``numpy.round``;  straight-through backward:
    dL/dx = dL/dz (Bengio, Leonard and Courville 2013), or dL/dz * 1[|x| <= 1] with
    ``clip=True``. The true derivative, 0 away from the half-integers, would pass nothing."""

    backward_on_tensors = True  # create_graph: the mask is a constant, g may be a Tensor

    def forward(self, x, clip=False):
        self.x, self.clip = x, clip
        return namespace(x).round(x)

    def backward(self, g):
        return (_pass_through(g, self.x, self.clip),)


class SignSTE(Function):
    """z = +1 where x >= 0, else -1 (the binarisation of BinaryNet: sign(0) is +1, so every
    output is +-1);  straight-through backward: dL/dx = dL/dz * 1[|x| <= 1] with ``clip=True``
    (the derivative of the hard tanh, Hubara et al. 2016), dL/dz everywhere without."""

    backward_on_tensors = True

    def forward(self, x, clip=True):
        self.x, self.clip = x, clip
        xp = namespace(x)
        ones = xp.ones_like(x)
        return xp.where(x >= 0, ones, -ones)

    def backward(self, g):
        return (_pass_through(g, self.x, self.clip),)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def round_ste(x, clip=False) -> Tensor:
    """round(x) forward, the identity's gradient backward (``clip=True``: only where |x| <= 1).

    The default passes the gradient through everywhere, as Bengio et al. (2013) and as
    quantisation-aware training do for ``round(x * s) / s``. x: a Tensor of any shape.
    """
    return _apply(RoundSTE, _as_tensor(x), clip=bool(clip))


def sign_ste(x, clip=True) -> Tensor:
    """+1 where x >= 0, else -1, forward; backward dL/dx = dL/dz * 1[|x| <= 1] by default
    (clipped, as in binarised networks, Hubara et al. 2016: a latent weight far past +-1
    stops moving), dL/dz everywhere with ``clip=False``. x: a Tensor of any shape."""
    return _apply(SignSTE, _as_tensor(x), clip=bool(clip))


def sample_categorical(logits, rng, size=None):
    """Actions drawn from softmax(logits) with the generator ``rng``.

    logits: (K,) for one distribution, then ``size`` draws (an int, default 1) as an int
    array of shape (size,); or (N, K), one draw per row, shape (N,). Drawn by the inverse
    CDF on ``rng.random``, so the same generator gives the same actions.
    """
    z = backend.to_numpy(logits.data if isinstance(logits, Tensor) else logits)
    z = np.asarray(z, dtype=np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    cdf = np.cumsum(p, axis=-1)
    if z.ndim == 1:
        u = rng.random(1 if size is None else int(size))
        return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(z) - 1)
    if z.ndim != 2:
        raise ValueError(f"sample_categorical: logits of shape {z.shape}; give (K,) or (N, K)")
    u = rng.random(len(z))[:, None] * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), z.shape[1] - 1)


def reinforce_surrogate(logits, actions, rewards, baseline=0.0) -> Tensor:
    """S = (1/N) sum_n log p(a_n) (R_n - b), whose gradient is the score-function estimate.

    For actions a_n drawn from p = softmax(logits) and their rewards R_n, the gradient of S
    with respect to the logits (or anything they were computed from) is an unbiased estimate
    of the gradient of the expected reward E_{a ~ p}[R(a)] (Williams 1992): ascend S, or
    minimise -S. The reward and the baseline b are constants (any Tensor among them is
    detached): b lowers the variance and, being independent of the action, adds no bias.

    logits: a Tensor (K,) (one distribution, N draws from it) or (N, K) (one row per draw).
    actions: int array (N,); rewards: array (N,); baseline: a number or an array (N,).
    """
    logits = _as_tensor(logits)
    actions = np.asarray(backend.to_numpy(actions.data if isinstance(actions, Tensor) else actions))
    n, k = len(actions), logits.shape[-1]
    advantage = np.broadcast_to(_constant(rewards) - _constant(baseline), (n,))
    # S = sum over entries of log p * weights: weights[n, a_n] = (R_n - b) / N, else 0
    weights = np.zeros((n, k))
    weights[np.arange(n), actions] = advantage / n
    if logits.ndim == 1:
        weights = weights.sum(axis=0)  # one distribution: the draws of each action add up
    elif logits.shape[0] != n:
        raise ValueError(f"reinforce_surrogate: logits {logits.shape} for {n} actions; give "
                         f"(K,) or ({n}, K)")
    weights = Tensor(array_like(weights, logits.data), dtype=logits.dtype)
    return (F.log_softmax(logits, axis=-1) * weights).sum()


def _constant(value):
    if isinstance(value, Tensor):
        value = value.detach().data
    return np.asarray(backend.to_numpy(value) if hasattr(value, "shape") else value,
                      dtype=np.float64)


def input_gradient(model, loss_fn, x, y):
    """dL/dx for L = loss_fn(model(x), y), as an array of x's shape.

    Taken with ``backproplab.grad``, so nothing is added to the parameters' ``.grad``; the
    graph is recorded even inside ``no_grad()``.
    """
    data = x.data if isinstance(x, Tensor) else x
    x_t = Tensor(data, requires_grad=True)
    with autodiff.enable_grad():  # a gradient is asked for: record the graph even under no_grad
        loss = loss_fn(model(x_t), y)
    (g,) = autodiff.grad(loss, [x_t])
    return g.data


def fgsm(model, loss_fn, x, y, eps, clip=None):
    """The fast gradient sign method (Goodfellow, Shlens and Szegedy 2015):
    x_adv = x + eps * sign(dL/dx), the step of L-infinity size eps that raises the loss most
    to first order. ``clip=(low, high)`` keeps the result in the data's range (pixels).

    x: an array or a Tensor (a Tensor in gives a detached Tensor out); y: the labels
    ``loss_fn`` takes. The model is left as it was (its ``.grad`` included).
    """
    data = x.data if isinstance(x, Tensor) else x
    xp = namespace(data)
    adv = data + eps * xp.sign(input_gradient(model, loss_fn, data, y))
    if clip is not None:
        adv = xp.clip(adv, clip[0], clip[1])
    return Tensor(adv) if isinstance(x, Tensor) else adv

"""Optimizers that scale each weight's step by its own gradient history:
Adagrad, RMSprop, Adam and AdamW (all elementwise, g = dL/dw)."""

from __future__ import annotations

from ..backend import namespace
from .optimizer import Optimizer

__all__ = ["Adagrad", "AdaGrad", "RMSprop", "Adam", "AdamW"]


def _check(name, **values):
    for key, (value, low, high) in values.items():
        if not low <= value < high:
            raise ValueError(f"{name}: {key} must be in [{low}, {high}), got {value}")


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan and Singer, 2011), PyTorch's ``optim.Adagrad``. With s = 0
    at the start:

        s <- s + g^2 ;   w <- w - lr g / (sqrt(s) + eps)

    Adagrad(params, lr=0.01, eps=1e-10, weight_decay=0)  (g += weight_decay w)
    ``AdaGrad``, the spelling of earlier versions of this library, is the same class.
    """

    hyperparameters = ("eps", "weight_decay")

    def __init__(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        super().__init__(params, lr)
        _check("Adagrad", eps=(eps, 0, float("inf")), weight_decay=(weight_decay, 0, float("inf")))
        self.eps, self.weight_decay = eps, weight_decay

    def _update(self, p, g, state):
        xp = namespace(g)
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if "sum_sq" not in state:
            state["sum_sq"] = xp.zeros_like(g)
        s = state["sum_sq"]
        s += g * g
        p.data -= self.lr * g / (xp.sqrt(s) + self.eps)


AdaGrad = Adagrad  # the spelling of earlier versions; PyTorch's is Adagrad


class RMSprop(Optimizer):
    """RMSprop (Tieleman and Hinton, 2012). With s = 0 at the start:

        s <- alpha s + (1 - alpha) g^2 ;   w <- w - lr g / (sqrt(s) + eps)

    RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0)  (PyTorch's defaults)
    """

    hyperparameters = ("alpha", "eps", "weight_decay")

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        _check("RMSprop", alpha=(alpha, 0, 1), eps=(eps, 0, float("inf")),
               weight_decay=(weight_decay, 0, float("inf")))
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay

    def _update(self, p, g, state):
        xp = namespace(g)
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if "mean_sq" not in state:
            state["mean_sq"] = xp.zeros_like(g)
        s = state["mean_sq"]
        s *= self.alpha
        s += (1 - self.alpha) * g * g
        p.data -= self.lr * g / (xp.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015). With m = v = 0 and step t = 1, 2, ...:

        m <- beta1 m + (1 - beta1) g           (running mean of g)
        v <- beta2 v + (1 - beta2) g^2         (running mean of g^2)
        m^ = m / (1 - beta1^t) ;  v^ = v / (1 - beta2^t)     (bias correction)
        w <- w - lr m^ / (sqrt(v^) + eps)

    Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0);
    weight_decay adds an L2 term to g (see AdamW for the decoupled form).
    """

    hyperparameters = ("betas", "eps", "weight_decay")
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        b1, b2 = betas
        _check(type(self).__name__, beta1=(b1, 0, 1), beta2=(b2, 0, 1), eps=(eps, 0, float("inf")),
               weight_decay=(weight_decay, 0, float("inf")))
        self.betas, self.eps, self.weight_decay = (b1, b2), eps, weight_decay

    def _update(self, p, g, state):
        xp = namespace(g)
        b1, b2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                p.data *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p.data
        if "m" not in state:
            state["t"], state["m"], state["v"] = 0, xp.zeros_like(g), xp.zeros_like(g)
        state["t"] += 1
        t, m, v = state["t"], state["m"], state["v"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p.data -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019): before the Adam
    step, w <- w (1 - lr weight_decay); the decay never enters m or v.

    AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    """

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)

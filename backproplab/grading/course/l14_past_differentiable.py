"""Checks of exercise notebook 14_past_differentiable: the straight-through sign with its
clipped backward, the REINFORCE estimate with a baseline, and FGSM on a given tanh network.
References: ``backproplab.nondiff`` (``sign_ste``, ``reinforce_surrogate``, ``fgsm``), run
through the engine."""

import numpy as np

from ... import nn, nondiff
from ...nn import functional as F
from ...tensor import Tensor
from ..spec import Spec
from ._diagnose import diagnose

REFERENCES = ("backproplab", "backproplab.nondiff")


# ---- sign_ste: forward and clipped straight-through backward ----

def _sign_cases(rng):
    # the edges: sign(0), the clip's boundary |x| = 1 itself and just past it
    edges = rng.permutation([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, -1.0000001, 0.9999999])
    return [(1.5 * rng.standard_normal((4, 5)), rng.standard_normal((4, 5))),
            (edges, rng.standard_normal(edges.shape)),
            (rng.uniform(-3, 3, (3, 2, 4)), rng.standard_normal((3, 2, 4)))]


def _library_sign_ste(x, dout):
    t = Tensor(x, requires_grad=True)
    z = nondiff.sign_ste(t, clip=True)
    (z * Tensor(dout)).sum().backward()
    return z.numpy(), t.grad


SIGN_MISTAKES = [
    ("z uses numpy's sign, which is 0 at x = 0; a binarised weight is +1 or -1, and this "
     "exercise takes sign(0) = +1",
     lambda x, dout: (np.sign(x), dout * (np.abs(x) <= 1))),
    ("dx passes dout through everywhere: the clipped estimator passes it only where |x| <= 1",
     lambda x, dout: (np.where(x >= 0, 1.0, -1.0), dout)),
    ("dx is all zeros, the true derivative of sign away from 0: that is what the "
     "straight-through estimator replaces",
     lambda x, dout: (np.where(x >= 0, 1.0, -1.0), np.zeros_like(dout))),
    ("dx drops the gradient at |x| = 1 itself: the clip keeps |x| <= 1",
     lambda x, dout: (np.where(x >= 0, 1.0, -1.0), dout * (np.abs(x) < 1))),
]


# ---- reinforce_gradient: the score-function estimate with a baseline ----

def _reinforce_cases(rng):
    cases = []
    for k, n, offset, with_baseline in [(4, 12, 5.0, True), (3, 1, 0.0, True),
                                        (6, 40, -2.0, True), (5, 9, 1.0, False)]:
        logits = 2.0 * rng.standard_normal(k)
        actions = rng.integers(0, k, n)
        rewards = offset + rng.standard_normal(n)
        baseline = float(offset + 0.3 * rng.standard_normal()) if with_baseline else 0.0
        cases.append((logits, actions, rewards, baseline))
    return cases


def _library_reinforce(logits, actions, rewards, baseline):
    t = Tensor(logits, requires_grad=True)
    nondiff.reinforce_surrogate(t, actions, rewards, baseline=baseline).backward()
    return t.grad


def _p(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def _reinforce_slip(logits, actions, rewards, baseline, b=True, minus_p=True, mean=True,
                     sign=1.0, wrt_p=False):
    p = _p(logits)
    onehot = np.eye(len(logits))[actions]
    score = onehot / p if wrt_p else onehot - p if minus_p else onehot
    adv = sign * (rewards - (baseline if b else 0.0))
    total = (adv[:, None] * score).sum(axis=0)
    return total / len(actions) if mean else total


REINFORCE_MISTAKES = [
    ("it ignores the baseline: the estimate weights each score by R_n - b",
     lambda *case: _reinforce_slip(*case, b=False)),
    ("it has the wrong sign: d log p(a)/dz = onehot(a) - p, weighted by R - b (not b - R)",
     lambda *case: _reinforce_slip(*case, sign=-1.0)),
    ("it is the sum over the N draws; the estimate is their mean",
     lambda *case: _reinforce_slip(*case, mean=False)),
    ("it uses onehot(a) alone as d log p(a)/dz: the log-softmax's normaliser adds -p",
     lambda *case: _reinforce_slip(*case, minus_p=False)),
    ("it is the gradient with respect to the probabilities (onehot(a) / p), not the logits",
     lambda *case: _reinforce_slip(*case, wrt_p=True)),
]


# ---- fgsm_tanh_mlp: the attack on a given network, by hand ----

def _fgsm_cases(rng):
    cases = []
    for n, d, h, c in [(6, 5, 4, 3), (1, 8, 6, 10), (4, 64, 16, 10)]:
        W1 = rng.standard_normal((d, h)) / np.sqrt(d)
        W2 = rng.standard_normal((h, c)) / np.sqrt(h)
        cases.append((W1, 0.1 * rng.standard_normal(h), W2, 0.1 * rng.standard_normal(c),
                      rng.uniform(0, 1, (n, d)), rng.integers(0, c, n),
                      float(rng.choice([0.05, 0.1, 0.2]))))
    return cases


def _tanh_mlp(W1, b1, W2, b2):
    model = nn.Sequential(nn.Linear(*W1.shape, rng=np.random.default_rng(0)), nn.Tanh(),
                          nn.Linear(*W2.shape, rng=np.random.default_rng(0)))
    for param, value in zip(model.parameters(), (W1, b1, W2, b2)):
        param.data = np.array(value, dtype=np.float64)
    return model


def _library_fgsm(W1, b1, W2, b2, x, y, eps):
    return nondiff.fgsm(_tanh_mlp(W1, b1, W2, b2), F.cross_entropy, x, y, eps)


def _input_grad_slip(W1, b1, W2, b2, x, y, slope=True):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(W2.shape[1])[y]) / len(x)
    dh = dz @ W2.T
    return (dh * (1 - h ** 2) if slope else dh) @ W1.T


FGSM_MISTAKES = [
    ("it steps down the gradient (x - eps sign(g)), which lowers the loss: the attack raises it",
     lambda W1, b1, W2, b2, x, y, eps: x - eps * np.sign(_input_grad_slip(W1, b1, W2, b2, x, y))),
    ("it steps by eps times the gradient itself; FGSM takes its sign, a step of eps in every "
     "pixel",
     lambda W1, b1, W2, b2, x, y, eps: x + eps * _input_grad_slip(W1, b1, W2, b2, x, y)),
    ("its gradient leaves out tanh's slope 1 - h^2 between the layers",
     lambda W1, b1, W2, b2, x, y, eps: x + eps * np.sign(
         _input_grad_slip(W1, b1, W2, b2, x, y, slope=False))),
    ("it returns the perturbation eps sign(g) alone; the adversarial example is x plus it",
     lambda W1, b1, W2, b2, x, y, eps: eps * np.sign(_input_grad_slip(W1, b1, W2, b2, x, y))),
]


SPECS = [
    Spec("sign_ste", "sign_ste", 2, _sign_cases, subject="sign_ste",
         judge=diagnose(_library_sign_ste, SIGN_MISTAKES, names=("z", "dx"), rtol=0, atol=0,
                        regions={"where x == 0 (sign(0) is +1 here)": lambda x, dout: x == 0,
                                 "where |x| > 1 (the clip)": lambda x, dout: np.abs(x) > 1,
                                 "at |x| == 1 (inside the clip)": lambda x, dout: np.abs(x) == 1,
                                 "where |x| <= 1": lambda x, dout: np.abs(x) <= 1}),
         arg_names=("x", "dout"), seed=140),
    Spec("reinforce_gradient", "reinforce_gradient", 3, _reinforce_cases,
         subject="reinforce_gradient",
         judge=diagnose(_library_reinforce, REINFORCE_MISTAKES, names="grad", rtol=1e-8,
                        atol=1e-11),
         arg_names=("logits", "actions", "rewards", "baseline"), seed=141),
    Spec("fgsm_tanh_mlp", "fgsm_tanh_mlp", 3, _fgsm_cases, subject="fgsm_tanh_mlp",
         judge=diagnose(_library_fgsm, FGSM_MISTAKES, names="x_adv", rtol=1e-9, atol=1e-12),
         arg_names=("W1", "b1", "W2", "b2", "x", "y", "eps"), seed=142),
]

"""Checks of exercise notebook 12_bptt: backpropagation through time by hand, the norm of a
product of recurrent Jacobians, and sampling the next character. References: the engine
(``Tensor.backward``, ``autograd.functional.jacobian``) on the same unrolled RNN."""

import numpy as np

from ...autograd.functional import jacobian
from ...tensor import Tensor, stack
from ..spec import Spec

REFERENCES = ("backproplab",)


def _rnn_cases(rng):
    cases = []
    for length, n, d, h in [(5, 3, 2, 4), (1, 2, 3, 3), (7, 1, 1, 5)]:
        cases.append((rng.standard_normal((length, n, d)), rng.standard_normal((n, h)),
                      rng.standard_normal((d, h)), rng.standard_normal((h, h)) / np.sqrt(h),
                      rng.standard_normal(h), rng.standard_normal((length, n, h))))
    return cases


def _engine_bptt(x, h0, W_xh, W_hh, b, dh):
    """(dW_xh, dW_hh, db, dh0) by the engine: the RNN unrolled over the L steps of x, the
    loss sum_t <h_t, dh_t>, so that dh[t] is the gradient arriving at h_t from above."""
    W_xh, W_hh, b, h = (Tensor(a, requires_grad=True) for a in (W_xh, W_hh, b, h0))
    h0_leaf, states = h, []
    for t in range(len(x)):
        h = (Tensor(x[t]) @ W_xh + h @ W_hh + b).tanh()
        states.append(h)
    (stack(states) * Tensor(dh)).sum().backward()
    return W_xh.grad, W_hh.grad, b.grad, h0_leaf.grad


def _rnn_states(x, W_xh, W_hh, b, h0):
    hs = [h0]
    for x_t in x:
        hs.append(np.tanh(x_t @ W_xh + hs[-1] @ W_hh + b))
    return np.stack(hs)


def _jacobian_cases(rng):
    cases = []
    for steps, h, rho in [(10, 5, 0.9), (12, 4, 1.5), (8, 6, 1.0), (6, 3, 3.0)]:
        W = rng.standard_normal((h, h))
        W *= rho / np.max(np.abs(np.linalg.eigvals(W)))  # spectral radius rho
        x = rng.standard_normal((steps, 2))
        W_xh = rng.standard_normal((2, h))
        b = 0.1 * rng.standard_normal(h)
        h0 = 0.5 * rng.standard_normal(h)
        t = int(rng.integers(steps // 2, steps + 1))
        k = int(rng.integers(1, t + 1))
        cases.append((x, W_xh, W, b, h0, t, k))
    cases.append(cases[0][:5] + (cases[0][5], 1))  # one step: the norm of one Jacobian
    return cases


def _observe_jacobian_norm(subjects, x, W_xh, W_hh, b, h0, t, k):
    hs = _rnn_states(x, W_xh, W_hh, b, h0)
    return subjects[0](W_hh.copy(), hs, t, k)


def _engine_jacobian_norm(x, W_xh, W_hh, b, h0, t, k):
    """||d h_t / d h_{t-k}||_2, the Jacobian from the engine (one backward pass per entry
    of h_t) of the map that runs steps t-k+1 .. t from h_{t-k}."""
    h_start = _rnn_states(x, W_xh, W_hh, b, h0)[t - k]

    def run(h):
        for s in range(t - k + 1, t + 1):  # h_s = tanh(x_s W_xh + h_{s-1} W_hh + b)
            h = (Tensor(x[s - 1]) @ Tensor(W_xh) + h @ Tensor(W_hh) + Tensor(b)).tanh()
        return h

    J = jacobian(run, Tensor(h_start)).numpy()
    return float(np.linalg.norm(J, 2))


def _sample_cases(rng):
    return [(rng.standard_normal(12) * 2, 1.0, int(rng.integers(2**31))),
            (rng.standard_normal(30), 0.5, int(rng.integers(2**31))),
            (rng.standard_normal(8), 2.0, int(rng.integers(2**31))),
            (rng.standard_normal(10) + 800.0, 1.0, int(rng.integers(2**31))),  # exp overflows
            (rng.standard_normal(6), 0.0, int(rng.integers(2**31)))]          # greedy


def _draws(sample_next, logits, temperature, seed, n=25):
    # n ids from one generator, then one more number from it: that number shows how many
    # draws the function took (one per call, none at temperature 0).
    rng = np.random.default_rng(seed)
    ids = [int(sample_next(logits.copy(), temperature, rng)) for _ in range(n)]
    return ids + [int(rng.integers(2**30))]


def _reference_sample_next(logits, temperature, rng):
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def _compare_draws(got, expected):
    if not isinstance(got, list) or len(got) != len(expected):
        return f"returned {type(got).__name__}, expected {len(expected)} ids"
    if got == expected:
        return None
    got, expected = got[:-1], expected[:-1]
    if got == expected:
        return ("the ids are right, but the generator was used a different number of times: "
                "draw with one rng.choice call per id, and none at temperature 0")
    first = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
    return (f"draw {first + 1} of {len(expected)} from the same generator is {got[first]}, "
            f"expected {expected[first]} (ids {got[:8]}..., expected {expected[:8]}...)")


SPECS = [
    Spec("rnn_bptt", "rnn_bptt", 4, _rnn_cases, subject="rnn_bptt", reference=_engine_bptt,
         names=("dW_xh", "dW_hh", "db", "dh0"),
         arg_names=("x", "h0", "W_xh", "W_hh", "b", "dh"), seed=120),
    Spec("jacobian_norm", "jacobian_norm", 3, _jacobian_cases, subject="jacobian_norm",
         observe=_observe_jacobian_norm, reference=_engine_jacobian_norm, names="norm",
         rtol=1e-7, atol=1e-12, seed=121),
    Spec("sample_next", "sample_next", 2, _sample_cases, subject="sample_next",
         observe=lambda subjects, *case: _draws(subjects[0], *case),
         reference=lambda *case: _draws(_reference_sample_next, *case),
         compare=_compare_draws, seed=122),
]

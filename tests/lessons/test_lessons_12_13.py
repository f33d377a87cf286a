"""The exercise checks of lessons 12 (backpropagation through time) and 13 (attention) reject
plausible wrong answers with a hint that says what is wrong. That every check passes on the
solution, fails on the blank stub and draws cases that change with the seed is tested for all
exercises in test_every_exercise.py."""

from pathlib import Path

import numpy as np
import pytest

from checking import assert_rejected

ROOT = Path(__file__).resolve().parents[2]


# ---- lesson 12: backpropagation through time ----

L12 = "12_bptt"


def _bptt(per_step=True, slope=True, state_before=True, through_time=True, h0_grad=True):
    def rnn_bptt(x, h0, W_xh, W_hh, b, dh):
        hs = [h0]
        for x_t in x:
            hs.append(np.tanh(x_t @ W_xh + hs[-1] @ W_hh + b))
        dW_xh, dW_hh, db = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros_like(b)
        back = np.zeros_like(h0)
        for t in range(len(x), 0, -1):
            arriving = dh[t - 1] if per_step or t == len(x) else 0.0
            delta = arriving + (back if through_time else 0.0)
            Delta = delta * (1 - hs[t] ** 2) if slope else delta
            dW_xh += x[t - 1].T @ Delta
            dW_hh += (hs[t - 1] if state_before else hs[t]).T @ Delta
            db += Delta.sum(axis=0)
            back = Delta @ W_hh.T
        return dW_xh, dW_hh, db, (back if h0_grad else np.zeros_like(h0))
    return rnn_bptt


@pytest.mark.parametrize("wrong, hint", [
    (_bptt(per_step=False), r"dW_xh is wrong"),          # only the last step's gradient
    (_bptt(slope=False), r"dW_xh is wrong"),             # tanh' forgotten
    (_bptt(state_before=False), r"dW_hh is wrong"),      # h_t instead of h_{t-1}
    (_bptt(through_time=False), r"dW_xh is wrong"),      # no gradient through time
    (_bptt(h0_grad=False), r"dh0 is wrong"),             # h_0's gradient left at zero
])
def test_rnn_bptt_rejects(wrong, hint):
    assert_rejected(L12, "rnn_bptt", hint, rnn_bptt=wrong)


def _jacobian(order="left", slope_at="after", transpose=True, norm=2):
    def jacobian_norm(W_hh, hs, t, k):
        M = np.eye(len(W_hh))
        for s in range(t - k + 1, t + 1):
            h = hs[s] if slope_at == "after" else hs[s - 1] if slope_at == "before" else None
            D = np.ones(len(W_hh)) if h is None else 1 - h ** 2
            J = D[:, None] * (W_hh.T if transpose else W_hh)
            M = J @ M if order == "left" else M @ J
        return float(np.linalg.norm(M, norm))
    return jacobian_norm


@pytest.mark.parametrize("wrong", [
    _jacobian(order="right"),                  # the product in the wrong order
    _jacobian(slope_at="before"),              # tanh' at h_{s-1}
    _jacobian(slope_at=None),                  # the linear RNN's (W^T)^k
    _jacobian(transpose=False),                # W_hh for W_hh^T
    _jacobian(norm="fro"),                     # Frobenius, not spectral
])
def test_jacobian_norm_rejects(wrong):
    assert_rejected(L12, "jacobian_norm", r"norm is -?[0-9.e+-]+, expected", jacobian_norm=wrong)


def _softmax(z):
    p = np.exp(z - z.max())
    return p / p.sum()


@pytest.mark.parametrize("wrong, hint", [
    (lambda z, T, rng: int(rng.choice(len(z), p=_softmax(z))) if T else int(np.argmax(z)),
     r"draw \d+ of 25 .* is \d+, expected \d+"),                   # temperature ignored
    (lambda z, T, rng: int(rng.choice(len(z), p=_softmax(z * T))) if T else int(np.argmax(z)),
     r"draw \d+ of 25"),                                             # multiplied by T
    (lambda z, T, rng: int(rng.choice(len(z), p=np.exp(z / T) / np.exp(z / T).sum()))
     if T else int(np.argmax(z)), r"raised|draw \d+ of 25"),          # unstable: overflow at 800
    (lambda z, T, rng: int(np.argmax(z)), r"draw \d+ of 25"),        # always greedy
    (lambda z, T, rng: int(rng.choice(len(z), p=_softmax(z / max(T, 1e-3)))),
     r"generator was used a different number of times"),             # T = 0 still draws
    (lambda z, T, rng: (rng.random(), int(rng.choice(len(z), p=_softmax(z / T))))[1]
     if T else int(np.argmax(z)), r"draw \d+ of 25"),                # an extra draw per call
])
def test_sample_next_rejects(wrong, hint):
    assert_rejected(L12, "sample_next", hint, sample_next=wrong)


# ---- lesson 13: attention ----

L13 = "13_attention"


def _softmax_rows(S):
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _attn_backward(jacobian_term=True, scale_grads=True, use_mask=True, dk_factor=1.0):
    def attention_backward(Q, K, V, dout, mask):
        d = Q.shape[1]
        S = Q @ K.T / np.sqrt(d)
        A = _softmax_rows(np.where(mask, S, -np.inf) if use_mask else S)
        dV, dA = A.T @ dout, dout @ V.T
        dS = A * (dA - np.sum(A * dA, axis=1, keepdims=True)) if jacobian_term else A * dA
        c = 1 / np.sqrt(d) if scale_grads else 1.0
        return dS @ K * c, dk_factor * dS.T @ Q * c, dV
    return attention_backward


@pytest.mark.parametrize("wrong, hint", [
    (_attn_backward(jacobian_term=False), r"dQ is wrong"),      # dS = A * dA, the mean not taken off
    (_attn_backward(scale_grads=False), r"dQ is wrong"),        # 1/sqrt(d) forgotten in dQ, dK
    (_attn_backward(use_mask=False), r"dQ is wrong|dV is wrong"),  # the mask ignored
    (_attn_backward(dk_factor=2.0), r"dK is wrong"),          # dK twice too large
])
def test_attention_backward_rejects(wrong, hint):
    assert_rejected(L13, "attention_backward", hint, attention_backward=wrong)


def _causal(mask="lower", scaled=True, after_softmax=False):
    def causal_attention(Q, K, V):
        L, d = Q.shape
        allowed = {"lower": np.tril(np.ones((L, L), dtype=bool)),
                   "upper": np.triu(np.ones((L, L), dtype=bool)),
                   "strict": np.tril(np.ones((L, L), dtype=bool), -1) | (np.arange(L)[:, None] == 0)
                   & (np.arange(L)[None, :] == 0)}[mask]
        S = Q @ K.T / (np.sqrt(d) if scaled else 1.0)
        if after_softmax:  # zero the future after normalising: rows no longer sum to 1
            weights = _softmax_rows(S) * allowed
        else:
            weights = _softmax_rows(np.where(allowed, S, -np.inf))
        return weights @ V, weights
    return causal_attention


@pytest.mark.parametrize("wrong, hint", [
    (_causal(mask="upper"), r"out is wrong"),                 # attends to the future
    (_causal(mask="strict"), r"out is wrong"),                # a query may not see itself
    (_causal(scaled=False), r"out is wrong"),                 # no 1/sqrt(d)
    (_causal(after_softmax=True), r"out is wrong"),           # masked after the softmax
])
def test_causal_attention_rejects(wrong, hint):
    assert_rejected(L13, "causal_attention", hint, causal_attention=wrong)


def test_causal_attention_hint_names_the_region():
    def leaks_future_weights(Q, K, V):
        out, weights = _causal()(Q, K, V)
        return out, weights + 0.1 * np.triu(np.ones_like(weights), 1)
    assert_rejected(L13, "causal_attention", r"weights is wrong above the diagonal",
                    causal_attention=leaks_future_weights)


def _mha(split="blocks", scale="head", project=True):
    def multi_head_attention(X, W_q, W_k, W_v, W_o, num_heads):
        L, d = X.shape
        dh = d // num_heads
        Q, K, V = X @ W_q, X @ W_k, X @ W_v
        if split == "blocks":
            part = lambda M, m: M[:, m * dh:(m + 1) * dh]
        else:  # interleaved columns: reshape (L, dh, heads)
            part = lambda M, m: M.reshape(L, dh, num_heads)[:, :, m]
        heads = []
        for m in range(num_heads):
            S = part(Q, m) @ part(K, m).T / np.sqrt(dh if scale == "head" else d)
            heads.append(_softmax_rows(S) @ part(V, m))
        out = np.concatenate(heads, axis=1)
        return out @ W_o if project else out
    return multi_head_attention


def _one_big_head(X, W_q, W_k, W_v, W_o, num_heads):
    S = (X @ W_q) @ (X @ W_k).T / np.sqrt(X.shape[1])
    return _softmax_rows(S) @ (X @ W_v) @ W_o


@pytest.mark.parametrize("wrong", [_mha(split="interleaved"), _mha(scale="model"), _mha(project=False),
                                   _one_big_head])
def test_multi_head_attention_rejects(wrong):
    assert_rejected(L13, "multi_head_attention", r"out is wrong", multi_head_attention=wrong)

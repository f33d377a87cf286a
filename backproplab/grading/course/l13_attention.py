"""Checks of exercise notebook 13_attention: the backward of softmax attention by hand, causal
attention and multi-head self-attention. References: the library's
``nn.functional.scaled_dot_product_attention`` and the engine's backward through it."""

import numpy as np

from ...nn import functional as F
from ...tensor import Tensor
from ..spec import Spec

REFERENCES = ("backproplab",)


def _mask(rng, length, source):
    # Every query sees at least one key and has at least one key masked.
    rows, seen = np.arange(length), rng.integers(0, source, length)
    hidden = (seen + 1 + rng.integers(0, source - 1, length)) % source
    mask = rng.random((length, source)) < 0.5
    mask[rows, seen], mask[rows, hidden] = True, False
    return mask


def _backward_cases(rng):
    cases = []
    for length, source, e, ev, masked in [(4, 5, 3, 2, False), (3, 3, 4, 4, True),
                                          (1, 6, 2, 3, True), (5, 2, 8, 1, False),
                                          (4, 4, 3, 3, True)]:
        mask = _mask(rng, length, source) if masked else np.ones((length, source), dtype=bool)
        cases.append((rng.standard_normal((length, e)), rng.standard_normal((source, e)),
                      rng.standard_normal((source, ev)), rng.standard_normal((length, ev)), mask))
    return cases


def _engine_attention_backward(Q, K, V, dout, mask):
    q, k, v = (Tensor(a, requires_grad=True) for a in (Q, K, V))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    (out * Tensor(dout)).sum().backward()
    return q.grad, k.grad, v.grad


def _causal_cases(rng):
    return [(rng.standard_normal((length, e)), rng.standard_normal((length, e)),
             rng.standard_normal((length, ev)))
            for length, e, ev in [(5, 4, 3), (1, 2, 2), (7, 16, 2), (3, 1, 4)]]


def _library_causal(Q, K, V):
    out = F.scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(V), is_causal=True)
    # the weights: attention over the identity as values, A I = A
    weights = F.scaled_dot_product_attention(Tensor(Q), Tensor(K), Tensor(np.eye(len(K))),
                                             is_causal=True)
    return out.numpy(), weights.numpy()


def _mha_cases(rng):
    cases = []
    for length, d, heads in [(5, 8, 2), (4, 6, 3), (3, 4, 1), (6, 12, 4)]:
        W = [rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(4)]
        cases.append((rng.standard_normal((length, d)), *W, heads))
    return cases


def _library_mha(X, W_q, W_k, W_v, W_o, num_heads):
    length, d = X.shape
    dh = d // num_heads

    def heads(W):  # (L, d) -> (heads, L, d_head): head h owns columns h*dh .. (h+1)*dh - 1
        return Tensor((X @ W).reshape(length, num_heads, dh).transpose(1, 0, 2))

    out = F.scaled_dot_product_attention(heads(W_q), heads(W_k), heads(W_v)).numpy()
    return out.transpose(1, 0, 2).reshape(length, d) @ W_o


SPECS = [
    Spec("attention_backward", "attention_backward", 4, _backward_cases,
         subject="attention_backward", reference=_engine_attention_backward,
         names=("dQ", "dK", "dV"), arg_names=("Q", "K", "V", "dout", "mask"), seed=130),
    Spec("causal_attention", "causal_attention", 3, _causal_cases, subject="causal_attention",
         reference=_library_causal, names=("out", "weights"), arg_names=("Q", "K", "V"),
         regions={"above the diagonal (keys after the query)":
                  lambda Q, K, V: np.triu(np.ones((len(Q), len(K)), dtype=bool), 1)},
         seed=131),
    Spec("multi_head_attention", "multi_head_attention", 3, _mha_cases,
         subject="multi_head_attention", reference=_library_mha, names="out",
         arg_names=("X", "W_q", "W_k", "W_v", "W_o", "num_heads"), seed=132),
]

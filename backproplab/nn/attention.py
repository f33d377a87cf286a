"""Attention: ``scaled_dot_product_attention`` and ``MultiheadAttention``.

For queries Q (L, E), keys K (S, E) and values V (S, E_v) (any leading batch axes):

    A = softmax(Q K^T / sqrt(E) + M)        (L, S): how much query i looks at key j
    out = A V                               (L, E_v)

where the mask M is 0 where query i may attend to key j and -inf where it may not
(or any float bias). Every step is a primitive op (matmul, add, the softmax op of
``ops.softmax``), so the gradients come from the engine.

The softmax is ``ops.Softmax``, one primitive that is safe for masked entries: a
row whose keys are all masked (a query that may attend to nothing, e.g. padding)
gets attention weights 0, hence output 0, and gradient 0, all finite, where a
composed softmax would give 0/0 = nan. This is also what PyTorch's attention gives.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..ops import Softmax
from ..tensor import Tensor, _apply, broadcast_shapes, zeros
from . import init
from ._device import array_like
from .linear import Linear, as_tensor
from .module import Module, Parameter

__all__ = ["safe_softmax", "scaled_dot_product_attention", "MultiheadAttention"]

_NEG_INF = -float("inf")


def safe_softmax(x, axis=-1) -> Tensor:
    """softmax along ``axis`` as one primitive op (``ops.Softmax``); entries equal to
    -inf get weight 0, and a slice that is -inf everywhere gives zeros (finite values
    and gradients) instead of nan."""
    x = as_tensor(x, "safe_softmax")
    if x.ndim == 0:
        raise ValueError("safe_softmax: needs at least one axis, got a 0-d tensor")
    return _apply(Softmax, x, axis=axis % x.ndim)


def _mask_array(what, mask, like: Tensor, allowed_when_true: bool):
    """An additive float mask (0 or -inf, or the given floats) on ``like``'s device and dtype.

    allowed_when_true: True for scaled_dot_product_attention (True = take part),
    False for MultiheadAttention's masks (True = masked out), as in PyTorch.
    """
    data = mask.data if isinstance(mask, Tensor) else mask
    if not hasattr(data, "dtype"):
        data = np.asarray(data)
    data = array_like(data, like.data)
    xp = backend.namespace(like.data)
    if backend._dtype_name(data.dtype) == "bool":
        keep = data if allowed_when_true else xp.logical_not(data)
        return xp.where(keep, xp.asarray(0.0, dtype=like.dtype, device=backend.device_of(like.data)), _NEG_INF)
    if not backend.is_floating(data.dtype):
        raise TypeError(f"{what}: a mask must be boolean or floating-point, got dtype {backend._dtype_name(data.dtype)}")
    return data if data.dtype == like.dtype else xp.astype(data, like.dtype)


def _causal_mask(length, source_length, like: Tensor):
    """0 where key j <= query i (the present and the past), -inf for the future."""
    xp = backend.namespace(like.data)
    dev = backend.device_of(like.data)
    i = xp.arange(length, device=dev)[:, None]
    j = xp.arange(source_length, device=dev)[None, :]
    return xp.where(j <= i, xp.asarray(0.0, dtype=like.dtype, device=dev), _NEG_INF)


def _check_broadcasts(what, mask_shape, scores_shape, name="attn_mask"):
    try:
        shape = broadcast_shapes(what, tuple(mask_shape), tuple(scores_shape))
    except ValueError:
        shape = None
    if shape != tuple(scores_shape):
        raise ValueError(
            f"{what}: {name} of shape {tuple(mask_shape)} does not broadcast to the attention "
            f"weights' shape {tuple(scores_shape)} (..., L, S)"
        )


def _attention(q, k, v, mask, dropout_p, rng, scale, training=True):
    """(out, weights) for Q (..., L, E), K (..., S, E), V (..., S, E_v) and an additive
    mask array broadcastable to (..., L, S) (or None)."""
    scores = (q * scale) @ k.transpose(-2, -1)  # (..., L, S)
    if mask is not None:
        scores = scores + Tensor._wrap(mask)
    weights = _apply(Softmax, scores, axis=scores.ndim - 1)
    if dropout_p and training:
        keep = init.random_like(init.default_rng(rng), "uniform", weights.shape, weights.data) >= dropout_p
        xp = backend.namespace(weights.data)
        weights = weights * Tensor._wrap(xp.astype(keep, weights.dtype) / (1.0 - dropout_p))
    return weights @ v, weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 *, rng=None) -> Tensor:
    """softmax(Q K^T * scale + M) V, PyTorch's ``F.scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, E_v) -> (..., L, E_v).
    scale: default 1 / sqrt(E).
    attn_mask: broadcastable to (..., L, S); boolean: True = may attend (take part),
        False = masked out; floating: added to the scores (use -inf to mask).
    is_causal: query i attends to keys j <= i only (a lower-triangular (L, S) mask);
        not together with attn_mask.
    dropout_p: dropout on the attention weights, masks drawn from ``rng``.

    A query whose keys are all masked gets output 0 (and gradient 0), not nan.
    """
    what = "scaled_dot_product_attention"
    q, k, v = (as_tensor(t, what) for t in (query, key, value))
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim < 2:
            raise ValueError(f"{what}: {name} must have shape (..., length, features), got {t.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{what}: query (..., L, E) and key (..., S, E) must have the same E, got shapes {q.shape} and {k.shape}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{what}: key (..., S, E) and value (..., S, E_v) must have the same S, got shapes {k.shape} and {v.shape}"
        )
    if not 0 <= dropout_p < 1:
        raise ValueError(f"{what}: dropout_p must be in [0, 1), got {dropout_p}")
    scores_shape = broadcast_shapes(what, q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{what}: pass either attn_mask or is_causal=True, not both")
        mask = _causal_mask(q.shape[-2], k.shape[-2], q)
    elif attn_mask is not None:
        mask = _mask_array(what, attn_mask, q, allowed_when_true=True)
        _check_broadcasts(what, mask.shape, scores_shape)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    out, _ = _attention(q, k, v, mask, dropout_p, rng, scale)
    return out


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al., 2017), PyTorch's ``nn.MultiheadAttention``:

        Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v   (each (L or S, E))
        split E into num_heads heads of E / num_heads features;  for each head h:
        O_h = softmax(Q_h K_h^T / sqrt(E / num_heads) + M) V_h
        output = concat_h(O_h) W_o + b_o                      (out_proj, a Linear)

    MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False,
                       rng=None, dtype='float64', device=None)

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
            average_attn_weights=True, is_causal=False) -> (output, weights)
        query (L, N, E) (or (N, L, E) with batch_first; (L, E) unbatched), key and value (S, N, E)
        output   shaped like query
        weights  (N, L, S), the attention weights averaged over heads
                 ((N, num_heads, L, S) with average_attn_weights=False; None with need_weights=False)
        attn_mask (L, S) or (N * num_heads, L, S), key_padding_mask (N, S): boolean masks use
            PyTorch's convention here, True = masked out (the opposite of
            scaled_dot_product_attention's); float masks are added to the scores.
        is_causal: with attn_mask=None, a causal mask is built (PyTorch requires the mask).

    Parameters as in PyTorch: in_proj_weight (3E, E) = [W_q; W_k; W_v], in_proj_bias (3E,),
    and out_proj, a ``Linear(E, E)`` (whose weight is stored (in, out), the transpose of
    PyTorch's). in_proj_weight ~ Xavier uniform, biases 0, as in PyTorch.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False, kdim=None, vdim=None,
                 rng=None, dtype="float64", device=None):
        super().__init__()
        for name, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"MultiheadAttention: {name} must be a positive integer, got {n!r}")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}): "
                f"each head gets embed_dim / num_heads features"
            )
        if (kdim is not None and kdim != embed_dim) or (vdim is not None and vdim != embed_dim):
            raise NotImplementedError("MultiheadAttention: kdim and vdim other than embed_dim are not supported")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        rng = init.default_rng(rng)
        self._rng = rng
        self.in_proj_weight = Parameter(zeros(3 * embed_dim, embed_dim, dtype=dtype, device=device))
        # PyTorch's xavier_uniform_ on the (3E, E) matrix: bound sqrt(6 / (E + 3E))
        bound = math.sqrt(6.0 / (4 * embed_dim))
        init.uniform_(self.in_proj_weight, -bound, bound, rng=rng)
        self.in_proj_bias = Parameter(zeros(3 * embed_dim, dtype=dtype, device=device)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dtype, device=device)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project_heads(self, x, i):
        """x (N, L, E) -> (x W_i^T + b_i) split into heads, (N, heads, L, head_dim)."""
        n, length, E = x.shape
        w = self.in_proj_weight[i * E : (i + 1) * E]  # (E, E), PyTorch's (out, in)
        # as one (N L, E) @ (E, E) product: its weight gradient is one matmul, not N summed
        y = x.reshape(n * length, E) @ w.T
        if self.in_proj_bias is not None:
            y = y + self.in_proj_bias[i * E : (i + 1) * E]
        return y.reshape(n, length, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        layer = f"MultiheadAttention({self.embed_dim}, {self.num_heads})"
        q, k, v = (as_tensor(t, layer) for t in (query, key, value))
        layout = "N, L, E" if self.batch_first else "L, N, E"
        for name, t in (("query", q), ("key", k), ("value", v)):
            if t.ndim not in (2, 3) or t.shape[-1] != self.embed_dim:
                raise ValueError(
                    f"{layer}: {name} must have shape ({layout}) or (L, E) unbatched with E = "
                    f"{self.embed_dim}, got {t.shape}"
                )
        if not (q.ndim == k.ndim == v.ndim):
            raise ValueError(f"{layer}: query, key and value must all be batched or all unbatched, got "
                             f"shapes {q.shape}, {k.shape}, {v.shape}")
        batched = q.ndim == 3
        self_attention = query is key and key is value

        def to_batch_first(t):
            if not batched:
                return t.reshape(1, *t.shape)
            return t if self.batch_first else t.permute(1, 0, 2)

        q, k, v = to_batch_first(q), to_batch_first(k), to_batch_first(v)
        n, length, source = q.shape[0], q.shape[1], k.shape[1]
        if k.shape[:2] != v.shape[:2] or k.shape[0] != n:
            raise ValueError(f"{layer}: key and value must have the same batch size and length as each other "
                             f"and the batch size of query; got shapes {query.shape}, {key.shape}, {value.shape}")
        if self_attention:
            k = v = q
        q, k, v = self._project_heads(q, 0), self._project_heads(k, 1), self._project_heads(v, 2)
        scores_shape = (n, self.num_heads, length, source)
        mask = None
        if attn_mask is not None:
            mask = _mask_array(layer, attn_mask, q, allowed_when_true=False)
            if mask.ndim == 3:
                if mask.shape != (n * self.num_heads, length, source):
                    raise ValueError(f"{layer}: a 3-d attn_mask must have shape (N * num_heads, L, S) = "
                                     f"{(n * self.num_heads, length, source)}, got {tuple(mask.shape)}")
                mask = backend.namespace(mask).reshape(mask, scores_shape)
            elif mask.shape != (length, source):
                raise ValueError(f"{layer}: attn_mask must have shape (L, S) = {(length, source)} or "
                                 f"(N * num_heads, L, S), got {tuple(mask.shape)}")
        elif is_causal:
            mask = _causal_mask(length, source, q)
        if key_padding_mask is not None:
            pad = _mask_array(layer, key_padding_mask, q, allowed_when_true=False)
            expected = (n, source) if batched else (source,)
            if tuple(pad.shape) != expected:
                raise ValueError(f"{layer}: key_padding_mask must have shape (N, S) = {expected}, "
                                 f"got {tuple(pad.shape)}")
            pad = backend.namespace(pad).reshape(pad, (n, 1, 1, source))
            mask = pad if mask is None else mask + pad
        out, weights = _attention(q, k, v, mask, self.dropout, self._rng, 1.0 / math.sqrt(self.head_dim),
                                  training=self.training)
        out = out.permute(0, 2, 1, 3).reshape(n * length, self.embed_dim)
        out = self.out_proj(out).reshape(n, length, self.embed_dim)
        if not batched:
            out = out.reshape(length, self.embed_dim)
        elif not self.batch_first:
            out = out.permute(1, 0, 2)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)  # (N, L, S)
        return out, (weights if batched else weights.reshape(weights.shape[1:]))

    def extra_repr(self):
        extra = f", dropout={self.dropout}" if self.dropout else ""
        extra += ", batch_first=True" if self.batch_first else ""
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}{extra}"

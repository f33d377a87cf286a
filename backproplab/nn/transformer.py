"""The transformer encoder layer and positional encodings.

Attention treats its inputs as a set: permuting the tokens permutes the output
the same way. Word order enters through a positional encoding added to the token
embeddings, fixed (sinusoidal) or learned.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor, zeros
from . import init
from ._device import array_like
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear, as_tensor
from .module import Module, Parameter
from .normalization import LayerNorm

__all__ = [
    "TransformerEncoderLayer", "sinusoidal_positional_encoding", "PositionalEncoding", "LearnedPositionalEncoding",
]


class TransformerEncoderLayer(Module):
    """One encoder layer of Vaswani et al. (2017), PyTorch's ``nn.TransformerEncoderLayer``:

        norm_first=False (post-norm, the paper):  x = norm1(x + SA(x));  x = norm2(x + FF(x))
        norm_first=True  (pre-norm):              x = x + SA(norm1(x));  x = x + FF(norm2(x))

        SA(x) = dropout1(self_attn(x, x, x))
        FF(x) = dropout2(linear2(dropout(activation(linear1(x)))))

    TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu',
                            layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                            rng=None, dtype='float64', device=None)

    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False) -> same shape as src,
    (L, N, d_model), or (N, L, d_model) with batch_first. Masks as in ``MultiheadAttention``
    (boolean True = masked out). activation: 'relu', 'gelu' (exact, as PyTorch's) or a module.
    Sub-modules carry PyTorch's names (self_attn, linear1, linear2, norm1, norm2), so
    parameter names match; Linear weights are stored (in, out), transposed from PyTorch's.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, rng=None, dtype="float64", device=None):
        super().__init__()
        rng = init.default_rng(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            rng=rng, dtype=dtype, device=device)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=rng, dtype=dtype, device=device)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=rng, dtype=dtype, device=device)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype, device=device)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype, device=device)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        if activation == "relu":
            activation = ReLU()
        elif activation == "gelu":
            activation = GELU()
        elif not callable(activation):
            raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a module, got {activation!r}")
        self.activation = activation
        self.d_model, self.batch_first = d_model, bool(batch_first)

    def _sa(self, x, attn_mask, key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False,
                                attn_mask=attn_mask, is_causal=is_causal)
        return self.dropout1(out)

    def _ff(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = as_tensor(src, "TransformerEncoderLayer")
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            layout = "N, L, d_model" if self.batch_first else "L, N, d_model"
            raise ValueError(
                f"TransformerEncoderLayer(d_model={self.d_model}) expects src of shape ({layout}) or "
                f"(L, d_model) unbatched with d_model = {self.d_model}, got {x.shape}"
            )
        shape = x.shape
        sa = lambda x: self._sa(x.reshape(shape), src_mask, src_key_padding_mask, is_causal).reshape(-1, shape[-1])  # noqa: E731
        # Every step but attention acts on each token alone: on (tokens, d_model), a weight's
        # gradient is one matmul instead of a batch of them summed.
        x = x.reshape(-1, shape[-1])
        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + self._ff(self.norm2(x))
        else:
            x = self.norm1(x + sa(x))
            x = self.norm2(x + self._ff(x))
        return x.reshape(shape)

    def extra_repr(self):
        return f"d_model={self.d_model}, nhead={self.self_attn.num_heads}, norm_first={self.norm_first}"


def sinusoidal_positional_encoding(length, d_model, dtype="float64"):
    """The fixed encoding of Vaswani et al. (2017), a NumPy array (length, d_model):

        PE[p, 2i] = sin(p / 10000^(2i / d_model)),   PE[p, 2i + 1] = cos(p / 10000^(2i / d_model))

    Each pair of columns is a sinusoid of its own wavelength (2 pi to 10000 * 2 pi), so
    PE[p + k] is a fixed rotation of PE[p] for every p: relative positions are linear maps.
    """
    if not isinstance(d_model, int) or d_model <= 0 or not isinstance(length, int) or length < 0:
        raise ValueError(f"sinusoidal_positional_encoding: need length >= 0 and d_model > 0, got {length}, {d_model}")
    position = np.arange(length, dtype=np.float64)[:, None]
    rate = np.exp(-math.log(10000.0) * np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    pe = np.zeros((length, d_model))
    pe[:, 0::2] = np.sin(position * rate)
    pe[:, 1::2] = np.cos(position * rate)[:, : d_model // 2]
    return pe.astype(dtype)


def _check_sequence(layer, x, d_model, max_len, batch_first):
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        layout = "N, L, d_model" if batch_first else "L, N, d_model"
        raise ValueError(f"{layer} expects input of shape ({layout}) or (L, d_model) with d_model = {d_model}, "
                         f"got {x.shape}")
    length = x.shape[1] if (batch_first and x.ndim == 3) else x.shape[0]
    if length > max_len:
        raise ValueError(f"{layer}: the sequence has {length} positions, more than max_len = {max_len}")
    return length


def _add_positions(x, pe, length, batch_first):
    """x + pe[:length], broadcast over the batch axis."""
    pe = pe[:length]
    if x.ndim == 3:
        pe = pe.reshape(1, length, -1) if batch_first else pe.reshape(length, 1, -1)
    return x + pe


class PositionalEncoding(Module):
    """x + PE[:L] with the fixed sinusoidal PE (``sinusoidal_positional_encoding``), then dropout.

    PositionalEncoding(d_model, max_len=5000, dropout=0.0, batch_first=False, rng=None,
                       dtype='float64', device=None)

    input (L, N, d_model), (N, L, d_model) with batch_first, or (L, d_model). The table is a
    buffer ``pe`` (max_len, d_model): saved in state_dict, not trained.
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, rng=None, dtype="float64", device=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, bool(batch_first)
        self.register_buffer("pe", Tensor(sinusoidal_positional_encoding(max_len, d_model), dtype=dtype, device=device))
        self.dropout = Dropout(dropout, rng=rng)

    def forward(self, x):
        name = f"PositionalEncoding({self.d_model}, max_len={self.max_len})"
        x = as_tensor(x, name)
        length = _check_sequence(name, x, self.d_model, self.max_len, self.batch_first)
        pe = array_like(self.pe.data, x.data)  # the table follows the input's device and dtype
        if pe.dtype != x.dtype and backend.is_floating(x.dtype):
            pe = backend.namespace(pe).astype(pe, x.dtype)
        pe = Tensor._wrap(pe)
        return self.dropout(_add_positions(x, pe, length, self.batch_first))

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEncoding(Module):
    """x + P[:L] with a trained table P (max_len, d_model), one vector per position
    (as in BERT and GPT-2), initialised N(0, 0.02^2) from ``rng``.

    LearnedPositionalEncoding(max_len, d_model, batch_first=False, rng=None, dtype='float64', device=None)
    """

    def __init__(self, max_len, d_model, batch_first=False, rng=None, dtype="float64", device=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, bool(batch_first)
        self.weight = Parameter(zeros(max_len, d_model, dtype=dtype, device=device))
        init.normal_(self.weight, 0.0, 0.02, rng=init.default_rng(rng))

    def forward(self, x):
        name = f"LearnedPositionalEncoding({self.max_len}, {self.d_model})"
        x = as_tensor(x, name)
        length = _check_sequence(name, x, self.d_model, self.max_len, self.batch_first)
        return _add_positions(x, self.weight, length, self.batch_first)

    def extra_repr(self):
        return f"max_len={self.max_len}, d_model={self.d_model}"

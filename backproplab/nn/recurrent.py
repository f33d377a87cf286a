"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step ``...Cell`` forms.

A recurrent layer applies the same cell at every step t of a sequence, carrying
a hidden state h_t (and, for the LSTM, a cell state c_t) from one step to the next:

    RNN   h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

    LSTM  [i, f, g, o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh      (4 gates, H each)
          i, f, o = sigmoid(i), sigmoid(f), sigmoid(o) ;  g = tanh(g)
          c_t = f * c_{t-1} + i * g ;   h_t = o * tanh(c_t)

    GRU   [r_i, z_i, n_i] = x_t W_ih^T + b_ih ;  [r_h, z_h, n_h] = h_{t-1} W_hh^T + b_hh
          r = sigmoid(r_i + r_h) ;  z = sigmoid(z_i + z_h) ;  n = tanh(n_i + r * n_h)
          h_t = (1 - z) * n + z * h_{t-1}

The forward pass is a Python loop over t, and every step is made of the engine's
primitive ops (matmul, add, sigmoid, tanh, slicing). The graph of a sequence is
therefore the network unrolled in time, and ``loss.backward()`` walking it back
from the last step to the first *is* backpropagation through time: no code here
computes a gradient. (One exception for speed: the elementwise half of an LSTM
step, a dozen ops composed, is the single op ``ops.LSTMPointwise``, tested against the
composed form ``_lstm_step_composed``; the walk over time is still the engine's.)

Names, shapes and gate order are PyTorch's, so a ``state_dict`` moves between
the two libraries unchanged: ``weight_ih_l{k}`` (G*H, D_in), ``weight_hh_l{k}``
(G*H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G*H,), with G = 1 (RNN), 4 (LSTM,
gates i, f, g, o) or 3 (GRU, gates r, z, n), and ``..._reverse`` for the second
direction of a bidirectional layer. (These weights are stored as (out, in), as in
PyTorch, unlike ``Linear``, which stores (in, out) as the lessons write it.)

Cost: the input's part of every gate is one matmul over the whole sequence (see
below), and each step takes its rows of that product as a slice. A slice's backward
is a ``SliceGrad``: the engine writes the L steps' gradients into one buffer the
size of the sequence, so the backward stays linear in L.

Truncated backpropagation through time: to train on a long sequence in chunks,
carry the state from one chunk to the next but cut it from the graph, so that
each backward pass stops at the start of its chunk:

    state = None
    for chunk in chunks:                               # chunk: (L, N, D_in)
        output, state = lstm(chunk, state)
        loss = loss_fn(output, ...)
        loss.backward()
        state = tuple(s.detach() for s in state)       # an RNN or GRU: state = state.detach()
"""

from __future__ import annotations

import math

from .. import backend
from ..ops import Add, Concatenate, Index, MatMul
from ..ops.lstm import LSTMPointwise
from ..tensor import Tensor, _apply, concatenate, stack, zeros
from . import init
from .dropout import Dropout
from .linear import as_tensor
from .module import Module, Parameter

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _positive_int(layer, name, n):
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {n!r}")


def _nonlinearity(layer, name):
    if name not in ("tanh", "relu"):
        raise ValueError(f"{layer}: nonlinearity must be 'tanh' or 'relu', got {name!r}")
    return name


def _uniform_parameter(shape, bound, rng, dtype, device):
    p = Parameter(zeros(shape, dtype=dtype, device=device))
    return init.uniform_(p, -bound, bound, rng=rng)


# ---- one step of each cell, shared by the Cell modules and the sequence layers ----
#
# The input's part of every gate, x_t W_ih^T + b, does not depend on the state, so a
# sequence layer computes it for all L steps in one matmul, (L*N, D_in) @ (D_in, G*H),
# before the loop (as PyTorch's CPU path does); each step then adds only the
# recurrent part h_{t-1} W_hh^T to its rows. In the backward the same matmul gives
# dW_ih for the whole sequence at once. The steps below take that projected input p_t.


class _LayerWeights:
    """One layer's (and direction's) weights, prepared once per forward pass: transposed,
    so that a product x W^T is x @ w_t, and both biases folded into the input projection
    where the equations allow (RNN, LSTM; the GRU's b_hn sits inside r * (...))."""

    def __init__(self, kind, w_ih, w_hh, b_ih, b_hh, batch):
        gh = w_hh.shape[0]
        self.w_hh_t, self.b_hh, self.bias = w_hh.T, None, b_ih is not None
        if b_ih is None:
            self.w_in = w_ih.T
        else:
            # [x_t, 1] @ [W_ih^T; b] = x_t W_ih^T + b: one matmul, the bias being the weight
            # of an input that is always 1 (as in Rumelhart, Hinton and Williams, 1986)
            b = b_ih if kind == "GRU" else b_ih + b_hh
            self.w_in = concatenate([w_ih.T, b.reshape(1, gh)], axis=0)
            if kind == "GRU":
                self.b_hh = b_hh.expand(batch, gh)  # expanded once: its gradient is summed once

    def project(self, x):
        """x (M, D_in) -> x W_ih^T + b (M, G*H): the input's part of every gate."""
        if not self.bias:
            return x @ self.w_in
        xp = backend.namespace(x.data)
        one = Tensor._wrap(xp.ones((x.shape[0], 1), dtype=x.dtype, device=backend.device_of(x.data)))
        return concatenate([x, one], axis=1) @ self.w_in


# Inside the time loop the shapes are known to agree, so the steps call the ops directly
# (what ``@``, ``+`` and slicing call after checking their arguments): over many small
# steps, those checks would cost more than the arithmetic.


def _mm(a, b):
    return _apply(MatMul, a, b)


def _columns(t, start, stop):
    """t[:, start:stop] for a 2-d t."""
    return _apply(Index, t, key=(slice(None), slice(start, stop), Ellipsis), advanced=False)


def _rows(t, start, stop):
    """t[start:stop] (its backward is a ``SliceGrad``: the engine fills one buffer for all steps)."""
    return _apply(Index, t, key=(slice(start, stop), Ellipsis), advanced=False)


def _rnn_step(p, h, w, nonlinearity):
    a = _apply(Add, p, _mm(h, w.w_hh_t))
    return a.tanh() if nonlinearity == "tanh" else a.relu()


def _lstm_step_composed(p, h, c, w):
    """One LSTM step from primitive ops: the reference that ``ops.LSTMPointwise`` is tested against."""
    H = h.shape[1]
    gates = p + h @ w.w_hh_t  # (N, 4H): i, f, g, o
    s = gates.sigmoid()  # one op for the three sigmoid gates (the g columns are not used)
    i, f, o = s[:, :H], s[:, H : 2 * H], s[:, 3 * H :]
    g = gates[:, 2 * H : 3 * H].tanh()
    c = f * c + i * g
    h = o * c.tanh()
    return h, c


def _lstm_step(p, h, hc, w):
    """One LSTM step on the carried state hc = [h, c] (N, 2H) -> (h', [h', c']): the recurrent
    matmul, then the elementwise rest as one op (``ops.LSTMPointwise``; a dozen ops composed)."""
    hc = _apply(LSTMPointwise, p, _mm(h, w.w_hh_t), hc)
    return _columns(hc, 0, h.shape[1]), hc


def _gru_step(p, h, w):
    H = h.shape[1]
    gh = _mm(h, w.w_hh_t)  # (N, 3H): r, z, n
    if w.b_hh is not None:
        gh = _apply(Add, gh, w.b_hh)
    rz = _apply(Add, _columns(p, 0, 2 * H), _columns(gh, 0, 2 * H)).sigmoid()
    r, z = _columns(rz, 0, H), _columns(rz, H, 2 * H)
    n = (_columns(p, 2 * H, 3 * H) + r * _columns(gh, 2 * H, 3 * H)).tanh()
    return n + z * (h - n)  # = (1 - z) * n + z * h


# ---- checking inputs ----


def _check_input(layer, x, input_size, batched_ndim, layout):
    """x must have ``batched_ndim`` axes (or one fewer, unbatched) and input_size features."""
    if x.ndim not in (batched_ndim, batched_ndim - 1):
        unbatched = layout.replace("N, ", "")
        raise ValueError(
            f"{layer} expects input of shape ({layout}) or ({unbatched}) unbatched, with "
            f"D_in = {input_size}; got a {x.ndim}-d input of shape {x.shape}"
        )
    if x.shape[-1] != input_size:
        raise ValueError(
            f"{layer} expects input_size {input_size} features in the last axis of the input, "
            f"got {x.shape[-1]} (input shape {x.shape})"
        )


def _check_state(layer, what, state, expected):
    if state.shape != expected:
        raise ValueError(f"{layer}: {what} must have shape {expected}, got {state.shape}")


# ---- cells: one step ----


class _CellBase(Module):
    kind = ""

    def __init__(self, input_size, hidden_size, bias, rng, dtype, device):
        super().__init__()
        name = type(self).__name__
        _positive_int(name, "input_size", input_size)
        _positive_int(name, "hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        rng = init.default_rng(rng)
        gh = _GATES[self.kind] * hidden_size
        bound = 1.0 / math.sqrt(hidden_size)  # PyTorch: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))
        self.weight_ih = _uniform_parameter((gh, input_size), bound, rng, dtype, device)
        self.weight_hh = _uniform_parameter((gh, hidden_size), bound, rng, dtype, device)
        if bias:
            self.bias_ih = _uniform_parameter((gh,), bound, rng, dtype, device)
            self.bias_hh = _uniform_parameter((gh,), bound, rng, dtype, device)
        else:
            self.bias_ih = self.bias_hh = None

    def _prepare(self, x, hx):
        """(x as (N, D_in), list of states as (N, H), batched?) with zero states for None."""
        layer = repr(self)
        x = as_tensor(x, layer)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{layer} expects input of shape (N, {self.input_size}) or ({self.input_size},) "
                f"unbatched, got {x.shape}"
            )
        batched = x.ndim == 2
        if not batched:
            x = x.reshape(1, self.input_size)
        n = x.shape[0]
        count = 2 if self.kind == "LSTM" else 1
        if hx is None:
            states = [_zeros_like_state(x, self.weight_ih, n, self.hidden_size) for _ in range(count)]
        else:
            given = list(hx) if count == 2 else [hx]
            if count == 2 and len(given) != 2:
                raise ValueError(f"{layer}: hx must be a pair (h_0, c_0), got {len(given)} items")
            states = []
            shape = (n, self.hidden_size) if batched else (self.hidden_size,)
            for name, s in zip(("h_0", "c_0"), given):
                s = as_tensor(s, layer)
                _check_state(layer, name, s, shape)
                states.append(s if batched else s.reshape(1, self.hidden_size))
        return x, states, batched

    def _weights(self, n):
        return _LayerWeights(self.kind, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, n)

    def extra_repr(self):
        extra = "" if self.bias_ih is not None else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{extra}"


def _zeros_like_state(x, weight, n, hidden_size):
    xp = backend.namespace(weight.data)
    dtype = x.dtype if backend.is_floating(x.dtype) else weight.dtype
    return Tensor._wrap(xp.zeros((n, hidden_size), dtype=dtype, device=backend.device_of(weight.data)))


def _unbatch(t, batched):
    return t if batched else t.reshape(t.shape[1:])


class RNNCell(_CellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh).

    RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', rng=None,
            dtype='float64', device=None)

    forward(input (N, D_in) or (D_in,), hx (N, H) or None for zeros) -> h' (N, H).
    Parameters weight_ih (H, D_in), weight_hh (H, H), bias_ih, bias_hh (H,), as in PyTorch,
    initialised U(-1/sqrt(H), 1/sqrt(H)) from ``rng``.
    """

    kind = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", rng=None, dtype="float64", device=None):
        self.nonlinearity = _nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, rng, dtype, device)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx)
        w = self._weights(x.shape[0])
        return _unbatch(_rnn_step(w.project(x), h, w, self.nonlinearity), batched)

    def extra_repr(self):
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return super().extra_repr() + extra


class LSTMCell(_CellBase):
    """One step of an LSTM (Hochreiter and Schmidhuber, 1997, with a forget gate):

        [i, f, g, o] = x W_ih^T + b_ih + h W_hh^T + b_hh
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g) ;   h' = sigmoid(o) * tanh(c')

    LSTMCell(input_size, hidden_size, bias=True, rng=None, dtype='float64', device=None)

    forward(input (N, D_in) or (D_in,), hx (h, c) each (N, H), or None for zeros)
    -> (h', c'). weight_ih (4H, D_in) and weight_hh (4H, H) hold the gates in
    PyTorch's order i, f, g, o.
    """

    kind = "LSTM"

    def __init__(self, input_size, hidden_size, bias=True, rng=None, dtype="float64", device=None):
        super().__init__(input_size, hidden_size, bias, rng, dtype, device)

    def forward(self, input, hx=None):
        x, (h, c), batched = self._prepare(input, hx)
        w = self._weights(x.shape[0])
        h, hc = _lstm_step(w.project(x), h, concatenate([h, c], axis=1), w)
        return _unbatch(h, batched), _unbatch(hc[:, self.hidden_size :], batched)


class GRUCell(_CellBase):
    """One step of a gated recurrent unit (Cho et al., 2014), in PyTorch's form:

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) * n + z * h

    GRUCell(input_size, hidden_size, bias=True, rng=None, dtype='float64', device=None)

    forward(input (N, D_in) or (D_in,), hx (N, H) or None) -> h' (N, H); weight_ih
    (3H, D_in) and weight_hh (3H, H) hold the gates in the order r, z, n.
    """

    kind = "GRU"

    def __init__(self, input_size, hidden_size, bias=True, rng=None, dtype="float64", device=None):
        super().__init__(input_size, hidden_size, bias, rng, dtype, device)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx)
        w = self._weights(x.shape[0])
        return _unbatch(_gru_step(w.project(x), h, w), batched)


# ---- sequence layers ----


class _RecurrentBase(Module):
    kind = ""

    def __init__(self, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                 rng, dtype, device):
        super().__init__()
        name = type(self).__name__
        _positive_int(name, "input_size", input_size)
        _positive_int(name, "hidden_size", hidden_size)
        _positive_int(name, "num_layers", num_layers)
        if not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        rng = init.default_rng(rng)
        self._rng = rng  # draws the dropout masks between layers
        gh = _GATES[self.kind] * hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        directions = 2 if bidirectional else 1
        # Set in PyTorch's order, so named_parameters() lists them as torch does.
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                setattr(self, f"weight_ih_l{layer}{suffix}", _uniform_parameter((gh, d_in), bound, rng, dtype, device))
                setattr(self, f"weight_hh_l{layer}{suffix}",
                        _uniform_parameter((gh, hidden_size), bound, rng, dtype, device))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", _uniform_parameter((gh,), bound, rng, dtype, device))
                    setattr(self, f"bias_hh_l{layer}{suffix}", _uniform_parameter((gh,), bound, rng, dtype, device))

    def _layer_weights(self, layer, suffix, n):
        get = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}", None)  # noqa: E731
        return _LayerWeights(self.kind, get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), n)

    def _run(self, input, hx):
        """The shared loop. Returns (output, [final states]) with states (D*num_layers, N, H)."""
        layer_name = repr(self)
        x = as_tensor(input, layer_name)
        layout = "N, L, D_in" if self.batch_first else "L, N, D_in"
        _check_input(layer_name, x, self.input_size, 3, layout)
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])  # (L, 1, D_in)
        time_axis = 1 if (self.batch_first and batched) else 0
        n, steps = x.shape[1 - time_axis], x.shape[time_axis]
        if steps == 0:
            raise ValueError(f"{layer_name}: the input sequence is empty (shape {x.shape})")
        directions = 2 if self.bidirectional else 1
        count = 2 if self.kind == "LSTM" else 1
        states = self._initial_states(layer_name, hx, x, n, directions * self.num_layers, count, batched)

        # The sequence time-major and flat, (L*N, D_in): row block t is step t. Each
        # layer projects all of it at once and steps through the row blocks of that.
        seq = x.permute(1, 0, 2) if time_axis == 1 else x
        seq = seq.reshape(steps * n, seq.shape[2])
        finals = [[] for _ in range(count)]
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                w = self._layer_weights(layer, suffix, n)
                p = w.project(seq)  # (L*N, G*H)
                carried = self._carry([s[layer * directions + d] for s in states])
                order = range(steps) if d == 0 else range(steps - 1, -1, -1)
                hs = [None] * steps
                for t in order:
                    carried = self._step(_rows(p, t * n, (t + 1) * n), carried, w)
                    hs[t] = carried[0]
                outs.append(_apply(Concatenate, *hs, axis=0))  # (L*N, H)
                for k, state in enumerate(self._uncarry(carried)):
                    finals[k].append(state)
            seq = outs[0] if directions == 1 else _apply(Concatenate, *outs, axis=1)  # (L*N, D*H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                seq = Dropout(self.dropout, rng=self._rng)(seq)
        output = seq.reshape(steps, n, seq.shape[1])  # (L, N, D*H)
        if time_axis == 1:
            output = output.permute(1, 0, 2)  # (N, L, D*H)
        finals = [stack(f, axis=0) for f in finals]  # (D*num_layers, N, H)
        if not batched:
            output = output.reshape(steps, output.shape[-1])
            finals = [f.reshape(f.shape[0], f.shape[2]) for f in finals]
        return output, finals

    def _carry(self, states):
        """The initial states of one layer and direction -> what the step function carries."""
        return states

    def _uncarry(self, carried):
        return carried

    def _initial_states(self, layer_name, hx, x, n, layers, count, batched):
        if hx is None:
            zero = _zeros_like_state(x, self.weight_ih_l0, layers * n, self.hidden_size)
            zero = zero.reshape(layers, n, self.hidden_size)
            return [zero] * count
        given = list(hx) if count == 2 else [hx]
        if count == 2 and len(given) != 2:
            raise ValueError(f"{layer_name}: hx must be a pair (h_0, c_0), got {len(given)} items")
        shape = (layers, n, self.hidden_size) if batched else (layers, self.hidden_size)
        states = []
        for name, s in zip(("h_0", "c_0"), given):
            s = as_tensor(s, layer_name)
            _check_state(layer_name, name + " (num_layers * num_directions, N, hidden_size)", s, shape)
            states.append(s if batched else s.reshape(layers, 1, self.hidden_size))
        return states

    def extra_repr(self):
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if not self.bias:
            parts.append("bias=False")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.bidirectional:
            parts.append("bidirectional=True")
        return ", ".join(parts)


class RNN(_RecurrentBase):
    """A multi-layer Elman RNN over a sequence: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
    (or relu), layer k's outputs h_t being layer k+1's inputs x_t.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
        batch_first=False, dropout=0.0, bidirectional=False, rng=None, dtype='float64', device=None)

    forward(input, hx=None) -> (output, h_n)
        input   (L, N, D_in), or (N, L, D_in) with batch_first, or (L, D_in) unbatched
        hx      h_0 (D * num_layers, N, H), zeros if None (D = 2 if bidirectional else 1)
        output  h_t of the last layer at every step: (L, N, D * H) (or (N, L, D * H))
        h_n     the last step's h of every layer: (D * num_layers, N, H)

    dropout: in training mode, dropout on the outputs of every layer but the last
    (masks drawn from ``rng``).
    """

    kind = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, rng=None, dtype="float64", device=None):
        self.nonlinearity = _nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         rng, dtype, device)

    def _step(self, x, carried, w):
        return [_rnn_step(x, carried[0], w, self.nonlinearity)]

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, hx)
        return output, h_n

    def extra_repr(self):
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return super().extra_repr() + extra


class LSTM(_RecurrentBase):
    """A multi-layer LSTM over a sequence (the equations of ``LSTMCell`` at every step).

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
         bidirectional=False, proj_size=0, rng=None, dtype='float64', device=None)

    forward(input, hx=None) -> (output, (h_n, c_n))
        input   (L, N, D_in), or (N, L, D_in) with batch_first, or (L, D_in) unbatched
        hx      (h_0, c_0), each (D * num_layers, N, H); zeros if None
        output  h_t of the last layer at every step: (L, N, D * H) (or (N, L, D * H))
        h_n, c_n  the last step's h and c of every layer: (D * num_layers, N, H)

    Gates in weight_ih_l{k} (4H, D_in) and weight_hh_l{k} (4H, H) are in PyTorch's
    order i, f, g, o. ``proj_size`` (LSTM with projections) is not supported.
    """

    kind = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, rng=None, dtype="float64", device=None):
        if proj_size:
            raise NotImplementedError("LSTM: proj_size (LSTM with projections) is not supported")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         rng, dtype, device)

    def _carry(self, states):
        h, c = states
        return [h, concatenate([h, c], axis=1)]  # the step carries [h, c] as one (N, 2H) state

    def _uncarry(self, carried):
        h, hc = carried
        return [h, hc[:, self.hidden_size :]]

    def _step(self, x, carried, w):
        return list(_lstm_step(x, carried[0], carried[1], w))

    def forward(self, input, hx=None):
        output, (h_n, c_n) = self._run(input, hx)
        return output, (h_n, c_n)


class GRU(_RecurrentBase):
    """A multi-layer GRU over a sequence (the equations of ``GRUCell`` at every step).

    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, rng=None, dtype='float64', device=None)

    forward(input, hx=None) -> (output, h_n), shapes as for ``RNN``. Gates in
    weight_ih_l{k} (3H, D_in) and weight_hh_l{k} (3H, H) are in the order r, z, n.
    """

    kind = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, rng=None, dtype="float64", device=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         rng, dtype, device)

    def _step(self, x, carried, w):
        return [_gru_step(x, carried[0], w)]

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, hx)
        return output, h_n

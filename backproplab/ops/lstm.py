"""The elementwise part of one LSTM step as one primitive (the gates' matmuls stay MatMuls).

Composed from primitives, this part of a step is a dozen ops (the gates' sum, a
sigmoid, four slices, two tanh, three products, a sum), each with its own
Python call in the forward and the backward; over 50 steps that overhead costs
more than the arithmetic. As one op it is one call each way. The recurrence is
untouched: each step is still a node of the unrolled graph, and backpropagation
through time is still the engine walking it. ``nn.recurrent`` keeps the composed
form as the reference this op is tested against. The gates come in two parts, the
input's and the state's, as in PyTorch's fused cell (``_thnn_fused_lstm_cell``).
"""

from ..autodiff import Function
from ..backend import namespace


class LSTMPointwise(Function):
    """The input's and the state's parts of the gates, P and Q (N, 4H), in PyTorch's
    order [i, f, g, o], and the carried state S (N, 2H) = [h, c] -> the new state
    [h', c'] (N, 2H). With A = P + Q:

        i = sigmoid(a_i),  f = sigmoid(a_f),  g = tanh(a_g),  o = sigmoid(a_o)
        c' = f * c + i * g ;   h' = o * tanh(c')

    Backward, with dh', dc' the two halves of the upstream gradient:

        dc'_total = dc' + dh' * o * (1 - tanh^2 c')
        da_o = dh' * tanh(c') * o (1 - o)          da_g = dc'_total * i * (1 - g^2)
        da_i = dc'_total * g * i (1 - i)           da_f = dc'_total * c * f (1 - f)
        dP = dQ = dA ;   dS = [0, dc'_total * f]   (h enters a step only through Q)
    """

    def forward(self, input_gates, hidden_gates, state):
        xp = namespace(input_gates, hidden_gates, state)
        H = state.shape[1] // 2
        gates = input_gates + hidden_gates
        s = 0.5 + 0.5 * xp.tanh(0.5 * gates)  # sigmoid(a) = (1 + tanh(a/2)) / 2: one pass, never overflows
        i, f, o = s[:, :H], s[:, H : 2 * H], s[:, 3 * H :]
        g = xp.tanh(gates[:, 2 * H : 3 * H])
        c_prev = state[:, H:]
        c = f * c_prev + i * g
        tc = xp.tanh(c)
        self.i, self.f, self.g, self.o, self.c_prev, self.tc = i, f, g, o, c_prev, tc
        return xp.concat([o * tc, c], axis=1)

    def backward(self, grad):
        xp = namespace(grad)
        H = grad.shape[1] // 2
        dh, dc = grad[:, :H], grad[:, H:]
        i, f, g, o, tc = self.i, self.f, self.g, self.o, self.tc
        dc = dc + dh * o * (1 - tc * tc)
        d_gates = d_state = None
        if self.needs_input_grad[0] or self.needs_input_grad[1]:
            d_gates = xp.concat(
                [dc * g * i * (1 - i), dc * self.c_prev * f * (1 - f), dc * i * (1 - g * g), dh * tc * o * (1 - o)],
                axis=1,
            )
        if self.needs_input_grad[2]:
            d_state = xp.concat([xp.zeros_like(dh), dc * f], axis=1)
        return d_gates, d_gates, d_state

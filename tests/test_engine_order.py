"""The reverse walk's order: a tensor's backward runs once every op that used it
has sent its gradient, and ops written before that order keep their meaning."""

import numpy as np

from backproplab import Tensor
from backproplab.autodiff import Function
from backproplab.tensor import _apply


class _FirstOnly(Function):
    """An op whose backward returns a gradient for its first input only."""

    def forward(self, a, b):
        return a * 2.0 + b

    def backward(self, g):
        return (g * 2.0,)


def test_a_backward_with_fewer_gradients_than_inputs_pairs_them_from_the_first():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    _apply(_FirstOnly, a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])
    assert b.grad is None


class _Recorder(Function):
    """y = x; records when its backward runs."""

    log = []

    def forward(self, x, name):
        self.name = name
        return x

    def backward(self, g):
        _Recorder.log.append(self.name)
        return (g,)


def test_a_tensor_waits_for_all_its_users():
    # h is used by two branches of different lengths; its backward must come after both
    _Recorder.log = []
    x = Tensor([1.0], requires_grad=True)
    h = _apply(_Recorder, x, name="h")
    long = _apply(_Recorder, _apply(_Recorder, h, name="long1"), name="long2")
    short = _apply(_Recorder, h, name="short")
    (long + short * 3.0).sum().backward()
    assert _Recorder.log.index("h") == 3
    assert set(_Recorder.log[:3]) == {"long1", "long2", "short"}
    assert x.grad[0] == 4.0

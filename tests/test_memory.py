"""Memory accounting: what a graph holds for backward, in total, per op and per
module, and a tracemalloc peak."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, memory, nn


def _model(depth=3, width=8, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, rng=rng), nn.Tanh()]
    return nn.Sequential(*layers)


def test_saved_bytes_grow_linearly_with_depth_and_batch(xp):
    for depth in (1, 2, 4):
        for batch in (3, 6):
            model = _model(depth)
            if xp.name != "numpy":
                model.to(xp.device)
            x = Tensor(xp.asarray(np.ones((batch, 8))))
            # per block: x @ W, + b and tanh, each (batch, 8); and the loss. Arrays
            # without .base (array-api-strict) cannot show that the broadcast b is a view.
            blocks = 3 if xp.name == "numpy" else 4
            assert memory.saved_bytes(model(x).sum()) == blocks * depth * batch * 8 * 8 + 8


def test_per_op_and_per_type():
    w = Tensor(np.ones((4, 5)), requires_grad=True)
    x = Tensor(np.ones((3, 4)))
    y = (x @ w).exp() * 2.0
    rows = memory.saved_bytes_by_op(y)
    assert [type(c).__name__ for c, _ in rows] == ["MatMul", "Exp", "Mul"]
    # each op's (3, 5) output; MatMul also keeps x and w, Mul the constant 2.0:
    # leaves, which exist without the graph
    assert [size for _, size in rows] == [120, 120, 120]
    assert memory.saved_bytes(y, include_leaves=True) == 3 * 120 + (12 + 20) * 8 + 8
    assert memory.saved_bytes_by_type(y) == {"MatMul": 120, "Exp": 120, "Mul": 120}


def test_a_view_is_charged_to_the_array_it_looks_into():
    b = Tensor(np.ones(5), requires_grad=True)
    h = Tensor(np.ones((1000, 5)), requires_grad=True) * 1.0  # 40 kB, not a leaf
    y = h * b  # b is broadcast to (1000, 5): a view that looks into 40 bytes
    assert memory.saved_bytes(y) == 2 * 40_000  # h and y; b is a leaf
    # with the leaves: also b's 40 bytes (not 40 kB), the first product's input and 1.0
    assert memory.saved_bytes(y, include_leaves=True) == 2 * 40_000 + 40 + 40_000 + 8


def test_per_module_charges_the_innermost_module():
    model = _model(2)
    x = Tensor(np.ones((3, 8)))
    rows = memory.saved_bytes_by_module(model, x)
    # Linear: x @ W and + b; Tanh: its output
    assert rows == {"0": 2 * 3 * 8 * 8, "1": 3 * 8 * 8, "2": 2 * 3 * 8 * 8, "3": 3 * 8 * 8, "": 0}
    assert sum(rows.values()) == memory.saved_bytes(model(x))


def test_released_graph_cannot_be_counted():
    w = Tensor(np.ones(3), requires_grad=True)
    y = (w * w).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already backpropagated"):
        memory.saved_bytes(y)


def test_peak_bytes_sees_numpy_allocations():
    result, peak = memory.peak_bytes(lambda n: np.ones(n).sum(), 1_000_000)
    assert result == 1_000_000.0
    assert 8_000_000 <= peak < 9_000_000
    _, small = memory.peak_bytes(lambda: np.ones(10))
    assert small < 10_000


def test_backward_frees_the_graph_as_it_goes():
    # Each tensor's backward runs once all its users are done and the graph is let go
    # op by op, so a training step needs little beyond what the graph holds (65% more
    # when weight gradients waited for the end of the pass).
    model = _model(depth=16, width=64)
    x = Tensor(np.ones((64, 64)))
    model(x).sum().backward()  # warm-up: first calls allocate caches of their own
    held = memory.saved_bytes(model(x).sum())
    model.zero_grad()
    _, peak = memory.peak_bytes(lambda: model(x).sum().backward())
    assert peak < 1.2 * held

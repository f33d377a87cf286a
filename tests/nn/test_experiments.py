"""Fast versions of the benchmarks' experiments (benchmarks/bench_mirror.py)."""

import importlib.util
import pathlib

import numpy as np

from backproplab import Tensor, nn, optim
from backproplab.data import mirror_symmetry

_PATH = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_mirror.py"
_spec = importlib.util.spec_from_file_location("bench_mirror", _PATH)
bench_mirror = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_mirror)


def test_library_sweeps_equal_the_papers_equations_by_hand():
    """Three sweeps of eq. 9 with the summed error, written in NumPy, against
    nn.Linear + Sigmoid + sum_squared_error + SGD(momentum)."""
    X, d = mirror_symmetry()
    net = bench_mirror.make_net(3)
    W1, b1, W2, b2 = [p.numpy().copy() for p in net.parameters()]
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    dw_prev = [np.zeros_like(a) for a in (W1, b1, W2, b2)]
    for _ in range(3):
        h = sig(X @ W1 + b1)
        y = sig(h @ W2 + b2)
        dx2 = (y - d) * y * (1 - y)        # dE/d(net input) of the output unit
        dx1 = (dx2 @ W2.T) * h * (1 - h)   # back through W2 and the hidden sigmoid
        grads = [X.T @ dx1, dx1.sum(0), h.T @ dx2, dx2.sum(0)]
        for i, (p, g) in enumerate(zip((W1, b1, W2, b2), grads)):
            dw_prev[i] = -0.1 * g + 0.9 * dw_prev[i]  # dw(t) = -eps dE/dw + alpha dw(t-1)
            p += dw_prev[i]
        opt.zero_grad()
        nn.functional.sum_squared_error(net(Tensor(X)), d).backward()
        opt.step()
    for mine, ref in zip(net.parameters(), (W1, b1, W2, b2)):
        np.testing.assert_allclose(mine.numpy(), ref, rtol=1e-12, atol=1e-15)


def test_mirror_symmetry_learns_the_1_2_4_antisymmetric_pattern():
    """Two seeds that learn quickly (the full benchmark runs 20)."""
    for seed in (7, 8):
        learned, net, _ = bench_mirror.train_mirror(seed, max_sweeps=3000)
        assert all(v is not None for v in learned.values()), (seed, learned)
        assert learned[0.5] <= learned[0.2] <= learned[0.1]
        assert learned[0.5] > 100  # not trivially easy at lr 0.1
        ratios, anti = bench_mirror.mirror_weight_pattern(net[0].weight.numpy())
        np.testing.assert_allclose(ratios, [[1, 2, 4]] * 2, rtol=0.1)
        assert (anti < 0.05).all()


def test_mirror_weight_pattern_on_a_known_matrix():
    w = np.array([[1.0, -3.0], [2.0, -6.0], [4.0, 12.0], [-4.0, -12.0], [-2.0, 6.0], [-1.0, 3.0]])
    ratios, anti = bench_mirror.mirror_weight_pattern(w)
    np.testing.assert_allclose(ratios, [[1, 2, 4], [1, 2, 4]])
    np.testing.assert_allclose(anti, [0, 0])
    w[5, 0] = -0.5  # pair (1, 6) of unit 0 no longer opposite: |1 - 0.5| / 4
    assert bench_mirror.mirror_weight_pattern(w)[1][0] == 0.125

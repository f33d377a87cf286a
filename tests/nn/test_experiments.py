"""The layers and optimizer reproduce the 1986 paper's equations by hand."""

import numpy as np

from backproplab import Tensor, nn, optim
from backproplab.data import mirror_symmetry


def test_library_sweeps_equal_the_papers_equations_by_hand():
    """Three sweeps of eq. 9 with the summed error, written in NumPy, against
    nn.Linear + Sigmoid + sum_squared_error + SGD(momentum)."""
    X, d = mirror_symmetry()
    rng = np.random.default_rng(3)
    net = nn.Sequential(nn.Linear(6, 2, rng=rng), nn.Sigmoid(), nn.Linear(2, 1, rng=rng), nn.Sigmoid())
    for p in net.parameters():
        nn.init.uniform_(p, -0.3, 0.3, rng=rng)
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

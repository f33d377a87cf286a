"""L-BFGS against torch.optim.LBFGS on the Rosenbrock function: same settings, same iterates."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, optim


def rosenbrock(xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _run_bp(start, steps, **kw):
    p = Tensor(np.array(start), requires_grad=True)
    opt = optim.LBFGS([p], **kw)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        return loss

    path = []
    for _ in range(steps):
        opt.step(closure)
        path.append(p.numpy().copy())
    return np.array(path), opt


def _run_torch(torch, start, steps, **kw):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], **kw)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        return loss

    path = []
    for _ in range(steps):
        opt.step(closure)
        path.append(p.detach().numpy().copy())
    return np.array(path), opt


SETTINGS = [
    dict(lr=1, max_iter=20, line_search_fn="strong_wolfe"),
    dict(lr=1, max_iter=5, history_size=3, line_search_fn="strong_wolfe"),
    dict(lr=0.1, max_iter=10, history_size=10),
    dict(lr=1, max_iter=50, tolerance_grad=1e-5, tolerance_change=1e-6, line_search_fn="strong_wolfe"),
]


@pytest.mark.parametrize("kw", SETTINGS, ids=[str(i) for i in range(len(SETTINGS))])
def test_same_iterates_as_torch_on_rosenbrock(kw):
    torch = pytest.importorskip("torch")
    start = [-1.5, 2.0]
    ours, opt = _run_bp(start, 6, **kw)
    theirs, topt = _run_torch(torch, start, 6, **kw)
    # Rosenbrock's valley amplifies rounding (PyTorch's fused p += t d, for one): after
    # 6 steps of up to 50 iterations the paths agree to about 1e-8 relative
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    state = topt.state[topt.param_groups[0]["params"][0]]
    assert opt._lbfgs["func_evals"] == state["func_evals"]
    assert opt._lbfgs["n_iter"] == state["n_iter"]


def test_strong_wolfe_finds_the_minimum():
    path, opt = _run_bp([-1.5, 2.0], 5, lr=1, max_iter=20, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-5)  # stops on tolerance_change
    # without a line search and lr=1 the same budget does not get there
    path, _ = _run_bp([-1.5, 2.0], 1, lr=0.1, max_iter=20)
    assert np.abs(path[-1] - 1).max() > 1e-3


def test_lbfgs_fits_a_least_squares_problem_in_a_few_iterations(xp):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 5))
    b = rng.standard_normal(20)
    w = Tensor(xp.asarray(np.zeros(5)), requires_grad=True)
    At, bt = Tensor(xp.asarray(A)), Tensor(xp.asarray(b))
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe", max_iter=50)

    def closure():
        opt.zero_grad()
        loss = ((At @ w - bt) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(bp.backend.to_numpy(w.data), np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-5)


def test_lbfgs_argument_errors():
    p = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe', got 'armijo'"):
        optim.LBFGS([p], line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size must be a positive integer"):
        optim.LBFGS([p], history_size=0)
    with pytest.raises(TypeError, match="LBFGS.step needs a closure"):
        optim.LBFGS([p]).step()

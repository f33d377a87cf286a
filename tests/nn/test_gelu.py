"""erf and GELU: the array-API erf against math.erf and SciPy (its measured error), its
gradient, the exact and tanh forms of GELU, and every backend (``xp`` fixture)."""

import math

import numpy as np
import pytest

from backproplab import Tensor, gradcheck, nn
from backproplab.nn.activation import erf, erf_array

# Points where erf changes fastest, the switch between the two expansions (|x| = 1.5),
# the region where erf rounds to +-1 (|x| > 6), and tiny arguments.
GRID = np.concatenate([np.linspace(-7.0, 7.0, 200_001), np.geomspace(1e-300, 1.0, 2_001),
                       [1.5, np.nextafter(1.5, 0), -1.5, 0.0, -0.0]])
REFERENCE = np.array([math.erf(v) for v in GRID])


def test_erf_max_error_against_math_erf():
    got = erf_array(GRID)
    absolute = np.abs(got - REFERENCE)
    ulps = absolute / np.spacing(np.maximum(np.abs(REFERENCE), np.finfo(float).tiny))
    # measured: 5.6e-16 absolute and 5 ulp (near |x| = 1.49); the docstring states it
    assert absolute.max() <= 6e-16, (absolute.max(), GRID[absolute.argmax()])
    assert ulps.max() <= 6, (ulps.max(), GRID[ulps.argmax()])


def test_erf_matches_scipy():
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(erf_array(GRID), special.erf(GRID), rtol=0, atol=6e-16)


def test_erf_special_values():
    x = np.array([0.0, -0.0, 10.0, 1e300, np.inf, -np.inf, np.nan])
    got = erf_array(x)
    np.testing.assert_array_equal(got[:6], [0.0, 0.0, 1.0, 1.0, 1.0, -1.0])
    assert np.isnan(got[6])
    assert erf_array(-GRID[:5]).tolist() == (-erf_array(GRID[:5])).tolist()  # odd


def test_erf_float32_keeps_its_dtype():
    x = np.linspace(-4, 4, 1001, dtype=np.float32)
    got = erf_array(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [math.erf(v) for v in x.astype(float)], atol=5e-7)


def test_erf_gradient_is_two_over_sqrt_pi_exp():
    x = np.linspace(-4, 4, 41)
    t = Tensor(x, requires_grad=True)
    erf(t).sum().backward()
    np.testing.assert_allclose(t.grad, 2 / math.sqrt(math.pi) * np.exp(-x**2), rtol=1e-15)
    assert gradcheck(erf, Tensor(np.random.default_rng(0).standard_normal((4, 5)) * 2,
                                 requires_grad=True))


def test_gelu_default_is_the_exact_erf_form():
    x = np.linspace(-6, 6, 1201)
    exact = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    np.testing.assert_allclose(nn.GELU()(Tensor(x)).numpy(), exact, rtol=0, atol=2e-15)
    tanh_form = nn.GELU(approximate="tanh")(Tensor(x)).numpy()
    # the tanh form differs from the exact one by at most 4.8e-4 (near |x| = 2.7)
    assert 4e-4 < np.abs(tanh_form - exact).max() < 5e-4
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_and_slope(approximate):
    x = Tensor(np.random.default_rng(1).standard_normal((5, 4)) * 2, requires_grad=True)
    assert gradcheck(nn.GELU(approximate=approximate), x)
    if approximate == "none":  # f'(x) = Phi(x) + x phi(x)
        z = np.linspace(-3, 3, 13)
        t = Tensor(z, requires_grad=True)
        nn.GELU()(t).sum().backward()
        phi = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi)
        Phi = 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in z]))
        np.testing.assert_allclose(t.grad, Phi + z * phi, rtol=1e-13, atol=1e-15)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU(approximate="erf")


def test_erf_and_gelu_on_every_backend(xp):
    x = np.linspace(-5, 5, 101)
    t = Tensor(xp.asarray(x), requires_grad=True)
    out = nn.GELU()(t)
    assert type(out.data) is type(t.data)
    out.sum().backward()
    assert type(t.grad) is type(t.data)
    reference = nn.GELU()(Tensor(x))
    np.testing.assert_allclose(out.numpy(), reference.numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(Tensor(erf_array(xp.asarray(x))).numpy(), erf_array(x), atol=0)

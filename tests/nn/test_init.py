"""Initialisers: the variances they promise, seeded reproducibility, bad input."""

import math

import numpy as np
import pytest

from backproplab import backend, nn
from backproplab.nn import init


def weight(shape=(400, 300), dtype="float64"):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


# name -> (initialise(w, rng), expected std for a (400, 300) weight, expected mean)
FAN_IN, FAN_OUT = 400, 300
CASES = {
    "normal": (lambda w, r: init.normal_(w, 0.5, 2.0, rng=r), 2.0, 0.5),
    "uniform": (lambda w, r: init.uniform_(w, -1.0, 3.0, rng=r), 4 / math.sqrt(12), 1.0),
    "xavier_uniform": (lambda w, r: init.xavier_uniform_(w, rng=r), math.sqrt(2 / (FAN_IN + FAN_OUT)), 0.0),
    "xavier_normal": (lambda w, r: init.xavier_normal_(w, gain=2.0, rng=r), 2 * math.sqrt(2 / (FAN_IN + FAN_OUT)), 0.0),
    "kaiming_uniform": (lambda w, r: init.kaiming_uniform_(w, rng=r), math.sqrt(2 / FAN_IN), 0.0),
    "kaiming_normal": (lambda w, r: init.kaiming_normal_(w, rng=r), math.sqrt(2 / FAN_IN), 0.0),
    "kaiming_normal_fan_out_tanh": (lambda w, r: init.kaiming_normal_(w, mode="fan_out", nonlinearity="tanh", rng=r),
                                    (5 / 3) / math.sqrt(FAN_OUT), 0.0),
    "lecun_normal": (lambda w, r: init.lecun_normal_(w, rng=r), 1 / math.sqrt(FAN_IN), 0.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_initialiser_statistics_and_seeding(name):
    fill, std, mean = CASES[name]
    w = weight()
    assert fill(w, np.random.default_rng(0)) is w
    values = w.numpy()
    # 120,000 samples: the sample std is within ~0.5% of the true one
    assert abs(values.std() - std) < 0.01 * std
    assert abs(values.mean() - mean) < 0.02 * std + 1e-12
    again = weight()
    fill(again, np.random.default_rng(0))
    np.testing.assert_array_equal(values, again.numpy())
    other = weight()
    fill(other, np.random.default_rng(1))
    assert not np.array_equal(values, other.numpy())


def test_uniform_bounds_and_constant_and_zeros():
    w = weight((50, 40))
    init.kaiming_uniform_(w, rng=np.random.default_rng(0))
    bound = math.sqrt(6 / 50)  # sqrt(3) * sqrt(2) / sqrt(fan_in)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.95 * bound
    init.constant_(w, 0.25)
    assert (w.numpy() == 0.25).all()
    init.zeros_(w)
    assert (w.numpy() == 0).all()


def test_fans_follow_the_in_out_layout_and_gains():
    assert init.fans((784, 128)) == (784, 128)
    # a convolution's (C_out, C_in / groups, kH, kW), as torch.nn.init computes it
    assert init.fans((16, 3, 5, 5)) == (3 * 25, 16 * 25)
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="at least 2 axes, got shape \\(5,\\)"):
        init.xavier_uniform_(nn.Parameter(np.zeros(5)), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_an_explicit_generator_is_required():
    with pytest.raises(TypeError):
        init.normal_(weight(), 0.0, 1.0)  # rng is a required keyword
    with pytest.raises(TypeError, match="expected a random generator"):
        init.normal_(weight(), 0.0, 1.0, rng=42)


def test_keeps_dtype_and_backend(xp):
    w = nn.Parameter(xp.asarray(np.zeros((6, 4), dtype=np.float32)))
    rng = backend.random_generator(0, "cuda") if xp.name == "cupy" else np.random.default_rng(0)
    init.xavier_normal_(w, rng=rng)
    assert type(w.data) is type(xp.asarray(np.zeros(1))) and backend._dtype_name(w.dtype) == "float32"
    assert np.abs(w.numpy()).max() > 0

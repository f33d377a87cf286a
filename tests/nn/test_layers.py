"""One table drives the layer checks: each row builds a layer, an input and a NumPy
reference of the forward pass; every row is checked for forward values, for
gradients (gradcheck in float64, with respect to the input and every parameter)
and on every array backend."""

import math

import numpy as np
import pytest

from backproplab import Tensor, nn

from nn_helpers import module_gradcheck, rng


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _linear_ref(m, x):
    return x @ m.weight.numpy() + m.bias.numpy()


def _x(shape, seed=1, shift=0.0):
    # Inputs kept away from the kink of ReLU-like functions (|x| > 0.05), where central
    # differences straddle two slopes.
    x = rng(seed).standard_normal(shape) + shift
    return np.where(np.abs(x) < 0.05, 0.3, x)


# name -> (make layer, make input array, reference(layer, x) -> array)
LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3, rng=rng(0)), lambda: _x((5, 4)), _linear_ref),
    "Linear-no-bias": (lambda: nn.Linear(4, 3, bias=False, rng=rng(0)), lambda: _x((5, 4)),
                       lambda m, x: x @ m.weight.numpy()),
    "Linear-3d-batch": (lambda: nn.Linear(4, 2, rng=rng(0)), lambda: _x((2, 3, 4)), _linear_ref),
    "Identity": (nn.Identity, lambda: _x((3, 4)), lambda m, x: x),
    "Sigmoid": (nn.Sigmoid, lambda: _x((4, 5)) * 3, lambda m, x: _sigmoid(x)),
    "Tanh": (nn.Tanh, lambda: _x((4, 5)) * 2, lambda m, x: np.tanh(x)),
    "ReLU": (nn.ReLU, lambda: _x((4, 5)), lambda m, x: np.maximum(x, 0)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda: _x((4, 5)), lambda m, x: np.where(x > 0, x, 0.2 * x)),
    "GELU": (nn.GELU, lambda: _x((4, 5)) * 2, lambda m, x: _gelu_tanh(x)),
    "Softmax": (nn.Softmax, lambda: _x((4, 5)) * 3, lambda m, x: _softmax(x)),
    "Softmax-axis0": (lambda: nn.Softmax(axis=0), lambda: _x((4, 5)), lambda m, x: _softmax(x, 0)),
    "LogSoftmax": (nn.LogSoftmax, lambda: _x((4, 5)) * 3, lambda m, x: np.log(_softmax(x))),
    "Sequential-MLP": (
        lambda: nn.Sequential(nn.Linear(4, 6, rng=rng(0)), nn.Tanh(), nn.Linear(6, 2, rng=rng(1))),
        lambda: _x((5, 4)),
        lambda m, x: np.tanh(_linear_ref(m[0], x)) @ m[2].weight.numpy() + m[2].bias.numpy(),
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_forward_matches_reference(name):
    make, make_x, ref = LAYERS[name]
    layer, x = make(), make_x()
    out = layer(Tensor(x))
    np.testing.assert_allclose(out.numpy(), ref(layer, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradcheck(name):
    make, make_x, _ = LAYERS[name]
    layer = make()
    assert module_gradcheck(layer, Tensor(make_x(), requires_grad=True))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_runs_on_every_backend(name, xp):
    """Forward and backward on the backend's arrays: results stay on its library and
    device and agree with NumPy."""
    make, make_x, _ = LAYERS[name]
    layer, x = make(), make_x()
    expected = layer(Tensor(x)).numpy()
    if xp.name == "cupy":
        layer.to("cuda")
    else:
        _move(layer, xp)
    t = Tensor(xp.asarray(x), requires_grad=True)
    out = layer(t)
    assert type(out.data) is type(t.data)
    out.sum().backward()
    assert type(t.grad) is type(t.data)
    for p in layer.parameters():
        assert type(p.grad) is type(t.data)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def _move(layer, xp):
    # array-api-strict's devices have no 'cpu'/'cuda' name: move each tensor's array.
    for _, t in list(layer.named_parameters()) + list(layer.named_buffers()):
        t.data = xp.asarray(t.numpy())


def test_linear_says_which_sizes_disagree():
    with pytest.raises(ValueError) as err:
        nn.Linear(784, 128, rng=rng())(Tensor(np.zeros((32, 100))))
    assert str(err.value) == "Linear(784, 128) expects 784 input features, got 100 (input shape (32, 100))"
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Linear(0, 3)


def test_linear_weight_layout_and_default_init():
    lin = nn.Linear(16, 5, rng=rng(3))
    assert lin.weight.shape == (16, 5) and lin.bias.shape == (5,)
    assert np.abs(lin.weight.numpy()).max() <= 1 / 4
    again = nn.Linear(16, 5, rng=rng(3))
    np.testing.assert_array_equal(lin.weight.numpy(), again.weight.numpy())  # seeded


def test_layers_match_pytorch():
    torch = pytest.importorskip("torch")
    x = _x((6, 5)) * 2
    tx = torch.tensor(x)
    pairs = [
        (nn.GELU(), torch.nn.GELU(approximate="tanh")),
        (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
        (nn.Softmax(), torch.nn.Softmax(dim=-1)),
        (nn.LogSoftmax(), torch.nn.LogSoftmax(dim=-1)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(Tensor(x)).numpy(), theirs(tx).numpy(), rtol=1e-12, atol=1e-12)
    lin = nn.Linear(5, 3, rng=rng(0))
    tl = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(lin.weight.numpy().T))  # PyTorch stores (out, in)
        tl.bias.copy_(torch.tensor(lin.bias.numpy()))
    np.testing.assert_allclose(lin(Tensor(x)).numpy(), tl(tx).detach().numpy(), rtol=1e-12)

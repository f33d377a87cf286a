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


def _gelu_erf(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _linear_ref(m, x):
    return x @ m.weight.numpy() + m.bias.numpy()


def _x(shape, seed=1, shift=0.0):
    # Inputs kept away from the kink of ReLU-like functions (|x| > 0.05), where central
    # differences straddle two slopes.
    x = rng(seed).standard_normal(shape) + shift
    return np.where(np.abs(x) < 0.05, 0.3, x)


def _bn_train_ref(m, x):
    mu, var = x.mean(0), x.var(0)
    return m.weight.numpy() * (x - mu) / np.sqrt(var + m.eps) + m.bias.numpy()


def _bn_eval():
    bn = nn.BatchNorm1d(3)
    bn.weight.data = np.array([1.5, -0.5, 2.0])
    bn.bias.data = np.array([0.1, 0.2, -0.3])
    bn.running_mean.data = np.array([0.5, -1.0, 0.0])
    bn.running_var.data = np.array([2.0, 0.5, 1.0])
    return bn.eval()


def _bn_eval_ref(m, x):
    return m.weight.numpy() * (x - [0.5, -1.0, 0.0]) / np.sqrt(np.array([2.0, 0.5, 1.0]) + m.eps) + m.bias.numpy()


def _ln_ref(m, x):
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return m.weight.numpy() * (x - mu) / np.sqrt(var + m.eps) + m.bias.numpy()


def _affine(bn_or_ln, seed):
    # non-trivial gamma and beta, so their gradients are checked at a generic point
    r = rng(seed)
    bn_or_ln.weight.data = 1 + 0.5 * r.standard_normal(bn_or_ln.weight.shape)
    bn_or_ln.bias.data = 0.5 * r.standard_normal(bn_or_ln.bias.shape)
    return bn_or_ln


def _reseed_dropout(m):
    m.rng = rng(7)


def _dropout_ref(m, x):
    keep = rng(7).random(x.shape) >= m.p
    return x * keep / (1 - m.p)


class Row:
    """make() -> layer; x() -> input array; ref(layer, x) -> expected output.
    reset(layer) runs before every forward (dropout: same mask); indices: integer input."""

    def __init__(self, make, x, ref, reset=None, indices=False):
        self.make, self.x, self.ref, self.reset, self.indices = make, x, ref, reset, indices


LAYERS = {
    "Linear": Row(lambda: nn.Linear(4, 3, rng=rng(0)), lambda: _x((5, 4)), _linear_ref),
    "Linear-no-bias": Row(lambda: nn.Linear(4, 3, bias=False, rng=rng(0)), lambda: _x((5, 4)),
                          lambda m, x: x @ m.weight.numpy()),
    "Linear-3d-batch": Row(lambda: nn.Linear(4, 2, rng=rng(0)), lambda: _x((2, 3, 4)), _linear_ref),
    "Identity": Row(nn.Identity, lambda: _x((3, 4)), lambda m, x: x),
    "Sigmoid": Row(nn.Sigmoid, lambda: _x((4, 5)) * 3, lambda m, x: _sigmoid(x)),
    "Tanh": Row(nn.Tanh, lambda: _x((4, 5)) * 2, lambda m, x: np.tanh(x)),
    "ReLU": Row(nn.ReLU, lambda: _x((4, 5)), lambda m, x: np.maximum(x, 0)),
    "LeakyReLU": Row(lambda: nn.LeakyReLU(0.2), lambda: _x((4, 5)), lambda m, x: np.where(x > 0, x, 0.2 * x)),
    "GELU": Row(nn.GELU, lambda: _x((4, 5)) * 2, lambda m, x: _gelu_erf(x)),
    "GELU-tanh": Row(lambda: nn.GELU(approximate="tanh"), lambda: _x((4, 5)) * 2,
                     lambda m, x: _gelu_tanh(x)),
    "Softmax": Row(nn.Softmax, lambda: _x((4, 5)) * 3, lambda m, x: _softmax(x)),
    "Softmax-axis0": Row(lambda: nn.Softmax(axis=0), lambda: _x((4, 5)), lambda m, x: _softmax(x, 0)),
    "LogSoftmax": Row(nn.LogSoftmax, lambda: _x((4, 5)) * 3, lambda m, x: np.log(_softmax(x))),
    "BatchNorm1d-train": Row(lambda: _affine(nn.BatchNorm1d(3), 5), lambda: _x((6, 3), shift=1.0), _bn_train_ref),
    "BatchNorm1d-eval": Row(_bn_eval, lambda: _x((6, 3)), _bn_eval_ref),
    "LayerNorm": Row(lambda: _affine(nn.LayerNorm(5), 6), lambda: _x((4, 5), shift=2.0), _ln_ref),
    "Dropout-fixed-mask": Row(lambda: nn.Dropout(0.4, rng=rng(7)), lambda: _x((6, 5)), _dropout_ref,
                              reset=_reseed_dropout),
    "Dropout-eval": Row(lambda: nn.Dropout(0.4, rng=rng(7)).eval(), lambda: _x((6, 5)), lambda m, x: x),
    "Embedding": Row(lambda: nn.Embedding(5, 3, rng=rng(0)), lambda: np.array([[0, 4, 4], [2, 0, 1]]),
                     lambda m, i: m.weight.numpy()[i], indices=True),
    "Residual": Row(lambda: nn.Residual(nn.Sequential(nn.Linear(4, 4, rng=rng(0)), nn.Tanh())),
                    lambda: _x((5, 4)), lambda m, x: x + np.tanh(_linear_ref(m.module[0], x))),
    "ResidualBlock": Row(lambda: nn.ResidualBlock(4, activation=nn.Tanh(), hidden=6, rng=rng(0)),
                         lambda: _x((5, 4)),
                         lambda m, x: x + _linear_ref(m.fc2, np.tanh(_linear_ref(m.fc1, x)))),
    "Sequential-MLP": Row(
        lambda: nn.Sequential(nn.Linear(4, 6, rng=rng(0)), nn.Tanh(), nn.Linear(6, 2, rng=rng(1))),
        lambda: _x((5, 4)),
        lambda m, x: np.tanh(_linear_ref(m[0], x)) @ m[2].weight.numpy() + m[2].bias.numpy(),
    ),
}


def _run(row, layer, x):
    if row.reset:
        row.reset(layer)
    return layer(x)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_forward_matches_reference(name):
    row = LAYERS[name]
    layer, x = row.make(), row.x()
    out = _run(row, layer, Tensor(x))
    np.testing.assert_allclose(out.numpy(), row.ref(layer, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradcheck(name):
    row = LAYERS[name]
    layer = row.make()
    x = Tensor(row.x(), requires_grad=not row.indices)
    reset = (lambda: row.reset(layer)) if row.reset else None
    assert module_gradcheck(layer, x, reset=reset)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_runs_on_every_backend(name, xp):
    """Forward and backward on the backend's arrays: results stay on its library and
    device and agree with NumPy."""
    row = LAYERS[name]
    layer, x = row.make(), row.x()
    expected = _run(row, layer, Tensor(x)).numpy()
    layer = row.make()
    if xp.name == "cupy":
        layer.to("cuda")
    else:
        _move(layer, xp)
    t = Tensor(xp.asarray(x), requires_grad=not row.indices)
    if row.reset:  # the backend's own generator draws the mask there
        layer.rng = rng(7) if xp.name != "cupy" else __import__("backproplab").backend.random_generator(7, "cuda")
    out = layer(t)
    assert type(out.data) is type(t.data)
    out.sum().backward()
    if not row.indices:
        assert type(t.grad) is type(t.data)
    for p in layer.parameters():
        assert type(p.grad) is type(t.data)
    if xp.name != "cupy" or not row.reset:
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
        (nn.GELU(), torch.nn.GELU()),
        (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
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


# ---- behaviour beyond the table ----

def test_batchnorm_running_statistics_and_eval_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(3, momentum=0.2), torch.nn.BatchNorm1d(3, momentum=0.2).double()
    r = rng(0)
    for _ in range(3):
        x = r.standard_normal((8, 3)) * 2 + 1
        np.testing.assert_allclose(ours(Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    x = r.standard_normal((4, 3))
    np.testing.assert_allclose(ours(Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_layernorm_and_embedding_match_pytorch():
    torch = pytest.importorskip("torch")
    x = rng(1).standard_normal((4, 6)) * 3 + 2
    np.testing.assert_allclose(nn.LayerNorm(6)(Tensor(x)).numpy(),
                               torch.nn.LayerNorm(6).double()(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    emb = nn.Embedding(5, 3, rng=rng(0))
    temb = torch.nn.Embedding(5, 3).double()
    with torch.no_grad():
        temb.weight.copy_(torch.tensor(emb.weight.numpy()))
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    out = emb(idx)
    tout = temb(torch.tensor(idx))
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    g = rng(2).standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(emb.weight.grad, temb.weight.grad.numpy(), rtol=1e-12)


def test_batchnorm_updates_running_stats_only_in_training():
    bn = nn.BatchNorm1d(2, momentum=0.5)
    x = np.array([[1.0, 10.0], [3.0, 14.0]])
    bn(Tensor(x))
    # running = 0.5 * initial + 0.5 * batch;  unbiased variance of [1, 3] is 2, of [10, 14] is 8
    np.testing.assert_allclose(bn.running_mean.numpy(), [1.0, 6.0])
    np.testing.assert_allclose(bn.running_var.numpy(), [0.5 * 1 + 0.5 * 2, 0.5 * 1 + 0.5 * 8])
    bn.eval()
    bn(Tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), [1.0, 6.0])
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var"]
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var"}


def test_batchnorm_and_layernorm_bad_input():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\) expects input of shape \(N, 4\), got \(8, 3\)"):
        bn(Tensor(np.zeros((8, 3))))
    with pytest.raises(ValueError, match="more than one example per batch"):
        bn(Tensor(np.zeros((1, 4))))
    assert bn.eval()(Tensor(np.zeros((1, 4)))).shape == (1, 4)
    with pytest.raises(ValueError, match=r"LayerNorm\(\(5,\)\) expects inputs whose last axes have shape \(5,\)"):
        nn.LayerNorm(5)(Tensor(np.zeros((2, 4))))


def test_dropout_keeps_the_expected_share_and_scales():
    d = nn.Dropout(0.25, rng=rng(0))
    y = d(Tensor(np.ones((200, 100)))).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert not np.array_equal(kept, d(Tensor(np.ones((200, 100)))).numpy() != 0)  # a new mask each call
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1"):
        nn.Dropout(1)


def test_embedding_and_residual_bad_input():
    emb = nn.Embedding(5, 2, rng=rng())
    with pytest.raises(IndexError, match=r"indices must be in \[0, 5\), got \[-1, 7\]"):
        emb(np.array([0, 7, -1]))
    with pytest.raises(TypeError, match="indices must be integers, got dtype float64"):
        emb(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"Residual: the wrapped Linear maps shape \(2, 3\) to \(2, 4\)"):
        nn.Residual(nn.Linear(3, 4, rng=rng()))(Tensor(np.zeros((2, 3))))


def test_residual_keeps_the_gradient_alive():
    """dL/dx = dL/dy (1 + df/dx): with f's weights at 0 the gradient still passes."""
    block = nn.Residual(nn.Sequential(nn.Linear(3, 3, rng=rng()), nn.Sigmoid()))
    nn.init.zeros_(block.module[0].weight)
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    block(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.ones((2, 3)))

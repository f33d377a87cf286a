"""Names that follow PyTorch's: optim.Adagrad (AdaGrad kept as an alias) and nn.GELU()
defaulting to the exact erf form."""

import numpy as np

from backproplab import Tensor, nn, optim


def test_adagrad_is_pytorchs_name_and_adagrad_an_alias():
    assert optim.Adagrad is optim.AdaGrad and optim.Adagrad.__name__ == "Adagrad"
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = optim.Adagrad([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()  # s = g^2, so the first step is lr * sign(g)
    np.testing.assert_allclose(w.numpy(), [0.9, -1.9])


def test_gelu_default_is_pytorchs_exact_form():
    assert nn.GELU().approximate == "none"
    assert nn.GELU(approximate="tanh").approximate == "tanh"

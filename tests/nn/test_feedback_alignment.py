"""FeedbackAlignmentLinear: the forward pass and dW, db are nn.Linear's (backprop's); dX is
dY B with the layer's fixed random B, not dY W^T; B never changes; on every backend; and a
digits MLP built from it learns (Lillicrap et al. 2016)."""

import numpy as np
import pytest

import backproplab
from backproplab import Tensor, nn, optim
from backproplab.data import load_digits
from backproplab.nn import functional as F

from nn_helpers import rng


def _pair(bias=True, d_in=6, d_out=4, seed=3):
    """A feedback-alignment layer and a Linear from the same seed: equal W and b."""
    return (nn.FeedbackAlignmentLinear(d_in, d_out, bias=bias, rng=rng(seed)),
            nn.Linear(d_in, d_out, bias=bias, rng=rng(seed)))


def _grads(layer, x, g):
    layer.zero_grad()
    xt = Tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(g)
    return y.numpy(), xt.grad, {name: p.grad.copy() for name, p in layer.named_parameters()}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 6), (2, 3, 6)])
def test_forward_dw_db_are_backprops_and_dx_is_dy_b(bias, shape):
    fa, lin = _pair(bias)
    x = rng(1).standard_normal(shape)
    g = rng(2).standard_normal(shape[:-1] + (4,))
    y_fa, dx_fa, grads_fa = _grads(fa, x, g)
    y_bp, dx_bp, grads_bp = _grads(lin, x, g)
    np.testing.assert_array_equal(fa.weight.numpy(), lin.weight.numpy())
    np.testing.assert_allclose(y_fa, y_bp, rtol=1e-14, atol=1e-14)
    assert grads_fa.keys() == grads_bp.keys() == ({"weight", "bias"} if bias else {"weight"})
    for name in grads_bp:
        np.testing.assert_allclose(grads_fa[name], grads_bp[name], rtol=1e-13, atol=1e-14)
    B, W = fa.feedback.numpy(), fa.weight.numpy()
    assert B.shape == (4, 6)
    np.testing.assert_allclose(dx_fa, g @ B, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dx_bp, g @ W.T, rtol=1e-13, atol=1e-14)
    assert not np.allclose(dx_fa, dx_bp)  # it really is not backprop's dX


def test_feedback_is_a_fixed_buffer_that_training_never_changes():
    fa = nn.FeedbackAlignmentLinear(6, 4, rng=rng(0))
    assert [name for name, _ in fa.named_buffers()] == ["feedback"]
    assert "feedback" not in dict(fa.named_parameters()) and "feedback" in fa.state_dict()
    B0, W0 = fa.feedback.numpy().copy(), fa.weight.numpy().copy()
    opt = optim.SGD(fa.parameters(), lr=0.5)
    r = rng(1)
    for _ in range(3):
        opt.zero_grad()
        x = Tensor(r.standard_normal((8, 6)), requires_grad=True)
        (fa(x) ** 2).sum().backward()
        np.testing.assert_allclose(x.grad, (2 * fa(x).numpy()) @ B0, rtol=1e-12, atol=1e-13)
        opt.step()
    np.testing.assert_array_equal(fa.feedback.numpy(), B0)
    assert not np.allclose(fa.weight.numpy(), W0)  # the weights did move
    assert fa.feedback.grad is None


def test_feedback_is_drawn_from_the_generator_in_the_weights_range():
    a = nn.FeedbackAlignmentLinear(16, 5, rng=rng(4))
    b = nn.FeedbackAlignmentLinear(16, 5, rng=rng(4))
    c = nn.FeedbackAlignmentLinear(16, 5, rng=rng(5))
    np.testing.assert_array_equal(a.feedback.numpy(), b.feedback.numpy())
    assert not np.allclose(a.feedback.numpy(), c.feedback.numpy())
    assert np.abs(a.feedback.numpy()).max() <= 1 / 4
    assert not np.allclose(a.feedback.numpy(), a.weight.numpy().T)


def test_says_which_sizes_disagree():
    with pytest.raises(ValueError, match=r"FeedbackAlignmentLinear\(4, 3\) expects 4 input features, got 5"):
        nn.FeedbackAlignmentLinear(4, 3, rng=rng())(Tensor(np.zeros((2, 5))))
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.FeedbackAlignmentLinear(0, 3)


def test_runs_on_every_backend(xp):
    fa = nn.FeedbackAlignmentLinear(6, 4, rng=rng(0))
    x, g = rng(1).standard_normal((5, 6)), rng(2).standard_normal((5, 4))
    y_np, dx_np, grads_np = _grads(fa, x, g)
    if xp.name == "cupy":
        fa.to("cuda")
    else:
        for _, t in list(fa.named_parameters()) + list(fa.named_buffers()):
            t.data = xp.asarray(t.numpy())
    fa.zero_grad()
    t = Tensor(xp.asarray(x), requires_grad=True)
    y = fa(t)
    y.backward(Tensor(xp.asarray(g)))
    assert type(y.data) is type(t.data) and type(t.grad) is type(t.data)
    np.testing.assert_allclose(y.numpy(), y_np, rtol=1e-13)
    np.testing.assert_allclose(Tensor(t.grad).numpy(), dx_np, rtol=1e-13)
    for name, p in fa.named_parameters():
        assert type(p.grad) is type(t.data)
        np.testing.assert_allclose(Tensor(p.grad).numpy(), grads_np[name], rtol=1e-13)


def test_gradients_of_gradients_use_b_too():
    # create_graph: the backward runs again on Tensors, so dX = dY B is itself differentiable.
    fa = nn.FeedbackAlignmentLinear(3, 2, rng=rng(0))
    x = Tensor(rng(1).standard_normal((4, 3)), requires_grad=True)
    (dx,) = backproplab.grad((fa(x) ** 2).sum(), x, create_graph=True)
    np.testing.assert_allclose(dx.numpy(), 2 * fa(x).numpy() @ fa.feedback.numpy(), rtol=1e-12)
    (dx.sum()).backward()
    assert fa.weight.grad is not None and np.isfinite(fa.weight.grad).all()


def test_trains_the_digits_mlp_above_chance():
    X, y, X_test, y_test = load_digits(seed=0)
    r = rng(0)
    model = nn.Sequential(nn.FeedbackAlignmentLinear(64, 32, rng=r), nn.Tanh(),
                          nn.FeedbackAlignmentLinear(32, 10, rng=r))
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for epoch in range(10):
        for idx in np.array_split(r.permutation(len(y)), len(y) // 64):
            opt.zero_grad()
            F.cross_entropy(model(Tensor(X[idx])), y[idx]).backward()
            opt.step()
    with backproplab.no_grad():
        accuracy = float((model(Tensor(X_test)).numpy().argmax(1) == y_test).mean())
    assert accuracy > 0.8  # chance is 0.1

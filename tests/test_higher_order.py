"""Gradients of gradients: ``backproplab.grad``, ``backward(create_graph=True)`` and
``backproplab.autograd.functional``. Every op of the op table is checked a second
time: its gradient, itself computed by a recorded backward, is gradchecked."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, backend, gradcheck, GradcheckError
from backproplab.autodiff import Function
from backproplab.autograd import functional as F
from backproplab.tensor import _apply

from test_ops import OPS, _inputs


def _np(t):
    return backend.to_numpy(t.data if isinstance(t, Tensor) else t)


def _gradient_fn(fn, upstream):
    """x -> d(sum(upstream * fn(x)))/dx, computed with create_graph (a Tensor with a graph)."""

    def gradient(*xs):
        with bp.enable_grad():
            out = fn(*xs)
            w = Tensor._wrap(backend.namespace(out.data).asarray(upstream, dtype=out.dtype, device=backend.device_of(out.data)))
            grads = bp.grad((out * w).sum(), xs, create_graph=True, allow_unused=True)
        parts = [g.reshape(-1) for g in grads if g is not None]
        return bp.concatenate(parts) if parts else Tensor(np.zeros(0))

    return gradient


SECOND = [pytest.param(op, shapes, id=f"{op.name}-{i}") for op in OPS for i, shapes in enumerate(op.shapes) if i < 2]


@pytest.mark.parametrize("op, shapes", SECOND)
def test_second_derivative_of_every_op(op, shapes, xp):
    arrays = _inputs(op, shapes, seed=3)
    tensors = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    with bp.no_grad():
        out_shape = op.fn(*[Tensor(xp.asarray(a)) for a in arrays]).shape
    upstream = np.random.default_rng(4).standard_normal(out_shape)
    first = _gradient_fn(op.fn, upstream)(*tensors)
    # the recorded backward gives the same first derivative as the plain one
    plain = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    out = op.fn(*plain)
    out.backward(xp.asarray(upstream))
    expected = np.concatenate([_np(t.grad).reshape(-1) for t in plain])
    np.testing.assert_allclose(_np(first), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(_gradient_fn(op.fn, upstream), *tensors)


def test_third_derivative_of_tanh_by_three_nested_grads(xp):
    x = Tensor(xp.asarray([-1.3, -0.2, 0.4, 2.1]), requires_grad=True)
    (d1,) = bp.grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = bp.grad(d1.sum(), x, create_graph=True)
    (d3,) = bp.grad(d2.sum(), x)
    t = np.tanh(_np(x))
    np.testing.assert_allclose(_np(d1), 1 - t**2, rtol=1e-13)
    np.testing.assert_allclose(_np(d2), -2 * t * (1 - t**2), rtol=1e-13)
    np.testing.assert_allclose(_np(d3), -2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2), rtol=1e-12)


def test_grad_leaves_dot_grad_alone_and_matches_backward():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x = Tensor(rng.standard_normal((4, 3)))
    (g,) = bp.grad((x @ w).tanh().sum(), w)
    assert w.grad is None and not g.requires_grad
    (x @ w).tanh().sum().backward()
    np.testing.assert_array_equal(g.numpy(), w.grad)


def test_grad_of_an_intermediate_and_several_outputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y1, y2 = (h * 3).sum(), h.exp().sum()
    gh, gx = bp.grad([y1, y2], [h, x], retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), 3 + np.exp([1.0, 4.0]))
    np.testing.assert_allclose(gx.numpy(), (3 + np.exp([1.0, 4.0])) * 2 * np.array([1.0, 2.0]))
    (gx2,) = bp.grad(y1, x, grad_outputs=Tensor(2.0))
    np.testing.assert_allclose(gx2.numpy(), 12 * np.array([1.0, 2.0]))


def test_unused_input_raises_unless_allowed():
    x = Tensor([1.0], requires_grad=True)
    z = Tensor([2.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\] \(shape \(1,\)\) was not used.*allow_unused=True"):
        bp.grad(y, [x, z], retain_graph=True)
    gx, gz = bp.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.numpy()[0] == 2.0


def test_grad_errors_name_the_problem():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"inputs\[0\].*does not require grad"):
        bp.grad((x * c).sum(), c)
    with pytest.raises(RuntimeError, match="non-scalar tensor of shape \\(2,\\)"):
        bp.grad(x * 2, x)
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        bp.grad([x.sum(), x.sum()], x, grad_outputs=[None])
    y = (x * x).sum()
    bp.grad(y, x)
    with pytest.raises(RuntimeError, match="already backpropagated"):
        bp.grad(y, x)


def test_backward_create_graph_gives_a_grad_with_a_graph():
    x = Tensor([0.5, -2.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Tensor) and g.requires_grad
    np.testing.assert_allclose(g.numpy(), 3 * np.array([0.25, 4.0]))
    x.grad = None
    g.sum().backward()  # d/dx sum(3 x^2) = 6x
    np.testing.assert_allclose(x.grad, 6 * np.array([0.5, -2.0]))
    # a plain backward into a .grad that has a graph adds out of place
    x.grad = g
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * np.array([0.25, 4.0]) + 2)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([0.25, 4.0]))


def test_backward_inputs_accumulates_only_there():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert b.grad is None and a.grad[0] == 2.0


class _Sin(Function):
    """An op written the old way, with a function the Tensor namespace lacks."""

    def forward(self, x):
        self.x = x
        return backend.namespace(x).sin(x)

    def backward(self, g):
        return (g * backend.namespace(g).cos(self.x),)


def test_old_style_op_works_first_order_and_refuses_create_graph_clearly():
    x = Tensor([0.3, 1.2], requires_grad=True)
    _apply(_Sin, x).sum().backward()
    np.testing.assert_allclose(x.grad, np.cos([0.3, 1.2]))
    with pytest.raises(RuntimeError, match=r"create_graph=True\) through _Sin: xp.sin is not available on Tensors"):
        bp.grad(_apply(_Sin, x).sum(), x, create_graph=True)


def test_a_backward_that_is_right_only_to_first_order_is_caught(monkeypatch):
    # tanh' computed from raw arrays: first derivative right, second silently zero
    def detached_backward(self, g):
        out = self.out.data if isinstance(self.out, Tensor) else self.out
        return (g * (1 - out * out),)

    monkeypatch.setattr(bp.ops.Tanh, "backward", detached_backward)
    x = Tensor(np.array([0.3, -0.8, 1.5]), requires_grad=True)
    assert gradcheck(lambda x: x.tanh(), x)
    with pytest.raises(GradcheckError):
        gradcheck(_gradient_fn(lambda x: x.tanh(), np.ones(3)), x)


# ---- autograd.functional ----


def _mlp_loss(w1, w2):
    rng = np.random.default_rng(5)
    x = Tensor(rng.standard_normal((6, 3)))
    labels = np.array([0, 1, 1, 0, 1, 0])
    h = (x @ w1).tanh()
    return bp.nn.functional.cross_entropy(h @ w2, labels) + 0.1 * (w1 * w1).sum()


def _params(seed=6):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal((3, 4))), Tensor(rng.standard_normal((4, 2)))


def _flat_grad(fn, arrays):
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    fn(*ts).backward()
    return np.concatenate([t.grad.reshape(-1) for t in ts])


def test_hvp_and_hessian_against_central_differences_of_the_gradient():
    w1, w2 = _params()
    v1, v2 = _params(seed=7)
    loss, (h1, h2) = F.hvp(_mlp_loss, (w1, w2), (v1, v2))
    assert loss.shape == () and w1.grad is None
    eps = 1e-5
    plus = _flat_grad(_mlp_loss, [w1.numpy() + eps * v1.numpy(), w2.numpy() + eps * v2.numpy()])
    minus = _flat_grad(_mlp_loss, [w1.numpy() - eps * v1.numpy(), w2.numpy() - eps * v2.numpy()])
    numeric = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(np.concatenate([h1.numpy().ravel(), h2.numpy().ravel()]), numeric, rtol=1e-6, atol=1e-8)

    H = F.hessian(lambda w: _mlp_loss(w, w2), w1)
    assert H.shape == (3, 4, 3, 4)
    Hm = H.numpy().reshape(12, 12)
    np.testing.assert_allclose(Hm, Hm.T, atol=1e-12)
    cols = []
    for k in range(12):
        e = np.zeros(12)
        e[k] = eps
        gp = _flat_grad(lambda a: _mlp_loss(a, w2), [w1.numpy() + e.reshape(3, 4)])
        gm = _flat_grad(lambda a: _mlp_loss(a, w2), [w1.numpy() - e.reshape(3, 4)])
        cols.append((gp - gm) / (2 * eps))
    np.testing.assert_allclose(Hm, np.array(cols).T, rtol=1e-6, atol=1e-8)


def test_jvp_and_vjp_are_adjoint(xp):
    rng = np.random.default_rng(8)
    a = Tensor(xp.asarray(rng.standard_normal((4, 3))))
    x = Tensor(xp.asarray(rng.standard_normal(3)))
    u = Tensor(xp.asarray(rng.standard_normal(3)))
    w = Tensor(xp.asarray(rng.standard_normal(4)))

    def f(x):
        return (a @ x).sigmoid() * x.sum()

    _, ju = F.jvp(f, x, u)
    _, wj = F.vjp(f, x, w)
    np.testing.assert_allclose(float(_np((w * ju).sum())), float(_np((wj * u).sum())), rtol=1e-12)
    J = F.jacobian(f, x)
    np.testing.assert_allclose(_np(J) @ _np(u), _np(ju), rtol=1e-12)
    eps = 1e-6
    with bp.no_grad():
        numeric = (_np(f(x + eps * u)) - _np(f(x - eps * u))) / (2 * eps)
    np.testing.assert_allclose(_np(ju), numeric, rtol=1e-7)


def test_functional_input_errors():
    x = Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="single one-element Tensor"):
        F.hvp(lambda x: x * 2, x, x)
    with pytest.raises(ValueError, match=r"hvp\(v\) for each input\[0\] has shape \(2,\)"):
        F.hvp(lambda x: (x * x).sum(), x, Tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="does not depend on input 1"):
        F.vjp(lambda x, y: (x * 2).sum(), (x, Tensor(np.ones(2))), strict=True)


# ---- against PyTorch ----


def test_hvp_hessian_and_maml_against_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF

    w1, w2 = _params()
    v1, v2 = _params(seed=7)
    rng = np.random.default_rng(5)
    xn = rng.standard_normal((6, 3))
    labels = np.array([0, 1, 1, 0, 1, 0])

    def t_loss(a, b):
        h = torch.tanh(torch.from_numpy(xn) @ a)
        return torch.nn.functional.cross_entropy(h @ b, torch.from_numpy(labels)) + 0.1 * (a * a).sum()

    tw1, tw2 = torch.from_numpy(w1.numpy()), torch.from_numpy(w2.numpy())
    _, (th1, th2) = TF.hvp(t_loss, (tw1, tw2), (torch.from_numpy(v1.numpy()), torch.from_numpy(v2.numpy())))
    _, (h1, h2) = F.hvp(_mlp_loss, (w1, w2), (v1, v2))
    np.testing.assert_allclose(h1.numpy(), th1.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h2.numpy(), th2.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(F.hessian(lambda b: _mlp_loss(w1, b), w2).numpy(),
                               TF.hessian(lambda b: t_loss(tw1, b), tw2).numpy(), rtol=1e-10, atol=1e-12)

    # one MAML step: adapt on the support set with one SGD step (graph kept), then
    # differentiate the query loss through the step with respect to the start point
    xs, ys = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))
    xq, yq = rng.standard_normal((7, 3)), rng.standard_normal((7, 1))
    w0 = rng.standard_normal((3, 1))
    lr = 0.3

    w = Tensor(w0, requires_grad=True)
    inner = ((Tensor(xs) @ w).tanh() - Tensor(ys)).__pow__(2).mean()
    (g,) = bp.grad(inner, w, create_graph=True)
    adapted = w - lr * g
    outer = (((Tensor(xq) @ adapted).tanh() - Tensor(yq)) ** 2).mean()
    (meta,) = bp.grad(outer, w)

    tw = torch.tensor(w0, requires_grad=True)
    t_inner = ((torch.tanh(torch.from_numpy(xs) @ tw) - torch.from_numpy(ys)) ** 2).mean()
    (tg,) = torch.autograd.grad(t_inner, tw, create_graph=True)
    t_outer = ((torch.tanh(torch.from_numpy(xq) @ (tw - lr * tg)) - torch.from_numpy(yq)) ** 2).mean()
    (t_meta,) = torch.autograd.grad(t_outer, tw)
    np.testing.assert_allclose(meta.numpy(), t_meta.numpy(), rtol=1e-10, atol=1e-13)
    # and it differs from the first-order approximation (the second-order term matters)
    leaf = Tensor(adapted.numpy(), requires_grad=True)
    (first_order,) = bp.grad((((Tensor(xq) @ leaf).tanh() - Tensor(yq)) ** 2).mean(), leaf)
    assert np.abs(first_order.numpy() - meta.numpy()).max() > 1e-4


def test_second_derivative_through_an_op_written_for_first_order_only(xp):
    # nn.GELU's Erf op was written before create_graph existed; its array code runs on Tensors
    x = Tensor(xp.asarray(np.random.default_rng(9).standard_normal((3, 4))), requires_grad=True)
    gelu = bp.nn.GELU()
    assert gradcheck(_gradient_fn(gelu, np.random.default_rng(10).standard_normal((3, 4))), x)

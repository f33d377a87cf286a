"""Gradient checkpointing: the same gradients as the plain run (bit for bit in
float64), dropout masks drawn again identically, nesting, repeated use, and clear
errors for what cannot work."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, backend, gradcheck, nn
from backproplab import memory


def _mlp(depth, width, seed=0, dropout=0.0, dtype="float64", device=None):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, rng=rng, dtype=dtype, device=device), nn.Tanh()]
        if dropout:
            layers.append(nn.Dropout(dropout, rng=np.random.default_rng(rng.integers(1 << 30))))
    return nn.Sequential(*layers)


def _grads(model, x, run):
    model.zero_grad()
    loss = (run(model, x) ** 2).mean()
    loss.backward()
    return loss.item(), [backend.to_numpy(p.grad).copy() for p in model.parameters()]


def _plain(model, x):
    return model(x)


@pytest.mark.parametrize("segments", [1, 2, 3, 8])
def test_checkpoint_sequential_gradients_are_bit_identical(segments, xp):
    model = _mlp(4, 5, seed=1)
    if xp.name != "numpy":
        model.to(xp.device)
    x = Tensor(xp.asarray(np.random.default_rng(2).standard_normal((3, 5))))
    loss0, plain = _grads(model, x, _plain)
    loss1, ckpt = _grads(model, x, lambda m, x: bp.checkpoint_sequential(m, segments, x))
    assert loss0 == loss1
    for a, b in zip(plain, ckpt):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_of_one_block_with_input_gradient(xp):
    rng = np.random.default_rng(3)
    w = Tensor(xp.asarray(rng.standard_normal((4, 4))), requires_grad=True)
    x = Tensor(xp.asarray(rng.standard_normal((2, 4))), requires_grad=True)

    def block(h):
        return (h @ w).tanh() * h

    def plain(x):
        return block(block(x)).sum()

    def ckpt(x):
        return bp.checkpoint(block, bp.checkpoint(block, x)).sum()

    plain(x).backward()
    gx, gw = backend.to_numpy(x.grad).copy(), backend.to_numpy(w.grad).copy()
    x.grad = w.grad = None
    ckpt(x).backward()
    np.testing.assert_array_equal(backend.to_numpy(x.grad), gx)
    np.testing.assert_array_equal(backend.to_numpy(w.grad), gw)
    assert gradcheck(lambda x, w: bp.checkpoint(lambda h: (h @ w).tanh() * h, x), x, w)


def test_dropout_draws_the_same_mask_on_the_rerun():
    model = _mlp(4, 6, seed=4, dropout=0.5)
    x = Tensor(np.random.default_rng(5).standard_normal((8, 6)))
    states = [m.rng.bit_generator.state for m in model if isinstance(m, nn.Dropout)]
    loss0, plain = _grads(model, x, _plain)
    after_plain = [m.rng.bit_generator.state for m in model if isinstance(m, nn.Dropout)]
    for m, s in zip([m for m in model if isinstance(m, nn.Dropout)], states):
        m.rng.bit_generator.state = s  # the same masks for the checkpointed run
    loss1, ckpt = _grads(model, x, lambda m, x: bp.checkpoint_sequential(m, 3, x))
    assert loss0 == loss1
    for a, b in zip(plain, ckpt):
        np.testing.assert_array_equal(a, b)
    # the re-run did not advance the generators: later draws are as after a plain run
    assert [m.rng.bit_generator.state for m in model if isinstance(m, nn.Dropout)] == after_plain


def test_without_restoring_the_generators_the_gradients_differ():
    # the test above can fail: a re-run that draws new masks gives other gradients
    model = _mlp(2, 6, seed=4, dropout=0.5)
    x = Tensor(np.random.default_rng(5).standard_normal((8, 6)))
    gens = [m.rng for m in model if isinstance(m, nn.Dropout)]
    states = [g.bit_generator.state for g in gens]
    _, plain = _grads(model, x, _plain)
    for g, s in zip(gens, states):
        g.bit_generator.state = s
    _, ckpt = _grads(model, x, lambda m, x: bp.checkpoint(m, x, preserve_rng_state=False))
    assert any(not np.array_equal(a, b) for a, b in zip(plain, ckpt))


def test_explicit_generators_and_a_closure():
    rng = np.random.default_rng(6)
    drop = nn.Dropout(0.5, rng=rng)
    w = Tensor(np.random.default_rng(7).standard_normal((3, 3)), requires_grad=True)
    x = Tensor(np.ones((4, 3)))
    state = rng.bit_generator.state
    (drop(x @ w) ** 2).sum().backward()
    plain = w.grad.copy()
    rng.bit_generator.state = state
    w.grad = None
    (bp.checkpoint(lambda h: drop(h @ w), x, generators=[rng]) ** 2).sum().backward()
    np.testing.assert_array_equal(w.grad, plain)
    with pytest.raises(TypeError, match=r"generators=.*item 0 is a int"):
        bp.checkpoint(lambda h: h @ w, x, generators=[3])


def test_nested_checkpoints_are_bit_identical():
    model = _mlp(3, 4, seed=8)
    b0, b1, b2 = model[0:2], model[2:4], model[4:6]
    x = Tensor(np.random.default_rng(9).standard_normal((2, 4)))

    def nested(m, x):
        inner = lambda h: bp.checkpoint(b1, bp.checkpoint(b0, h))  # noqa: E731
        return b2(bp.checkpoint(inner, x))

    _, a = _grads(model, x, _plain)
    _, b = _grads(model, x, nested)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_one_block_used_three_times():
    # A parameter used by several checkpointed calls gets its contributions summed in
    # another order than in the plain run: equal to rounding, not bit for bit.
    block = _mlp(1, 4, seed=8)
    x = Tensor(np.random.default_rng(9).standard_normal((2, 4)))
    _, a = _grads(block, x, lambda m, x: m(m(m(x))))
    _, b = _grads(block, x, lambda m, x: m(bp.checkpoint(m, bp.checkpoint(m, x))))
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-14, atol=1e-16)


def test_second_backward_raises_as_elsewhere():
    model = _mlp(2, 3)
    loss = bp.checkpoint(model, Tensor(np.ones((2, 3)))).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="already backpropagated"):
        loss.backward()


def test_function_without_a_tensor_needing_grad_is_refused():
    x = Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="checkpoint: the function's output does not require grad"):
        bp.checkpoint(lambda h: h * 2, x)
    with pytest.raises(TypeError, match="checkpoint: the function must return a Tensor or a tuple of Tensors, got float"):
        bp.checkpoint(lambda h: 2.0, Tensor(np.ones(3), requires_grad=True))


def test_inplace_change_of_the_input_between_forward_and_rerun_is_caught():
    w = Tensor(np.ones((3, 3)), requires_grad=True)
    x = Tensor(np.arange(6.0).reshape(2, 3))
    y = bp.checkpoint(lambda h: (h @ w).tanh(), x).sum()
    x.data[0, 0] = 100.0
    with pytest.raises(RuntimeError, match=r"argument 0 \(shape \(2, 3\)\) was changed in place"):
        y.backward()


def test_under_no_grad_it_is_a_plain_call():
    model = _mlp(2, 3)
    with bp.no_grad():
        y = bp.checkpoint(model, Tensor(np.ones((2, 3))))
    assert not y.requires_grad


def test_checkpoint_sequential_argument_errors():
    model = _mlp(2, 3)
    with pytest.raises(ValueError, match=r"segments must be an integer from 1 to the number of functions \(4\), got 5"):
        bp.checkpoint_sequential(model, 5, Tensor(np.ones((1, 3))))


def test_checkpoint_under_create_graph():
    x = Tensor(np.array([0.2, -0.5, 1.0]), requires_grad=True)
    y = bp.checkpoint(lambda h: h.tanh(), x).sum()
    (g,) = bp.grad(y, x, create_graph=True)
    (h,) = bp.grad(g.sum(), x)
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(h.numpy(), -2 * t * (1 - t**2), rtol=1e-13)


def test_checkpointing_holds_only_segment_inputs_for_backward():
    model = _mlp(16, 32, seed=10)  # 32 modules: Linear, Tanh, Linear, ...
    x = Tensor(np.random.default_rng(11).standard_normal((64, 32)))
    activation, loss = 64 * 32 * 8, 8
    # plain: per block x @ W, + b and tanh: three (64, 32) arrays
    assert memory.saved_bytes(model(x).sum()) == 3 * 16 * activation + loss
    # 4 segments of 4 blocks: the outputs of the 3 checkpointed segments and the
    # last, plain segment's 3 arrays per block
    assert memory.saved_bytes(bp.checkpoint_sequential(model, 4, x).sum()) == (3 + 3 * 4) * activation + loss


def test_the_rerun_uses_the_forward_pass_autocast():
    model = _mlp(3, 4, seed=12, dtype="float32")
    x = Tensor(np.random.default_rng(13).standard_normal((2, 4)).astype(np.float32))

    def run(m, x):
        with bp.amp.autocast("float16"):
            return bp.checkpoint_sequential(m, 3, x)

    _, ckpt = _grads(model, x, run)  # backward outside the autocast block
    _, plain = _grads(model, x, lambda m, x: _autocast_plain(m, x))
    for a, b in zip(plain, ckpt):
        np.testing.assert_array_equal(a, b)


def _autocast_plain(m, x):
    with bp.amp.autocast("float16"):
        return m(x)


def test_a_function_with_several_outputs(xp):
    # an LSTM-like cell returns (h, c); an integer output passes through untouched
    rng = np.random.default_rng(14)
    w = Tensor(xp.asarray(rng.standard_normal((3, 3))), requires_grad=True)
    x = Tensor(xp.asarray(rng.standard_normal((2, 3))), requires_grad=True)
    count = Tensor(xp.asarray(np.array([2, 3])))

    def cell(h, w):
        z = h @ w
        return z.tanh(), z.sigmoid() * h, count

    def loss(h, c):
        return (h * h).sum() + (c * 3.0).sum()

    h, c, k = cell(x, w)
    loss(h, c).backward()
    gx, gw = backend.to_numpy(x.grad).copy(), backend.to_numpy(w.grad).copy()
    x.grad = w.grad = None
    h2, c2, k2 = bp.checkpoint(cell, x, w)
    assert k2 is not count and not k2.requires_grad and h2.shape == (2, 3)
    np.testing.assert_array_equal(h2.numpy(), h.numpy())
    loss(h2, c2).backward()
    np.testing.assert_array_equal(backend.to_numpy(x.grad), gx)
    np.testing.assert_array_equal(backend.to_numpy(w.grad), gw)
    assert gradcheck(lambda x, w: bp.concatenate(list(bp.checkpoint(cell, x, w)[:2]), axis=1), x, w)

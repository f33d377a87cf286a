"""Attention and the transformer encoder layer: forward against a NumPy reference and
PyTorch (outputs and gradients, same weights), float64 gradchecks, a causal mask that
blocks the future exactly, fully masked rows that stay finite, every backend, bad input."""

import math

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, nn
from backproplab.nn.attention import safe_softmax

from nn_helpers import module_gradcheck, rng

F = nn.functional


def _np_attention(q, k, v, additive=None):
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if additive is not None:
        s = s + additive
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isneginf(m), 0.0, m)
    e = np.exp(s - m)
    total = e.sum(-1, keepdims=True)
    return (e / np.where(total == 0, 1, total)) @ v


def _qkv(seed=0, batch=(2, 3), L=4, S=5, E=3, Ev=2):
    r = rng(seed)
    return r.standard_normal(batch + (L, E)), r.standard_normal(batch + (S, E)), r.standard_normal(batch + (S, Ev))


MASKS = {
    "none": lambda L, S: {},
    "bool": lambda L, S: {"attn_mask": rng(7).random((L, S)) > 0.4},
    "float": lambda L, S: {"attn_mask": rng(8).standard_normal((3, L, S))},
    "causal": lambda L, S: {"is_causal": True},
}


def _additive(kw, L, S):
    if "is_causal" in kw:
        return np.where(np.arange(S)[None, :] <= np.arange(L)[:, None], 0.0, -np.inf)
    mask = kw.get("attn_mask")
    if mask is None:
        return None
    return np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask


@pytest.mark.parametrize("mask", sorted(MASKS))
def test_sdpa_forward_and_gradcheck(mask):
    q, k, v = _qkv()
    kw = MASKS[mask](4, 5)
    out = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), **kw)
    np.testing.assert_allclose(out.numpy(), _np_attention(q, k, v, _additive(kw, 4, 5)), rtol=1e-12, atol=1e-13)
    kw = MASKS[mask](3, 4)
    tensors = [Tensor(a, requires_grad=True) for a in _qkv(seed=1, batch=(1, 3), L=3, S=4)]
    assert bp.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw), *tensors)


@pytest.mark.parametrize("mask", sorted(MASKS))
def test_sdpa_matches_pytorch_with_gradients(mask):
    torch = pytest.importorskip("torch")
    q, k, v = _qkv(seed=2)
    kw = MASKS[mask](4, 5)
    tkw = {a: torch.tensor(b) if isinstance(b, np.ndarray) else b for a, b in kw.items()}
    ours = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, **kw)
    tout = torch.nn.functional.scaled_dot_product_attention(*theirs, **tkw)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng(3).standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for a, ta in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_fully_masked_rows_give_zeros_and_finite_gradients():
    """A query that may attend to no key: output 0 and gradient 0 (PyTorch's
    scaled_dot_product_attention gives the same 0), where a composed softmax gives nan."""
    q, k, v = _qkv(seed=4, batch=(2,))
    mask = np.ones((4, 5), bool)
    mask[1] = False  # query 1 may attend to nothing
    qt, kt, vt = (Tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask)
    np.testing.assert_array_equal(out.numpy()[:, 1], 0.0)
    out.backward(rng(5).standard_normal(out.shape))
    for t in (qt, kt, vt):
        assert np.isfinite(t.grad).all()
    np.testing.assert_array_equal(qt.grad[:, 1], 0.0)
    assert bp.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), qt, kt, vt)
    # the composed softmax of nn.functional turns the same row into nan
    row = Tensor(np.full((1, 5), -np.inf))
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.softmax(row).numpy()).all()
    np.testing.assert_array_equal(safe_softmax(row).numpy(), 0.0)
    torch = pytest.importorskip("torch")
    tout = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)),
                                                            attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-10, atol=1e-12)


def test_multihead_attention_fully_padded_example_stays_finite():
    mha = nn.MultiheadAttention(4, 2, batch_first=True, rng=rng(0))
    x = Tensor(rng(1).standard_normal((2, 3, 4)), requires_grad=True)
    pad = np.array([[False, False, True], [True, True, True]])  # example 1: every key is padding
    out, weights = mha(x, x, x, key_padding_mask=pad)
    np.testing.assert_array_equal(weights.numpy()[1], 0.0)
    np.testing.assert_allclose(out.numpy()[1], np.broadcast_to(mha.out_proj.bias.numpy(), (3, 4)))
    out.sum().backward()
    assert np.isfinite(x.grad).all() and all(np.isfinite(p.grad).all() for p in mha.parameters())


# ---- a causal mask blocks the future exactly ----


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_mask_blocks_the_future(norm_first):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                       norm_first=norm_first, rng=rng(0))
    L = 6
    causal = np.triu(np.ones((L, L), bool), k=1)  # MultiheadAttention's convention: True = masked out
    for mask, flag in ((causal, False), (None, True)):
        for t in range(L):
            x = Tensor(rng(1).standard_normal((2, L, 8)), requires_grad=True)
            out = layer(x, src_mask=mask, is_causal=flag)
            (out[:, t] * Tensor(rng(t).standard_normal((2, 8)))).sum().backward()
            assert np.all(x.grad[:, t + 1:] == 0.0), f"output {t} depends on a later input"
            assert np.all(np.abs(x.grad[:, : t + 1]).sum(axis=-1) > 0)  # but on every earlier one
    x = Tensor(rng(2).standard_normal((1, 3, 2)), requires_grad=True)
    out = F.scaled_dot_product_attention(x, x, x, is_causal=True)
    out[:, 0].sum().backward()
    assert np.all(x.grad[:, 1:] == 0.0)


def test_gradients_of_gradients_through_attention():
    """d/dx |dL/dx|^2 through causal self-attention (create_graph=True runs ops.Softmax's
    backward on Tensors) matches central differences."""
    x0 = rng(1).standard_normal((2, 4, 3))

    def squared_gradient_norm(a):
        x = Tensor(a, requires_grad=True)
        (gx,) = bp.grad(F.scaled_dot_product_attention(x, x, x, is_causal=True).sum(), [x], create_graph=True)
        return (gx * gx).sum(), x

    value, x = squared_gradient_norm(x0)
    value.backward()
    numeric = bp.numerical_gradient(lambda a: squared_gradient_norm(a)[0].item(), x0)
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-6, atol=1e-9)


# ---- modules against PyTorch ----


def _torch_copy(ours, theirs, torch):
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    with torch.no_grad():
        for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            a = p.numpy()
            if _is_linear_weight(name):
                a = a.T  # Linear stores (in, out); PyTorch (out, in)
            tp.copy_(torch.tensor(a))


def _is_linear_weight(name):
    return name.endswith("weight") and any(part in name for part in ("out_proj", "linear1", "linear2"))


def _compare_grads(ours, theirs):
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        expected = tp.grad.numpy().T if _is_linear_weight(name) else tp.grad.numpy()
        np.testing.assert_allclose(p.grad, expected, rtol=1e-8, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_matches_pytorch(batch_first):
    torch = pytest.importorskip("torch")
    ours = nn.MultiheadAttention(6, 3, batch_first=batch_first, rng=rng(0))
    theirs = torch.nn.MultiheadAttention(6, 3, batch_first=batch_first).double()
    _torch_copy(ours, theirs, torch)
    r = rng(1)
    q = r.standard_normal((2, 4, 6) if batch_first else (4, 2, 6))
    kv = r.standard_normal((2, 5, 6) if batch_first else (5, 2, 6))
    pad = np.array([[False, False, True, False, True], [False] * 5])
    attn_mask = r.random((4, 5)) > 0.8  # True = masked out, as key_padding_mask
    bq, bkv = Tensor(q, requires_grad=True), Tensor(kv, requires_grad=True)
    tq, tkv = torch.tensor(q, requires_grad=True), torch.tensor(kv, requires_grad=True)
    out, w = ours(bq, bkv, bkv, key_padding_mask=pad, attn_mask=attn_mask)
    tout, tw = theirs(tq, tkv, tkv, key_padding_mask=torch.tensor(pad), attn_mask=torch.tensor(attn_mask))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = r.standard_normal(out.shape)
    (out * g).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(bq.grad, tq.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bkv.grad, tkv.grad.numpy(), rtol=1e-9, atol=1e-12)
    _compare_grads(ours, theirs)
    # self-attention, per-head weights
    x = r.standard_normal(q.shape)
    bias = r.standard_normal((6, 4, 4))  # a float mask, one per (example, head)
    out, w = ours(Tensor(x), Tensor(x), Tensor(x), attn_mask=bias, average_attn_weights=False)
    tout, tw = theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(bias), average_attn_weights=False)
    assert w.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer_matches_pytorch(norm_first, activation):
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=12, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    ours = nn.TransformerEncoderLayer(8, 2, rng=rng(0), **kw)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, **kw).double()
    _torch_copy(ours, theirs, torch)
    x = rng(1).standard_normal((3, 5, 8))
    pad = np.zeros((3, 5), bool)
    pad[0, 3:] = True
    bx, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = ours(bx, src_key_padding_mask=pad)
    tout = theirs(tx, src_key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-9, atol=1e-11)
    g = rng(2).standard_normal(out.shape)
    (out * g).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(bx.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-11)
    _compare_grads(ours, theirs)


# ---- gradchecks of the modules ----


def test_multihead_attention_gradcheck():
    mha = nn.MultiheadAttention(4, 2, batch_first=True, rng=rng(0))
    for p in (mha.in_proj_bias, mha.out_proj.bias):  # non-zero biases: a generic point
        p.data = rng(3).standard_normal(p.shape)
    q = Tensor(rng(1).standard_normal((2, 3, 4)), requires_grad=True)
    kv = Tensor(rng(2).standard_normal((2, 4, 4)), requires_grad=True)
    mask = np.array([[False, True, False, False]] * 3)
    fn = lambda q, kv: mha(q, kv, kv, attn_mask=mask)[0]  # noqa: E731
    assert module_gradcheck(_Wrap(mha, lambda q: fn(q, kv)), q)
    assert bp.gradcheck(fn, q, kv)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_gradcheck(norm_first):
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
                                       norm_first=norm_first, rng=rng(0))
    x = Tensor(rng(1).standard_normal((2, 3, 4)), requires_grad=True)
    assert module_gradcheck(layer, x)


class _Wrap(nn.Module):
    def __init__(self, module, fn):
        super().__init__()
        self.module, self._fn = module, fn

    def forward(self, x):
        return self._fn(x)


def test_dropout_on_attention_weights_only_in_training():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.5, rng=rng(0))
    x = Tensor(rng(1).standard_normal((3, 2, 4)))
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


# ---- positional encodings ----


def test_sinusoidal_positional_encoding():
    pe = nn.sinusoidal_positional_encoding(50, 6)
    p, i = 7, 1
    assert pe.shape == (50, 6)
    assert pe[p, 2 * i] == pytest.approx(math.sin(p / 10000 ** (2 * i / 6)), abs=1e-15)
    assert pe[p, 2 * i + 1] == pytest.approx(math.cos(p / 10000 ** (2 * i / 6)), abs=1e-15)
    assert nn.sinusoidal_positional_encoding(4, 5).shape == (4, 5)  # odd width
    enc = nn.PositionalEncoding(6, max_len=50)
    x = rng(0).standard_normal((10, 2, 6))
    np.testing.assert_allclose(enc(Tensor(x)).numpy(), x + pe[:10, None, :], rtol=1e-15)
    bf = nn.PositionalEncoding(6, max_len=50, batch_first=True)
    np.testing.assert_allclose(bf(Tensor(x)).numpy(), x + pe[None, :2, :], rtol=1e-15)
    assert enc(Tensor(x, dtype="float32")).dtype == np.float32
    assert [n for n, _ in enc.named_buffers()] == ["pe"] and not list(enc.parameters())
    with pytest.raises(ValueError, match=r"the sequence has 51 positions, more than max_len = 50"):
        enc(Tensor(np.zeros((51, 1, 6))))
    with pytest.raises(ValueError, match=r"d_model = 6, got \(3, 1, 5\)"):
        enc(Tensor(np.zeros((3, 1, 5))))


def test_learned_positional_encoding_gradcheck():
    enc = nn.LearnedPositionalEncoding(5, 3, batch_first=True, rng=rng(0))
    x = Tensor(rng(1).standard_normal((2, 4, 3)), requires_grad=True)
    assert module_gradcheck(enc, x)
    out = enc(x)
    out.sum().backward()
    np.testing.assert_array_equal(enc.weight.grad[4], 0.0)  # position 4 unused by a length-4 input
    np.testing.assert_array_equal(enc.weight.grad[:4], 2.0)  # each used position, once per example


# ---- backends ----


@pytest.mark.parametrize("mask", ["bool", "causal"])
def test_sdpa_on_every_backend(mask, xp):
    kw = MASKS[mask](4, 5)
    arrays = _qkv(seed=6, batch=(2,))
    ref = [Tensor(a, requires_grad=True) for a in arrays]
    out_ref = F.scaled_dot_product_attention(*ref, **kw)
    out_ref.sum().backward()
    if "attn_mask" in kw:
        kw = {"attn_mask": xp.asarray(kw["attn_mask"])}
    got = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*got, **kw)
    out.sum().backward()
    assert type(out.data) is type(got[0].data)
    np.testing.assert_allclose(out.numpy(), out_ref.numpy(), rtol=1e-12, atol=1e-13)
    for a, b in zip(ref, got):
        assert type(b.grad) is type(b.data)
        np.testing.assert_allclose(bp.backend.to_numpy(b.grad), a.grad, rtol=1e-12, atol=1e-13)


def test_multihead_attention_on_every_backend(xp):
    def run(move):
        mha = nn.MultiheadAttention(4, 2, batch_first=True, rng=rng(0))
        for _, p in mha.named_parameters():
            p.data = move(p.numpy())
        x = Tensor(move(rng(1).standard_normal((2, 3, 4))), requires_grad=True)
        out, w = mha(x, x, x, key_padding_mask=move(np.array([[False, False, True], [False, True, True]])),
                     is_causal=True)
        (out.sum() + w.sum()).backward()
        return out, x

    out_ref, x_ref = run(lambda a: a)
    out, x = run(xp.asarray)
    assert type(out.data) is type(x.data) and type(x.grad) is type(x.data)
    np.testing.assert_allclose(out.numpy(), out_ref.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(bp.backend.to_numpy(x.grad), x_ref.grad, rtol=1e-12, atol=1e-13)


# ---- bad input ----


def test_bad_input_names_the_function_and_the_shapes():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(10\) must be divisible by num_heads \(3\)"):
        nn.MultiheadAttention(10, 3)
    q, k, v = (Tensor(a) for a in _qkv(batch=(2,)))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask of shape \(3, 5\) does not "
                                         r"broadcast to the attention weights' shape \(2, 4, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool))
    with pytest.raises(ValueError, match=r"query \(\.\.\., L, E\) and key \(\.\.\., S, E\) must have the same E, "
                                         r"got shapes \(2, 4, 3\) and \(2, 5, 2\)"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(ValueError, match=r"key \(\.\.\., S, E\) and value \(\.\.\., S, E_v\) must have the same S"):
        F.scaled_dot_product_attention(q, k, q)
    with pytest.raises(ValueError, match="either attn_mask or is_causal=True, not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool), is_causal=True)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    x = Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"MultiheadAttention\(4, 2\): query must have shape \(N, L, E\) or "
                                         r"\(L, E\) unbatched with E = 4, got \(2, 3, 5\)"):
        mha(Tensor(np.zeros((2, 3, 5))), x, x)
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(L, S\) = \(3, 3\) or \(N \* num_heads, L, S\), "
                                         r"got \(3, 4\)"):
        mha(x, x, x, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, S\) = \(2, 3\), got \(3, 2\)"):
        mha(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(TypeError, match="a mask must be boolean or floating-point, got dtype int64"):
        mha(x, x, x, attn_mask=np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=4\) expects src of shape \(L, N, d_model\)"):
        nn.TransformerEncoderLayer(4, 2)(Tensor(np.zeros((2, 3, 4, 1))))

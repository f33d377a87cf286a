"""Losses: one table drives forward-vs-reference and gradcheck; then the stability
and bad-input cases."""

import numpy as np
import pytest

from backproplab import Tensor, backend, gradcheck, nn
from backproplab.nn import functional as F

from nn_helpers import rng


def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def _reduce(v, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](v)


N, C = 6, 4
PRED = rng(1).standard_normal((N, C))
TARGET = rng(2).standard_normal((N, C))
LABELS = np.array([0, 3, 1, 1, 2, 0])
PROBS = rng(3).dirichlet(np.ones(C), size=N)
BIN_T = rng(4).random((N, C))

# name -> (loss(pred, target, reduction), pred, target, reference(pred, target) per element/row)
LOSSES = {
    "mse": (F.mse_loss, PRED, TARGET, lambda y, d: (y - d) ** 2),
    "sum_squared_error": (F.sum_squared_error, PRED, TARGET, lambda y, d: 0.5 * ((y - d) ** 2).sum(1)),
    "bce_with_logits": (F.binary_cross_entropy_with_logits, 3 * PRED, BIN_T,
                        lambda z, t: -t * np.log(1 / (1 + np.exp(-z))) - (1 - t) * np.log(1 - 1 / (1 + np.exp(-z)))),
    "cross_entropy_labels": (F.cross_entropy, 2 * PRED, LABELS,
                             lambda z, y: -_log_softmax(z)[np.arange(N), y]),
    "cross_entropy_probs": (F.cross_entropy, 2 * PRED, PROBS, lambda z, t: -(t * _log_softmax(z)).sum(1)),
    "MSELoss": (lambda y, d, r: nn.MSELoss(r)(y, d), PRED, TARGET, lambda y, d: (y - d) ** 2),
    "SumSquaredError": (lambda y, d, r: nn.SumSquaredError(r)(y, d), PRED, TARGET,
                        lambda y, d: 0.5 * ((y - d) ** 2).sum(1)),
    "BCEWithLogitsLoss": (lambda z, t, r: nn.BCEWithLogitsLoss(r)(z, t), PRED, BIN_T,
                          lambda z, t: np.logaddexp(0, z) - t * z),
    "CrossEntropyLoss": (lambda z, y, r: nn.CrossEntropyLoss(r)(z, y), PRED, LABELS,
                         lambda z, y: -_log_softmax(z)[np.arange(N), y]),
}
CASES = [(name, r) for name in sorted(LOSSES) for r in ("mean", "sum", "none")]


@pytest.mark.parametrize("name,reduction", CASES)
def test_forward_matches_reference(name, reduction):
    loss, pred, target, ref = LOSSES[name]
    got = loss(Tensor(pred), target, reduction).numpy()
    np.testing.assert_allclose(got, _reduce(ref(pred, target), reduction), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,reduction", CASES)
def test_gradcheck(name, reduction):
    loss, pred, target, _ = LOSSES[name]
    assert gradcheck(lambda p: loss(p, target, reduction), Tensor(pred, requires_grad=True))


def test_soft_targets_get_gradients_too():
    assert gradcheck(lambda z, t: F.cross_entropy(z, t), Tensor(PRED, requires_grad=True),
                     Tensor(PROBS, requires_grad=True))
    assert gradcheck(lambda z, t: F.binary_cross_entropy_with_logits(z, t),
                     Tensor(PRED, requires_grad=True), Tensor(BIN_T, requires_grad=True))


def test_sum_squared_error_default_is_the_papers_E():
    y, d = np.array([[0.9, 0.2], [0.1, 0.7]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    e = nn.SumSquaredError()(Tensor(y), d).item()
    assert e == pytest.approx(0.5 * (0.01 + 0.04 + 0.01 + 0.09))


def test_cross_entropy_is_stable_for_huge_logits():
    z = Tensor(np.array([[1000.0, -1000.0, 0.0], [-800.0, 800.0, 799.0]]), requires_grad=True)
    loss = F.cross_entropy(z, np.array([1, 1]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [2000.0, np.log1p(np.exp(-1.0))], rtol=1e-12)
    loss.sum().backward()
    assert np.isfinite(z.grad).all()
    np.testing.assert_allclose(z.grad[0], [1.0, -1.0, 0.0], atol=1e-12)


def test_bce_is_stable_and_exact_at_zero():
    z = Tensor(np.array([-1000.0, 0.0, 1000.0]), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(z, np.array([1.0, 1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1000.0, np.log(2), 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad, [-1.0, -0.5, 1.0])  # sigmoid(z) - t, exact at z = 0


def test_cross_entropy_matches_pytorch():
    torch = pytest.importorskip("torch")
    z = 3 * PRED
    expected = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(LABELS)).item()
    assert F.cross_entropy(Tensor(z), LABELS).item() == pytest.approx(expected, rel=1e-12)
    expected = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(PROBS)).item()
    assert F.cross_entropy(Tensor(z), PROBS).item() == pytest.approx(expected, rel=1e-12)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(BIN_T)).item()
    assert F.binary_cross_entropy_with_logits(Tensor(z), BIN_T).item() == pytest.approx(expected, rel=1e-12)


# ---- bad input ----

def test_labels_out_of_range_are_named():
    with pytest.raises(ValueError) as err:
        F.cross_entropy(Tensor(PRED), np.array([0, 4, 1, -1, 2, 0]))
    assert "must be in [0, 4)" in str(err.value)
    assert "labels[1]=4" in str(err.value) and "labels[3]=-1" in str(err.value)


def test_labels_of_a_float_dtype_are_refused():
    with pytest.raises(TypeError, match="class labels must be integers.*got dtype float64"):
        F.cross_entropy(Tensor(PRED), LABELS.astype(float))
    with pytest.raises(TypeError, match="got dtype bool"):
        F.cross_entropy(Tensor(PRED), LABELS > 0)


def test_labels_of_the_wrong_length_or_targets_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(6,\).*got shape \(5,\)"):
        F.cross_entropy(Tensor(PRED), LABELS[:5])
    with pytest.raises(ValueError, match=r"\(6, 4\) and target shape \(6, 3\)"):
        F.cross_entropy(Tensor(PRED), PROBS[:, :3])
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\)"):
        F.cross_entropy(Tensor(PRED[0]), LABELS[:1])


def test_regression_losses_refuse_to_broadcast():
    with pytest.raises(ValueError, match=r"prediction shape \(6, 1\) and target shape \(6,\)"):
        F.mse_loss(Tensor(PRED[:, :1]), TARGET[:, 0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(Tensor(PRED), TARGET, reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss("avg")


def test_losses_on_every_backend(xp):
    z = Tensor(xp.asarray(PRED), requires_grad=True)
    loss = F.cross_entropy(z, xp.asarray(LABELS)) + F.mse_loss(z, xp.asarray(TARGET)) \
        + F.binary_cross_entropy_with_logits(z, xp.asarray(BIN_T)) + F.cross_entropy(z, xp.asarray(PROBS))
    loss.backward()
    assert type(z.grad) is type(z.data)
    ref = Tensor(PRED, requires_grad=True)
    (F.cross_entropy(ref, LABELS) + F.mse_loss(ref, TARGET) + F.binary_cross_entropy_with_logits(ref, BIN_T)
     + F.cross_entropy(ref, PROBS)).backward()
    np.testing.assert_allclose(z.numpy(), ref.numpy())
    np.testing.assert_allclose(backend.to_numpy(z.grad), ref.grad, rtol=1e-12)

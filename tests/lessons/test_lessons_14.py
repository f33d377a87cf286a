"""Tests of the exercise checks of lesson 14 (past the differentiable): each rejects plausible
wrong answers with a hint that says what is wrong. That every check passes on the solution,
fails on the blank stub and draws cases that change with the seed is tested for all exercises
in test_every_exercise.py."""

import numpy as np
import pytest

import checking

L14 = "14_past_differentiable"


def assert_rejected(exercise, hint, **student):
    checking.assert_rejected(L14, exercise, hint, **student)


def test_answers_may_not_use_the_library():
    from backproplab.grading.course import references
    assert "backproplab.nondiff" in references(L14) and "backproplab" in references(L14)


# ---- sign_ste ----

def _binary(x):
    return np.where(x >= 0, 1.0, -1.0)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, dout: (np.sign(x), dout * (np.abs(x) <= 1)),
     r"z is wrong where x == 0 \(sign\(0\) is \+1 here\).*numpy's sign"),
    (lambda x, dout: (_binary(x), dout), r"dx is wrong where \|x\| > 1 \(the clip\).*everywhere"),
    (lambda x, dout: (_binary(x), np.zeros_like(dout)), r"dx is wrong.*true derivative of sign"),
    (lambda x, dout: (_binary(x), dout * (np.abs(x) < 1)),
     r"dx is wrong at \|x\| == 1 \(inside the clip\).*drops the gradient at \|x\| = 1"),
    (lambda x, dout: (_binary(x), dout * (1 - np.tanh(x) ** 2)), r"dx is wrong"),   # tanh's slope
    (lambda x, dout: (_binary(x), dout * (np.abs(dout) <= 1)), r"dx is wrong"),     # clips dout
    (lambda x, dout: _binary(x), r"returned .*expected 2 values \(z, dx\)"),
])
def test_sign_ste_rejects(wrong, hint):
    assert_rejected("sign_ste", hint, sign_ste=wrong)


# ---- reinforce_gradient ----

def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _reinforce(score, weight=lambda R, b: R - b, reduce=np.mean):
    def reinforce_gradient(logits, actions, rewards, baseline):
        s = score(logits, actions)
        return reduce(weight(rewards, baseline)[:, None] * s, axis=0)
    return reinforce_gradient


RIGHT_SCORE = lambda z, a: np.eye(len(z))[a] - _softmax(z)   # noqa: E731


@pytest.mark.parametrize("wrong, hint", [
    (_reinforce(RIGHT_SCORE, weight=lambda R, b: R), r"grad is wrong.*ignores the baseline"),
    (_reinforce(RIGHT_SCORE, weight=lambda R, b: b - R), r"grad is wrong.*wrong sign"),
    (_reinforce(RIGHT_SCORE, reduce=np.sum), r"grad is wrong.*sum over the N draws"),
    (_reinforce(lambda z, a: np.eye(len(z))[a]), r"grad is wrong.*onehot\(a\) alone"),
    (_reinforce(lambda z, a: np.eye(len(z))[a] / _softmax(z)),
     r"grad is wrong.*with respect to the probabilities"),
    (_reinforce(lambda z, a: np.eye(len(z))[a] - 1 / len(z)), r"grad is wrong"),   # uniform p
    # the exact gradient of E[R] under the empirical rewards, not the estimate from the draws
    (lambda z, a, R, b: _softmax(z) * (np.bincount(a, weights=R, minlength=len(z))
                                       / np.maximum(np.bincount(a, minlength=len(z)), 1)
                                       - _softmax(z) @ (np.bincount(a, weights=R, minlength=len(z))
                                                        / np.maximum(np.bincount(a, minlength=len(z)), 1))),
     r"grad is wrong"),
])
def test_reinforce_gradient_rejects(wrong, hint):
    assert_rejected("reinforce_gradient", hint, reinforce_gradient=wrong)


# ---- fgsm_tanh_mlp ----

def _input_grad(W1, b1, W2, b2, x, y, slope=True, transpose=True):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(W2.shape[1])[y]) / len(x)
    dh = dz @ W2.T
    return (dh * (1 - h ** 2) if slope else dh) @ W1.T


@pytest.mark.parametrize("wrong, hint", [
    (lambda W1, b1, W2, b2, x, y, eps: x - eps * np.sign(_input_grad(W1, b1, W2, b2, x, y)),
     r"x_adv is wrong.*steps down the gradient"),
    (lambda W1, b1, W2, b2, x, y, eps: x + eps * _input_grad(W1, b1, W2, b2, x, y),
     r"x_adv is wrong.*takes its sign"),
    (lambda W1, b1, W2, b2, x, y, eps: x + eps * np.sign(_input_grad(W1, b1, W2, b2, x, y, slope=False)),
     r"x_adv is wrong.*tanh's slope"),
    (lambda W1, b1, W2, b2, x, y, eps: eps * np.sign(_input_grad(W1, b1, W2, b2, x, y)),
     r"x_adv is wrong.*perturbation eps sign\(g\) alone"),
    # the gradient of the loss of the predicted class instead of the true label
    (lambda W1, b1, W2, b2, x, y, eps: x + eps * np.sign(_input_grad(
        W1, b1, W2, b2, x, np.argmax(np.tanh(x @ W1 + b1) @ W2 + b2, axis=1))), r"x_adv is wrong"),
    # clipped to the pixel range though the exercise says not to
    (lambda W1, b1, W2, b2, x, y, eps: np.clip(x + eps * np.sign(_input_grad(W1, b1, W2, b2, x, y)), 0, 1),
     r"x_adv is wrong"),
])
def test_fgsm_tanh_mlp_rejects(wrong, hint):
    assert_rejected("fgsm_tanh_mlp", hint, fgsm_tanh_mlp=wrong)

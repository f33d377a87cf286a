"""The exercise checks of lessons 12 (backpropagation through time) and 13 (attention): each
passes on its solution, fails on the blank stub, and rejects plausible wrong answers with a
hint that says what is wrong."""

import json
from pathlib import Path

import numpy as np
import pytest

from checking import ExerciseFailure, exec_check

ROOT = Path(__file__).resolve().parents[2]


def _cells(folder, name):
    nb = json.loads((ROOT / folder / f"{name}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = cell["source"]
        yield cell["metadata"].get("backproplab", {}), "".join(source) if isinstance(source, list) else source


def run_check(name, exercise, folder="solutions", **student):
    """Run the setup cells of ``folder/name``, then the answer cell of ``exercise`` (unless
    ``student`` gives its functions), then its check cells."""
    namespace = {}
    for info, source in _cells(folder, name):
        if info.get("role") == "setup":
            exec(source, namespace)
    if student:
        namespace.update(student)
    else:
        for info, source in _cells(folder, name):
            if info.get("role") == "answer" and info.get("exercise") == exercise:
                exec(source, namespace)
    checks = [source for info, source in _cells(folder, name)
              if info.get("role") == "check" and info.get("exercise") == exercise]
    assert checks, f"no check cell for {exercise} in {name}"
    for source in checks:
        exec_check(source, namespace)


def assert_rejected(name, exercise, hint, **student):
    """The check fails, and its FAIL line contains ``hint`` (a regular expression)."""
    with pytest.raises(ExerciseFailure, match=f"^FAIL {exercise}: ") as failure:
        run_check(name, exercise, **student)
    assert __import__("re").search(hint, str(failure.value)), str(failure.value)


# ---- lesson 12: backpropagation through time ----

L12 = "12_bptt"
L12_EXERCISES = ["rnn_bptt", "jacobian_norm", "sample_next"]


@pytest.mark.parametrize("exercise", L12_EXERCISES)
def test_lesson12_solution_passes(exercise, capsys):
    run_check(L12, exercise)
    assert capsys.readouterr().out.startswith(f"PASS {exercise} (")


@pytest.mark.parametrize("exercise", L12_EXERCISES)
def test_lesson12_blank_exercise_fails(exercise):
    with pytest.raises(ExerciseFailure, match="not implemented yet"):
        run_check(L12, exercise, folder="exercises")


def _bptt(per_step=True, slope=True, state_before=True, through_time=True, h0_grad=True):
    def rnn_bptt(x, h0, W_xh, W_hh, b, dh):
        hs = [h0]
        for x_t in x:
            hs.append(np.tanh(x_t @ W_xh + hs[-1] @ W_hh + b))
        dW_xh, dW_hh, db = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros_like(b)
        back = np.zeros_like(h0)
        for t in range(len(x), 0, -1):
            arriving = dh[t - 1] if per_step or t == len(x) else 0.0
            delta = arriving + (back if through_time else 0.0)
            Delta = delta * (1 - hs[t] ** 2) if slope else delta
            dW_xh += x[t - 1].T @ Delta
            dW_hh += (hs[t - 1] if state_before else hs[t]).T @ Delta
            db += Delta.sum(axis=0)
            back = Delta @ W_hh.T
        return dW_xh, dW_hh, db, (back if h0_grad else np.zeros_like(h0))
    return rnn_bptt


@pytest.mark.parametrize("wrong, hint", [
    (_bptt(per_step=False), r"dW_xh is wrong"),          # only the last step's gradient
    (_bptt(slope=False), r"dW_xh is wrong"),             # tanh' forgotten
    (_bptt(state_before=False), r"dW_hh is wrong"),      # h_t instead of h_{t-1}
    (_bptt(through_time=False), r"dW_xh is wrong"),      # no gradient through time
    (_bptt(h0_grad=False), r"dh0 is wrong"),             # h_0's gradient left at zero
])
def test_rnn_bptt_rejects(wrong, hint):
    assert_rejected(L12, "rnn_bptt", hint, rnn_bptt=wrong)


def _jacobian(order="left", slope_at="after", transpose=True, norm=2):
    def jacobian_norm(W_hh, hs, t, k):
        M = np.eye(len(W_hh))
        for s in range(t - k + 1, t + 1):
            h = hs[s] if slope_at == "after" else hs[s - 1] if slope_at == "before" else None
            D = np.ones(len(W_hh)) if h is None else 1 - h ** 2
            J = D[:, None] * (W_hh.T if transpose else W_hh)
            M = J @ M if order == "left" else M @ J
        return float(np.linalg.norm(M, norm))
    return jacobian_norm


@pytest.mark.parametrize("wrong", [
    _jacobian(order="right"),                  # the product in the wrong order
    _jacobian(slope_at="before"),              # tanh' at h_{s-1}
    _jacobian(slope_at=None),                  # the linear RNN's (W^T)^k
    _jacobian(transpose=False),                # W_hh for W_hh^T
    _jacobian(norm="fro"),                     # Frobenius, not spectral
])
def test_jacobian_norm_rejects(wrong):
    assert_rejected(L12, "jacobian_norm", r"norm is -?[0-9.e+-]+, expected", jacobian_norm=wrong)


def _softmax(z):
    p = np.exp(z - z.max())
    return p / p.sum()


@pytest.mark.parametrize("wrong, hint", [
    (lambda z, T, rng: int(rng.choice(len(z), p=_softmax(z))) if T else int(np.argmax(z)),
     r"draw \d+ of 25 .* is \d+, expected \d+"),                   # temperature ignored
    (lambda z, T, rng: int(rng.choice(len(z), p=_softmax(z * T))) if T else int(np.argmax(z)),
     r"draw \d+ of 25"),                                             # multiplied by T
    (lambda z, T, rng: int(rng.choice(len(z), p=np.exp(z / T) / np.exp(z / T).sum()))
     if T else int(np.argmax(z)), r"raised|draw \d+ of 25"),          # unstable: overflow at 800
    (lambda z, T, rng: int(np.argmax(z)), r"draw \d+ of 25"),        # always greedy
    (lambda z, T, rng: int(rng.choice(len(z), p=_softmax(z / max(T, 1e-3)))),
     r"generator was used a different number of times"),             # T = 0 still draws
    (lambda z, T, rng: (rng.random(), int(rng.choice(len(z), p=_softmax(z / T))))[1]
     if T else int(np.argmax(z)), r"draw \d+ of 25"),                # an extra draw per call
])
def test_sample_next_rejects(wrong, hint):
    assert_rejected(L12, "sample_next", hint, sample_next=wrong)

"""Tests of the library code behind lessons 6 and 7 (experiments, explore) and of the
exercise checks of those lessons: every check must reject a plausible wrong answer."""

import itertools

import numpy as np
import pytest

from backproplab.experiments import mirror_weight_pattern, train_logistic_nets


def mirror_patterns():
    x = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    return x, (x == x[:, ::-1]).all(axis=1).astype(float)


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_D = np.array([0.0, 1.0, 1.0, 0.0])


# ---- experiments: the batched 1986 runs ----

def test_batched_run_equals_one_seed_at_a_time():
    together = train_logistic_nets(XOR_X, XOR_D, 2, [3, 4, 5], lr=0.5, max_sweeps=300)
    for k, seed in enumerate([3, 4, 5]):
        alone = train_logistic_nets(XOR_X, XOR_D, 2, [seed], lr=0.5, max_sweeps=300)
        assert alone.sweeps[0] == together.sweeps[k]
        np.testing.assert_allclose(alone.W1[0], together.W1[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(alone.error[0], together.error[k, :alone.error.shape[1]],
                                   rtol=1e-12, atol=1e-14)


def test_first_sweep_is_eq9_with_summed_error():
    """One sweep by hand (eqs. 1-9 of the paper) against the batched engine."""
    run = train_logistic_nets(XOR_X, XOR_D, 2, [7], lr=0.5, momentum=0.9, max_sweeps=1,
                              tolerance=1e-9)
    rng = np.random.default_rng(7)
    W1, b1 = rng.uniform(-0.3, 0.3, (2, 2)), rng.uniform(-0.3, 0.3, (1, 2))
    W2, b2 = rng.uniform(-0.3, 0.3, (2, 1)), rng.uniform(-0.3, 0.3, (1, 1))
    sig = lambda x: 1 / (1 + np.exp(-x))
    h = sig(XOR_X @ W1 + b1)
    y = sig(h @ W2 + b2)
    dx2 = (y - XOR_D[:, None]) * y * (1 - y)          # dE/dx_j, eqs. 4-5, summed error
    dx1 = (dx2 @ W2.T) * h * (1 - h)                  # eq. 7 then 5
    W1_next = W1 - 0.5 * XOR_X.T @ dx1                # eq. 9 with Δw(0) = 0
    W2_next = W2 - 0.5 * h.T @ dx2
    np.testing.assert_allclose(run.W1[0], W1_next, rtol=1e-12)
    np.testing.assert_allclose(run.W2[0], W2_next, rtol=1e-12)
    np.testing.assert_allclose(run.error[0, 0], 0.5 * ((y - XOR_D[:, None]) ** 2).sum())


def test_learned_nets_meet_the_criterion_and_stop():
    run = train_logistic_nets(XOR_X, XOR_D, 2, 6, lr=0.5, max_sweeps=3000, tolerance=0.2)
    assert run.learned.sum() >= 4
    y = run.predict(XOR_X)[:, :, 0]
    assert (np.abs(y - XOR_D)[run.learned] < 0.2).all()
    for k in np.flatnonzero(run.learned):
        tail = run.error[k, run.sweeps[k]:]
        assert np.all(tail == tail[0])  # frozen once learned


def test_mirror_symmetry_learns_the_1_2_4_pattern():
    x, d = mirror_patterns()
    run = train_logistic_nets(x, d, 2, [1, 3], max_sweeps=4000, tolerance=0.2)
    assert run.learned.all()
    assert (run.sweeps > 300).all()  # the problem is not trivial at eps = 0.1
    for k in range(2):
        ratios, antisymmetry = mirror_weight_pattern(run.W1[k])
        np.testing.assert_allclose(ratios, [[1, 2, 4]] * 2, rtol=0.1)
        assert (antisymmetry < 0.02).all()


def test_mirror_weight_pattern_on_a_known_matrix():
    w = np.array([[1.0, -3.0], [2.0, -6.0], [4.0, 12.0], [-4.0, -12.0], [-2.0, 6.0],
                  [-1.0, 3.0]])
    ratios, antisymmetry = mirror_weight_pattern(w)
    np.testing.assert_allclose(ratios, [[1, 2, 4], [1, 2, 4]])
    np.testing.assert_allclose(antisymmetry, [0, 0])
    w[5, 0] = -0.5  # mirror pair (1, 6) no longer opposite: |1 - 0.5| / 4
    assert mirror_weight_pattern(w)[1][0] == pytest.approx(0.125)


@pytest.mark.parametrize("kwargs, message", [
    (dict(inputs=np.zeros((4, 2)), targets=np.zeros(3)), "same N"),
    (dict(hidden=0), "hidden"),
    (dict(seeds=[]), "seeds"),
    (dict(tolerance=0.0), "tolerance"),
])
def test_train_logistic_nets_rejects_bad_input(kwargs, message):
    args = dict(inputs=XOR_X, targets=XOR_D, hidden=2, seeds=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        train_logistic_nets(args.pop("inputs"), args.pop("targets"), args.pop("hidden"),
                            args.pop("seeds"), **args)


def test_mirror_weight_pattern_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(6, H\).*\(5, 2\)"):
        mirror_weight_pattern(np.ones((5, 2)))

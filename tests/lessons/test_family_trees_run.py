"""experiments.train_family_trees: the letter's network on family trees (lesson 6)."""

import numpy as np
import pytest

from backproplab.experiments import train_family_trees


def test_shapes_held_out_cases_and_seeding():
    run = train_family_trees(seeds=[3, 5], sweeps=5)
    assert run.outputs.shape == (2, 104, 24) and run.targets.shape == (104, 24)
    assert run.encodings.shape == (2, 24, 6) and run.error.shape == (2, 5)
    assert run.test_cases.shape == (2, 4) and len(set(map(tuple, run.test_cases))) == 2
    again = train_family_trees(seeds=[5], sweeps=5)
    np.testing.assert_array_equal(again.test_cases[0], run.test_cases[1])
    np.testing.assert_allclose(again.outputs[0], run.outputs[1], rtol=1e-12)  # seeds independent
    assert run.answered().shape == (2, 4) and run.answered(np.arange(104)).shape == (2, 104)


def test_held_out_cases_give_no_gradient():
    # the error counts only training cases: E at the start equals the sum over them
    run = train_family_trees(seeds=[0], sweeps=1)
    first = train_family_trees(seeds=[0], sweeps=1, n_test=0)
    assert run.error[0, 0] < first.error[0, 0]


def test_answered_means_every_output_on_the_right_side():
    run = train_family_trees(seeds=[0], sweeps=1)
    run.outputs[:] = np.where(run.targets > 0.5, 0.9, 0.1)
    assert run.answered(np.arange(104)).all()
    run.outputs[0, 7, 0] = 1 - run.outputs[0, 7, 0]
    assert not run.answered(np.arange(104))[0, 7]


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="n_test"):
        train_family_trees(seeds=2, n_test=104)

"""Datasets and DataLoader."""

import numpy as np
import pytest

from backproplab import Tensor
from backproplab.data import DataLoader, load_digits


def test_digits_split_is_seeded_stratified_and_scaled():
    a, b = load_digits(seed=0), load_digits(seed=0)
    X_train, y_train, X_test, y_test = a
    assert X_train.shape == (1438, 64) and X_test.shape == (359, 64)
    assert y_train.dtype == np.int64 and set(np.unique(y_test)) == set(range(10))
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(load_digits(seed=1).y_test, a.y_test)
    assert 0.0 <= X_train.min() and X_train.max() == 1.0
    # every class keeps about 20% of its examples for testing
    counts = np.bincount(y_test, minlength=10) / (np.bincount(y_test, minlength=10) + np.bincount(y_train, minlength=10))
    assert np.all(np.abs(counts - 0.2) < 0.01)
    std = load_digits(scale="standard").X_train
    np.testing.assert_allclose(std.mean(0), 0, atol=1e-12)
    with pytest.raises(ValueError, match="scale must be"):
        load_digits(scale="minmax")


def test_loader_batches_cover_the_data_once_per_epoch():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader((X, y), batch_size=4, shuffle=True, rng=np.random.default_rng(0))
    assert len(loader) == 3
    epoch1 = [yb.numpy() for _, yb in loader]
    epoch2 = [yb.numpy() for _, yb in loader]
    assert [len(b) for b in epoch1] == [4, 4, 2]
    assert sorted(np.concatenate(epoch1)) == list(range(10))
    assert not np.array_equal(np.concatenate(epoch1), np.concatenate(epoch2))  # reshuffled
    for xb, yb in loader:
        assert isinstance(xb, Tensor)
        np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * yb.numpy())  # rows stay paired
    again = DataLoader((X, y), batch_size=4, shuffle=True, rng=np.random.default_rng(0))
    assert all(np.array_equal(a, b[1].numpy()) for a, b in zip(epoch1, again))  # seeded


def test_loader_drop_last_no_shuffle_and_single_array():
    X = np.arange(10.0)
    batches = [b.numpy().tolist() for b in DataLoader(X, batch_size=4, drop_last=True)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_loader_on_a_dataset_object():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([float(i)]), i * i

    (xb, yb), = list(DataLoader(Squares(), batch_size=5))
    assert xb.shape == (5, 1) and yb.numpy().tolist() == [0, 1, 4, 9, 16]


def test_loader_bad_input():
    with pytest.raises(ValueError, match=r"share their first axis.*\(10, 2\), \(9,\)"):
        DataLoader((np.zeros((10, 2)), np.zeros(9)))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(TypeError, match="expected a tuple of arrays"):
        DataLoader(42)

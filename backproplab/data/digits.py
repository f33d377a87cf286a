"""The 8x8 handwritten digits of scikit-learn (1,797 images, 10 classes), as rows
of 64 pixels (``load_digits``) or as images (N, 1, 8, 8) for CNNs (``load_digit_images``).

The data ship inside scikit-learn's package, so loading works offline.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Split", "load_digits", "load_digit_images", "bilinear_matrix", "stratified_split"]


class Split(NamedTuple):
    """A train/test split; unpacks as ``X_train, y_train, X_test, y_test = split``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def stratified_split(y, test_fraction, rng):
    """Indices (train, test): in every class, a ``test_fraction`` share goes to test."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_digits(test_fraction=0.2, seed=0, scale="unit", dtype="float64") -> Split:
    """Digits as X (N, 64) (the 8x8 image row by row) and labels y (N,) int64 in 0..9.

    test_fraction: share of every class held out for testing (stratified).
    seed: the split's seed (the same seed gives the same split).
    scale: 'unit' (pixels 0..16 divided by 16, into [0, 1]); 'standard' (each pixel
        minus its training mean, divided by its training std; constant pixels
        are left at 0); or None (raw 0..16).
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits data: "
            "pip install scikit-learn"
        ) from None
    bunch = _sk_load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    train, test = stratified_split(y, test_fraction, np.random.default_rng(seed))
    X_train, X_test = X[train], X[test]
    if scale == "unit":
        X_train, X_test = X_train / 16.0, X_test / 16.0
    elif scale == "standard":
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std[std == 0] = 1.0
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    elif scale is not None:
        raise ValueError(f"load_digits: scale must be 'unit', 'standard' or None, got {scale!r}")
    return Split(X_train.astype(dtype), y[train], X_test.astype(dtype), y[test])


def bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """A (size_out, size_in) matrix A with A @ v = v resampled to size_out points by
    linear interpolation, pixel centres aligned (PyTorch's ``interpolate(...,
    mode='bilinear', align_corners=False)``): output pixel i reads position
    (i + 1/2) size_in / size_out - 1/2 of the input, clamped to its edges."""
    pos = np.clip((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
    left = np.floor(pos).astype(np.int64)
    right = np.minimum(left + 1, size_in - 1)
    frac = pos - left
    a = np.zeros((size_out, size_in))
    a[np.arange(size_out), left] += 1 - frac
    a[np.arange(size_out), right] += frac
    return a


def load_digit_images(size=8, test_fraction=0.2, seed=0, scale="unit", dtype="float64") -> Split:
    """The digits as images X (N, 1, size, size) for convolutional networks, labels y (N,).

    The split and ``scale`` are those of ``load_digits`` with the same arguments
    (the same images in train and test). size: 8 (the original pixels) or larger,
    e.g. 16 or 28 (MNIST's size): each image is resampled bilinearly,
    X_big = A X A^T with A = ``bilinear_matrix(8, size)``, which keeps a constant
    image constant and is what PyTorch's bilinear ``interpolate`` computes.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"load_digit_images: size must be an integer of at least 8, got {size!r}")
    split = load_digits(test_fraction=test_fraction, seed=seed, scale=scale, dtype="float64")
    a = bilinear_matrix(8, int(size))

    def images(X):
        X = X.reshape(-1, 1, 8, 8)
        return (X if size == 8 else a @ X @ a.T).astype(dtype)

    return Split(images(split.X_train), split.y_train, images(split.X_test), split.y_test)

"""Small classic problems: XOR, two spirals, two moons and the 1986 paper's
mirror-symmetry task. Each returns NumPy arrays (X, y); the random ones take a
generator (or int seed) ``rng`` and give the same data for the same seed."""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["xor", "two_spirals", "moons", "mirror_symmetry"]


def _rng(rng, noise):
    if rng is None:
        if noise == 0:
            return None
        raise TypeError("rng is required when noise > 0: pass numpy.random.default_rng(seed) or an int seed")
    return np.random.default_rng(rng) if isinstance(rng, (int, np.integer)) else rng


def xor():
    """The four cases of exclusive-or: X (4, 2) in {0, 1}, targets d (4, 1) = x1 XOR x2.

    No single-layer network separates them; one hidden layer of two units does.
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([[0.0], [1.0], [1.0], [0.0]])


def mirror_symmetry(n_bits: int = 6):
    """Every ``n_bits``-bit pattern (64 for 6 bits), in counting order, with target 1
    iff the pattern is symmetric about its centre (x_i = x_{n+1-i}), else 0
    (Rumelhart, Hinton and Williams, 1986, Fig. 1): X (2^n, n), d (2^n, 1).
    8 of the 64 six-bit patterns are symmetric.
    """
    X = np.array(list(itertools.product([0.0, 1.0], repeat=n_bits)))
    d = (X == X[:, ::-1]).all(axis=1).astype(np.float64)
    return X, d[:, None]


def two_spirals(n: int = 100, noise: float = 0.0, rng=None, turns: float = 1.5):
    """Two interleaved spirals (Lang and Witbrock, 1988), ``n`` points each:

        r = t, theta = 2 pi turns t, t in (0, 1];  class 0 at (r cos theta, r sin theta),
        class 1 at the point reflected through the origin; Gaussian noise of std ``noise``.

    Returns X (2n, 2) float64 and labels y (2n,) int64 (class 0 first).
    """
    r = _rng(rng, noise)
    t = np.linspace(1.0 / n, 1.0, n)
    theta = 2 * np.pi * turns * t
    arm = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
    X = np.concatenate([arm, -arm])
    if r is not None:
        X = X + noise * r.standard_normal(X.shape)
    return X, np.repeat(np.array([0, 1], dtype=np.int64), n)


def moons(n: int = 200, noise: float = 0.1, rng=None):
    """Two interleaving half circles (scikit-learn's ``make_moons``), n points in all:

        class 0: (cos s, sin s), class 1: (1 - cos s, 1/2 - sin s), s in [0, pi],

    plus Gaussian noise of std ``noise``. Returns X (n, 2) float64, y (n,) int64.
    """
    r = _rng(rng, noise)
    n_out = n // 2
    n_in = n - n_out
    s_out, s_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([
        np.stack([np.cos(s_out), np.sin(s_out)], axis=1),
        np.stack([1 - np.cos(s_in), 0.5 - np.sin(s_in)], axis=1),
    ])
    if r is not None:
        X = X + noise * r.standard_normal(X.shape)
    return X, np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])

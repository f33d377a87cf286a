"""Small pieces that several assignments' checks share."""

import numpy as np


def seeded(fn):
    """``fn(*args, rng)`` called as ``(*args, seed)``: cases stay plain data, and the
    student's function and the reference each get a fresh generator of that seed."""
    def call(*args):
        *rest, seed = args
        return fn(*rest, np.random.default_rng(seed))
    return call


def seed(rng):
    return int(rng.integers(0, 2**31))

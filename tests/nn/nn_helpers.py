"""Shared test helpers: gradcheck a module with respect to its input and parameters."""

import numpy as np

import backproplab
from backproplab import Tensor


def module_gradcheck(module, *inputs, reset=None, **kw):
    """gradcheck ``module(*inputs)`` with respect to the floating inputs and every
    parameter. ``reset`` (optional) runs before each forward pass (e.g. re-seeds
    dropout so every pass uses the same mask)."""
    params = list(module.named_parameters())
    owners = []
    for name, _ in params:
        *path, attr = name.split(".")
        owner = module
        for part in path:
            owner = owner[int(part)] if part.isdigit() and hasattr(owner, "__getitem__") else getattr(owner, part)
        owners.append((owner, attr))
    originals = [p for _, p in params]

    def fn(*args):
        xs, ps = args[: len(inputs)], args[len(inputs):]
        for (owner, attr), p in zip(owners, ps):
            object.__setattr__(owner, attr, p)
        if reset is not None:
            reset()
        return module(*xs)

    try:
        return backproplab.gradcheck(fn, *inputs, *originals, **kw)
    finally:
        for (owner, attr), p in zip(owners, originals):
            object.__setattr__(owner, attr, p)


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(*shape, seed=0, requires_grad=True):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=requires_grad)

"""Checks of exercise notebook 01_derivatives."""

import numpy as np

from ... import numerics
from ...gradcheck import numerical_gradient
from ..spec import Spec

REFERENCES = ("backproplab",)

FUNCTIONS = {"sin": np.sin, "exp": np.exp, "tanh": np.tanh, "cos": np.cos}


def cubes(x):
    return float(np.sum(x ** 3))


def coupled(x):
    return float(np.sum(np.tanh(x @ x.T)))


SCALAR_FUNCTIONS = {"cubes": cubes, "coupled": coupled}


def _difference_cases(rng):
    return [("sin", float(rng.uniform(-2, 2)), 1e-3), ("exp", float(rng.uniform(-1, 1)), 1e-2),
            ("tanh", rng.uniform(-2, 2, 3), 1e-3), ("cos", float(rng.uniform(-3, 3)), 1e-4)]


def _difference_spec(name, reference):
    return Spec(
        name, name, 1, _difference_cases, subject=name,
        observe=lambda subjects, f, x, h: subjects[0](FUNCTIONS[f], x, h),
        reference=lambda f, x, h: reference(FUNCTIONS[f], x, h),
        rtol=1e-9, atol=1e-12, names="derivative", arg_names=("f", "x", "h"))


def _gradient_cases(rng):
    return [("cubes", rng.standard_normal(4), 1e-3), ("coupled", rng.standard_normal((2, 3)), 1e-3),
            ("cubes", rng.integers(-3, 4, (2, 2)), 1e-3)]


SPECS = [
    _difference_spec("forward_difference", numerics.forward_difference),
    _difference_spec("central_difference", numerics.central_difference),
    Spec("numerical_gradient", "numerical_gradient", 2, _gradient_cases,
         subject="numerical_gradient",
         observe=lambda subjects, f, x, h: subjects[0](SCALAR_FUNCTIONS[f], x, h),
         reference=lambda f, x, h: numerical_gradient(SCALAR_FUNCTIONS[f], x, eps=h),
         rtol=1e-7, atol=1e-9, names="gradient", arg_names=("f", "x", "h"), seed=1),
]

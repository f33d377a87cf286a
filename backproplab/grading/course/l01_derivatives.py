"""Checks of exercise notebook 01_derivatives."""

import numpy as np

from ... import numerics
from ...gradcheck import numerical_gradient
from ..spec import Spec
from ._diagnose import diagnose

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


def _second_difference(f, x, h):
    f = FUNCTIONS[f]
    return (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2


def _second_cases(rng):
    return [("sin", float(rng.uniform(-2, 2)), 1e-2), ("exp", float(rng.uniform(-1, 1)), 1e-2),
            ("tanh", rng.uniform(-2, 2, 3), 1e-2), ("cos", float(rng.uniform(-3, 3)), 2e-3)]


SECOND_MISTAKES = [
    ("it is half the expected value: check the denominator (what multiplies f''(x) once "
     "the two expansions are added?)",
     lambda f, x, h: _second_difference(f, x, h) / 2),
    ("it matches the one-sided difference (f(x+2h) - 2f(x+h) + f(x)) / h², which is centred "
     "on x + h, not on x",
     lambda f, x, h: _second_difference(f, x + h, h)),
    ("it is h times too large: a second derivative divides by h²",
     lambda f, x, h: _second_difference(f, x, h) * h),
]


def _central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def _richardson(f, x, h):
    f = FUNCTIONS[f]
    return (4 * _central(f, x, h) - _central(f, x, 2 * h)) / 3


def _richardson_cases(rng):
    return [("sin", float(rng.uniform(-2, 2)), 0.1), ("exp", float(rng.uniform(-1, 1)), 0.05),
            ("tanh", rng.uniform(-1.5, 1.5, 3), 0.1), ("cos", float(rng.uniform(-3, 3)), 0.2)]


RICHARDSON_MISTAKES = [
    ("it matches the plain average (D0(h) + D0(2h)) / 2, which keeps the h² term",
     lambda f, x, h: (_central(FUNCTIONS[f], x, h) + _central(FUNCTIONS[f], x, 2 * h)) / 2),
    ("it matches 2 D0(h) - D0(2h), which would cancel an error proportional to h (the forward "
     "difference's); the central difference's error grows as h², so 2h has 4 times the error",
     lambda f, x, h: 2 * _central(FUNCTIONS[f], x, h) - _central(FUNCTIONS[f], x, 2 * h)),
    ("it matches (4 D0(2h) - D0(h)) / 3: the weights of the two steps are swapped",
     lambda f, x, h: (4 * _central(FUNCTIONS[f], x, 2 * h) - _central(FUNCTIONS[f], x, h)) / 3),
]


SPECS = [
    _difference_spec("forward_difference", numerics.forward_difference),
    _difference_spec("central_difference", numerics.central_difference),
    Spec("numerical_gradient", "numerical_gradient", 2, _gradient_cases,
         subject="numerical_gradient",
         observe=lambda subjects, f, x, h: subjects[0](SCALAR_FUNCTIONS[f], x, h),
         reference=lambda f, x, h: numerical_gradient(SCALAR_FUNCTIONS[f], x, eps=h),
         rtol=1e-7, atol=1e-9, names="gradient", arg_names=("f", "x", "h"), seed=1),
    Spec("second_difference", "second_difference", 2, _second_cases,
         subject="second_difference",
         observe=lambda subjects, f, x, h: subjects[0](FUNCTIONS[f], x, h),
         judge=diagnose(_second_difference, SECOND_MISTAKES, names="second derivative",
                        rtol=1e-6, atol=1e-8),
         arg_names=("f", "x", "h"), seed=4),
    Spec("richardson_difference", "richardson_difference", 2, _richardson_cases,
         subject="richardson_difference",
         observe=lambda subjects, f, x, h: subjects[0](FUNCTIONS[f], x, h),
         judge=diagnose(_richardson, RICHARDSON_MISTAKES, names="derivative", rtol=1e-9,
                        atol=1e-12),
         arg_names=("f", "x", "h"), seed=5),
]

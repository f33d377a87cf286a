"""The checks of the course's exercise notebooks, one module per assignment.

Each module defines ``SPECS`` (a list of :class:`~backproplab.grading.spec.Spec`) and
``REFERENCES``: the library names its checks compare against, which answers may not use
(the grader's static read flags them).
"""

import importlib
import re

ASSIGNMENTS = {
    "00_demo": "l00_demo",  # the grader's tests and an example for authors
    "01_derivatives": "l01_derivatives",
    "02_chain_rule": "l02_chain_rule",
    "03_scalar_engine": "l03_scalar_engine",
    "04_tensors": "l04_tensors",
    "05_layers": "l05_layers",
    "06_training": "l06_training",
    "07_vanishing_gradients": "l07_vanishing_gradients",
    "08_optimizers": "l08_optimizers",
    "09_generalization": "l09_generalization",
    "10_cost": "l10_cost",
    "11_convolution": "l11_convolution",
    "12_bptt": "l12_bptt",
    "13_attention": "l13_attention",
    "14_past_differentiable": "l14_past_differentiable",
    "15_autodiff": "l15_autodiff",
    "16_brain_and_scale": "l16_brain_and_scale",
}
# A plain assignment name, as the course spells them: nothing that could be a path.
ASSIGNMENT_NAME = re.compile(r"^[0-9]{2}_[a-z0-9_]{1,60}$")


def module(assignment):
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"no checks for assignment {assignment!r}")
    return importlib.import_module(f"{__name__}.{ASSIGNMENTS[assignment]}")


def specs(assignment):
    """``{check id: Spec}`` of one assignment."""
    return {spec.id: spec for spec in module(assignment).SPECS}


def references(assignment):
    """Dotted library names the checks of ``assignment`` compare against."""
    return tuple(getattr(module(assignment), "REFERENCES", ()))

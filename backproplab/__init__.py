"""backproplab: learn backpropagation by doing it.

    Value      the scalar autograd engine of the early lessons (backproplab.scalar)
    Tensor     reverse-mode autodiff on n-d arrays, NumPy on the CPU, CuPy on a GPU
    gradcheck  central-difference checking of any op's or layer's gradients
"""

from .autodiff import no_grad, enable_grad, is_grad_enabled
from .scalar import Value
from .tensor import Tensor, tensor, zeros, ones, matmul, concatenate, stack, where
from .gradcheck import gradcheck, numerical_gradient, GradcheckError

__version__ = "0.1.0"

__all__ = [
    "Value",
    "Tensor",
    "tensor",
    "zeros",
    "ones",
    "matmul",
    "concatenate",
    "stack",
    "where",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gradcheck",
    "numerical_gradient",
    "GradcheckError",
]

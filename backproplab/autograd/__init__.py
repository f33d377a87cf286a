"""``backproplab.autograd``: the engine's functions under PyTorch's module names.

    grad(outputs, inputs, grad_outputs=None, ...)   torch.autograd.grad
    backward(tensor, grad=None, ...)                torch.autograd.backward
    functional.vjp / jvp / vhp / hvp / jacobian / hessian   torch.autograd.functional

The engine itself is ``backproplab.autodiff``.
"""

from ..autodiff import Function, backward, grad, no_grad, enable_grad, is_grad_enabled
from . import functional

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled", "functional"]

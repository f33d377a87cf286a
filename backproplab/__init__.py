"""backproplab: learn backpropagation by doing it.

    Value      the scalar autograd engine of the early lessons (backproplab.scalar)
    Tensor     reverse-mode autodiff on n-d arrays, NumPy on the CPU, CuPy on a GPU
    gradcheck  central-difference checking of any op's or layer's gradients
    grad, autograd  gradients of gradients (torch.autograd.grad, autograd.functional)
    checkpoint, checkpoint_sequential  recompute segments in backward to save memory
    memory     bytes a graph holds for backward (per op, per module), tracemalloc peaks
    amp        mixed precision: autocast to float16/bfloat16, GradScaler
    parallel   data parallelism simulated in one process: ring all-reduce
    nondiff    past the differentiable: straight-through round/sign, REINFORCE, FGSM
    nn, optim  layers, losses, initialisers and optimizers with PyTorch's names
    data       the 8x8 digits, MNIST files, the 1986 paper's tasks, a seeded DataLoader
    train      a fit loop with history, early stopping and checkpoints
    diagnostics  gradient norms, activation statistics, dead and saturated units
    manual     the hand-written forward/backward pairs of lessons 4 and 5
    grading    the checks that exercise notebooks call, and the grader
"""

from .autodiff import no_grad, enable_grad, is_grad_enabled, grad
from .scalar import Value
from .tensor import Tensor, tensor, zeros, ones, matmul, concatenate, stack, where
from .gradcheck import gradcheck, numerical_gradient, GradcheckError
from . import nn, optim, data, diagnostics, train
from . import autograd, amp, memory, parallel
from . import nondiff
from .checkpoint import checkpoint, checkpoint_sequential

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
    "grad",
    "autograd",
    "amp",
    "memory",
    "parallel",
    "nondiff",
    "checkpoint",
    "checkpoint_sequential",
    "gradcheck",
    "numerical_gradient",
    "GradcheckError",
    "nn",
    "optim",
    "data",
    "diagnostics",
    "train",
]

"""The primitive ops: each a ``Function`` with forward and backward side by side.

Everything else (mean, softmax, losses, layers) is composed from these, so its
gradient comes from the engine and needs no code of its own.
"""

from .elementwise import Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Tanh, Sigmoid, Relu, Where, Cast
from .reduce import Sum, Max
from .movement import Expand, Reshape, Permute, Index, Gather, Concatenate
from .matmul import MatMul
from .conv import Conv2d, MaxPool2d
from .softmax import Softmax
from .lstm import LSTMPointwise

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Tanh", "Sigmoid", "Relu",
    "Where", "Cast", "Sum", "Max", "Expand", "Reshape", "Permute", "Index", "Gather", "Concatenate",
    "MatMul", "Softmax", "LSTMPointwise", "Conv2d", "MaxPool2d",
]

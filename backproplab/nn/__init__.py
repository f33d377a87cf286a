"""Neural-network building blocks on top of ``backproplab.Tensor``.

Names and call shapes follow PyTorch's ``torch.nn``; layers compute with the
lessons' layout, ``Y = X W + b`` with X (N, D_in) and W (D_in, D_out).

    from backproplab import nn
    model = nn.Sequential(nn.Linear(64, 32, rng=rng), nn.ReLU(), nn.Linear(32, 10, rng=rng))
    loss = nn.functional.cross_entropy(model(x), y)
"""

from . import functional, init
from .module import Module, Parameter, Sequential
from .linear import Linear
from .feedback_alignment import FeedbackAlignmentLinear
from .activation import Identity, Sigmoid, Tanh, ReLU, LeakyReLU, GELU, Softmax, LogSoftmax
from .normalization import BatchNorm1d, LayerNorm
from .dropout import Dropout
from .embedding import Embedding
from .residual import Residual, ResidualBlock
from .loss import MSELoss, SumSquaredError, BCEWithLogitsLoss, CrossEntropyLoss
from .softmax_cross_entropy import SoftmaxCrossEntropy
from .conv import Conv1d, Conv2d
from .pooling import MaxPool2d, AvgPool2d
from .flatten import Flatten
from .recurrent import RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU
from .attention import MultiheadAttention
from .transformer import (
    TransformerEncoderLayer, PositionalEncoding, LearnedPositionalEncoding, sinusoidal_positional_encoding,
)

__all__ = [
    "functional", "init",
    "Module", "Parameter", "Sequential",
    "Linear", "FeedbackAlignmentLinear",
    "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU", "Softmax", "LogSoftmax",
    "BatchNorm1d", "LayerNorm", "Dropout", "Embedding", "Residual", "ResidualBlock",
    "MSELoss", "SumSquaredError", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "SoftmaxCrossEntropy",
    "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten",
    "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU",
    "MultiheadAttention", "TransformerEncoderLayer", "PositionalEncoding", "LearnedPositionalEncoding",
    "sinusoidal_positional_encoding",
]

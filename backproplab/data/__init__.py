"""Datasets and mini-batches: the 8x8 digits, MNIST from IDX files, the small
classic problems of the 1986 paper, and a seeded ``DataLoader``.

Arrays are NumPy; ``DataLoader`` turns batches into Tensors (on a device if asked).
"""

from .digits import Split, load_digits
from .loader import DataLoader

__all__ = ["Split", "load_digits", "DataLoader"]

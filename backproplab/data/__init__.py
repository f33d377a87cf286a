"""Datasets and mini-batches: the 8x8 digits, MNIST from IDX files, the small
classic problems of the 1986 paper, Hinton's family trees, and a seeded
``DataLoader``. Arrays are NumPy; ``DataLoader`` turns batches into Tensors.
"""

from .digits import Split, load_digits, load_digit_images
from .mnist import load_mnist_idx, read_idx
from .toy import xor, two_spirals, moons, mirror_symmetry
from .family_trees import FamilyTrees, family_trees
from .loader import DataLoader
from .sequences import adding_problem, copy_task, parity
from .corpus import CharCorpus, load_corpus

__all__ = [
    "Split", "load_digits", "load_digit_images", "load_mnist_idx", "read_idx",
    "xor", "two_spirals", "moons", "mirror_symmetry", "FamilyTrees", "family_trees",
    "DataLoader",
    "adding_problem", "copy_task", "parity",
    "CharCorpus", "load_corpus",
]

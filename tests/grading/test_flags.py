"""The static read of a student's cells: what is flagged, and what an honest answer does
without being flagged."""

import pytest

from backproplab.grading.flags import flag_cell

PROTECTED = {"check", "np", "Value", "build_mlp"}
ALIASES = {"np": "numpy", "manual": "backproplab.manual", "bl": "backproplab"}
REFERENCES = ("backproplab",)


def flags(source):
    return [str(f) for f in flag_cell(source, PROTECTED, ALIASES, REFERENCES)]


@pytest.mark.parametrize("source", [
    "def relu_backward(dout, x):\n    return np.where(x > 0, dout, 0.0)",
    "import math\nfrom collections import defaultdict\nimport numpy as numpy_again",
    "class V:\n    def __init__(self):\n        super().__init__()\n        self._prev = ()",
    "def f(node):\n    return node._backward(node.grad)",
    "x = getattr(node, 'grad')",
    "import time\nstart = time.perf_counter()",
    "def topological_sort(root):\n    order, seen, stack = [], set(), [root]\n    return order",
    "1 / 0  # an experiment that fails",
    "def broken(:\n    pass",  # does not parse: it fails when it runs, no flag needed
])
def test_honest_code_is_not_flagged(source):
    assert flags(source) == []


@pytest.mark.parametrize("source, reason", [
    ("from backproplab import manual\nf = manual.relu_backward", "uses backproplab.manual"),
    ("def f(x):\n    return manual.relu_backward(x, x)", "which the checks compare against"),
    ("y = bl.numerics.forward_difference", "uses backproplab.numerics"),
    ("import backproplab.manual as m", "uses backproplab.manual"),
    ("np.isclose = lambda *a, **k: True", "changes np.isclose"),
    ("check = print", "rebinds check"),
    ("def build_mlp(params):\n    return []", "rebinds build_mlp"),
    ("def f():\n    global check\n    check = None", "rebinds check"),
    ("import os", "imports os"),
    ("import subprocess", "imports subprocess"),
    ("import threading", "imports threading"),
    ("import socket", "imports socket"),
    ("from importlib import import_module", "imports importlib"),
    ("import inspect", "imports inspect"),
    ("import gc", "imports gc"),
    ("import sys", "imports sys"),
    ("exec('1')", "calls exec()"),
    ("eval('1')", "calls eval()"),
    ("compile('1', 'x', 'exec')", "calls compile()"),
    ("__import__('os')", "calls __import__()"),
    ("open('/proc/1/cmdline').read()", "calls open()"),
    ("get_ipython().events.register('pre_run_cell', print)", "calls get_ipython()"),
    ("%timeit 1 + 1", "calls get_ipython()"),
    ("!ls", "calls get_ipython()"),
    ("f.__code__ = g.__code__", "uses the attribute __code__"),
    ("x = (1).__class__.__base__", "uses the attribute __class__"),
    ("frame.f_back.f_locals['expected']", "uses the frame attribute f_back"),
    ("__builtins__['print']", "uses __builtins__"),
    ("y = getattr(np, 'is' + 'close')", "with a name that is not written out"),
    ("setattr(np, 'isclose', 1)", "calls setattr()"),
])
def test_shortcuts_are_flagged_with_the_line(source, reason):
    found = flags(source)
    assert found and any(reason in f for f in found), found
    assert all(f.startswith("line ") for f in found)


def test_a_cell_too_deep_for_the_parser_is_no_crash():
    assert flags("x = " + "-" * 200_000 + "1") == []

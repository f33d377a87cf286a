"""Checks of exercise notebook 03_scalar_engine: the student's Value against backproplab.Value.

Graphs are built by ``numerics.example_graph`` with leaf values drawn from the case's
seed, once with the notebook's Value class (observed) and once with the library's.
"""

import math

from ... import numerics
from ...scalar import Value as LibraryValue
from ..spec import Spec
from ._common import seed
from ._diagnose import diagnose

REFERENCES = ("backproplab",)


def _nodes(root):
    """Every node ``root`` depends on, by a walk with a stack (not the student's sort)."""
    seen, stack, nodes = {id(root)}, [root], [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                nodes.append(child)
                stack.append(child)
    return nodes


def _observe_order(subjects, name, leaf_seed):
    import numpy as np
    topological_sort, value_cls = subjects
    root = numerics.example_graph(value_cls, name, np.random.default_rng(leaf_seed))
    order = topological_sort(root)
    if order is None:
        return None
    if not isinstance(order, (list, tuple)):
        raise TypeError(f"topological_sort returned a {type(order).__name__}, expected a list "
                        f"of nodes")
    labels = {id(node): node.label for node in _nodes(root)}
    # A node outside the graph has no label here: it is reported as None.
    return [labels.get(id(node)) for node in order]


def _judge_order(observed, name, leaf_seed):
    import numpy as np
    root = numerics.example_graph(LibraryValue, name, np.random.default_rng(leaf_seed))
    if observed is None:
        return "topological_sort returned None: did you forget `return`?"
    by_label = {node.label: node for node in _nodes(root)}
    if any(label not in by_label for label in observed):
        return "the order contains something that is not a node of the graph"
    return numerics.topological_order_problem(root, [by_label[label] for label in observed])


def _observe_grads(subjects, name, leaf_seed):
    import numpy as np
    backward, value_cls = subjects
    root = numerics.example_graph(value_cls, name, np.random.default_rng(leaf_seed))
    backward(root)
    return {node.label: float(node.grad) for node in _nodes(root)}


def _library_grads(name, leaf_seed):
    import numpy as np
    root = numerics.example_graph(LibraryValue, name, np.random.default_rng(leaf_seed))
    root.backward()
    return {node.label: node.grad for node in _nodes(root)}


def _graph_cases(names):
    return lambda rng: [(name, seed(rng)) for name in names]


def _tanh_cases(rng):
    return [(math.tanh(a), float(rng.uniform(-3, 3)))
            for a in [*rng.uniform(-2.5, 2.5, 3), 0.0]]


def _pow_cases(rng):
    return [(float(rng.uniform(0.3, 3)), k, float(rng.uniform(-2, 2))) for k in (2, 3, -1, 0.5, 1)]


def _div_cases(rng):
    cases = []
    for _ in range(3):
        b = float(rng.uniform(0.5, 3) * rng.choice([-1, 1]))
        cases.append((float(rng.uniform(-3, 3)), b, float(rng.uniform(-2, 2))))
    return cases


DIV_MISTAKES = [
    ("the sign of dL/db is flipped: what is the sign of d(b^-1)/db?",
     lambda a, b, dout: (dout / b, a * dout / b ** 2)),
    ("dL/db lacks the factor a: out = a b^-1, so d out/db = a times d(b^-1)/db",
     lambda a, b, dout: (dout / b, -dout / b ** 2)),
    ("dL/db has b where b² belongs: d(b^-1)/db = -b^-2",
     lambda a, b, dout: (dout / b, -a * dout / b)),
]


def _three_uses(x, y):
    return (x * y + x) * x


def _use_sums(x, y):
    # the contributions to dL/dx of x's three uses in L = (x y + x) x: in x y, in + x, in * x
    return y * x, x, x * y + x


def _some_uses(pick):
    return lambda x, y: (sum(c for c, keep in zip(_use_sums(x, y), pick) if keep), x * x)


THREE_USE_MISTAKES = [
    ("dL/dx leaves out the contribution of at least one of the three uses of x; add one "
     "contribution per use (3.1), as backward()'s += does",
     _some_uses(pick))
    for pick in [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1)]]


SPECS = [
    Spec("mul_backward", "mul_backward", 1,
         lambda rng: [tuple(float(v) for v in rng.uniform(-3, 3, 3)) for _ in range(3)],
         subject="mul_backward",
         reference=lambda a, b, dout: numerics.value_grads(lambda x, y: x * y, a, b, upstream=dout),
         rtol=1e-12, atol=1e-15, names=("dL/da", "dL/db")),
    Spec("tanh_backward", "tanh_backward", 1, _tanh_cases, subject="tanh_backward",
         reference=lambda t, dout: numerics.value_grads(lambda x: x.tanh(), math.atanh(t),
                                                        upstream=dout)[0],
         rtol=1e-9, atol=1e-12, names="dL/da"),
    Spec("pow_backward", "pow_backward", 1, _pow_cases, subject="pow_backward",
         reference=lambda a, k, dout: numerics.value_grads(lambda x: x ** k, a, upstream=dout)[0],
         rtol=1e-9, atol=1e-12, names="dL/da"),
    Spec("topological_sort", "topological_sort", 2,
         _graph_cases(["node used twice", "diamond", "neuron", "deep chain"]),
         subject="topological_sort", observe=_observe_order, judge=_judge_order),
    Spec("backward", "backward", 2, _graph_cases(["sum used twice", "deep chain"]),
         subject="backward", observe=_observe_grads, reference=_library_grads,
         rtol=1e-9, atol=1e-12, names="grad"),
    Spec("backward:every_op", "backward", 2,
         _graph_cases(["node used twice", "diamond", "neuron"]),
         subject="backward", observe=_observe_grads, reference=_library_grads,
         rtol=1e-9, atol=1e-12, names="grad"),
    Spec("div_backward", "div_backward", 2, _div_cases, subject="div_backward",
         judge=diagnose(lambda a, b, dout: numerics.value_grads(lambda x, y: x / y, a, b,
                                                                 upstream=dout),
                        DIV_MISTAKES, names=("dL/da", "dL/db"), rtol=1e-9, atol=1e-12),
         arg_names=("a", "b", "dout"), seed=8),
    Spec("used_three_times", "used_three_times", 2,
         lambda rng: [tuple(float(v) for v in rng.uniform(-3, 3, 2)) for _ in range(3)],
         subject="used_three_times",
         judge=diagnose(lambda x, y: numerics.value_grads(_three_uses, x, y),
                        THREE_USE_MISTAKES, names=("dL/dx", "dL/dy"), rtol=1e-9, atol=1e-12),
         arg_names=("x", "y"), seed=9),
]

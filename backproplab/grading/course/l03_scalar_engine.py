"""Checks of exercise notebook 03_scalar_engine: the student's Value against backproplab.Value.

Graphs are built by ``numerics.example_graph`` with leaf values drawn from the case's
seed, once with the notebook's Value class (observed) and once with the library's.
"""

import math

from ... import numerics
from ...scalar import Value as LibraryValue
from ..spec import Spec
from ._common import seed

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
]

"""Reference computations behind the exercises of lessons 1-3.

- Lesson 1: finite-difference derivatives, ``forward_difference`` (1.1) and
  ``central_difference`` (1.3); the array version is ``backproplab.numerical_gradient``.
- Lessons 2-3: gradients of small expressions computed by the library's own engines,
  ``value_grads`` (``backproplab.Value``) and ``tensor_grads`` (``backproplab.Tensor``),
  so that an exercise's answer is compared with backprop, not with a pasted formula.
- Lesson 2: ``delta_rule_update``, the weight change of Rumelhart, Hinton & Williams
  (1986), eqs. 8-9.
- Lesson 3: ``example_graph`` builds the same small graphs with any Value class, and
  ``topological_order_problem`` says what is wrong with a proposed topological order.
"""

from __future__ import annotations

import numpy as np

from .scalar import Value
from .tensor import Tensor

__all__ = [
    "forward_difference",
    "central_difference",
    "value_grads",
    "tensor_grads",
    "delta_rule_update",
    "GRAPHS",
    "example_graph",
    "topological_order_problem",
]


# ---- lesson 1: finite differences ----

def _check_step(fn, h):
    steps = np.asarray(h)
    if steps.dtype.kind not in "iuf" or not np.all(np.isfinite(steps)) or not np.all(steps > 0):
        raise ValueError(f"{fn}: the step h must be a positive finite number (or an array "
                         f"of them), got h = {h!r}")


def forward_difference(f, x, h=1e-6):
    """Forward difference, eq. (1.1): f'(x) ~ (f(x + h) - f(x)) / h.

    Error ~ (h/2) |f''(x)| (truncation) + eps |f(x)| / h (rounding). ``x`` and ``h`` may be
    numbers or arrays (broadcast together, e.g. one x and many h); the arithmetic keeps
    their dtype, so float32 inputs show float32 rounding.
    """
    _check_step("forward_difference", h)
    return (f(x + h) - f(x)) / h


def central_difference(f, x, h=1e-6):
    """Central difference, eq. (1.3): f'(x) ~ (f(x + h) - f(x - h)) / (2h).

    Error ~ (h^2/6) |f'''(x)| (truncation) + eps |f(x)| / h (rounding). Same broadcasting
    and dtype rules as ``forward_difference``.
    """
    _check_step("central_difference", h)
    return (f(x + h) - f(x - h)) / (2 * h)


# ---- lessons 2-3: gradients from the library's engines ----

def value_grads(fn, *inputs, upstream=1.0):
    """d(upstream * fn(x_1, ..., x_n))/dx_i for numbers x_i, by ``backproplab.Value``.

    fn: builds a Value from n Values, e.g. ``lambda a, b: a * b``.
    Returns a tuple of n floats.
    >>> value_grads(lambda a, b: a * b, 2.0, -3.0, upstream=0.5)
    (-1.5, 1.0)
    """
    leaves = [Value(x) for x in inputs]
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"value_grads: fn must return a Value, got {type(out).__name__}")
    (out * upstream).backward()
    return tuple(leaf.grad for leaf in leaves)


def tensor_grads(fn, *arrays, upstream=None):
    """Gradients of sum(upstream * fn(A_1, ..., A_n)) with respect to every A_i, by
    ``backproplab.Tensor`` in float64.

    fn: maps n Tensors to a Tensor of any shape, e.g. ``lambda x: x.sigmoid()``.
    arrays: NumPy arrays or numbers; each is copied (the caller's are never changed).
    upstream: dL/d(output), the output's shape; default ones, so an elementwise fn
        gives its elementwise derivative.
    Returns a tuple of n float64 NumPy arrays, A_i's shapes (zeros where fn ignores A_i).
    """
    leaves = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"tensor_grads: fn must return a Tensor, got {type(out).__name__}")
    grad = np.ones(out.shape) if upstream is None else np.array(upstream, dtype=np.float64)
    if grad.shape != out.shape:
        raise ValueError(f"tensor_grads: upstream has shape {grad.shape} but fn returned "
                         f"shape {out.shape}; they must match")
    out.backward(grad)
    return tuple(np.zeros(leaf.shape) if leaf.grad is None else np.asarray(leaf.grad)
                 for leaf in leaves)


# ---- lesson 2: the delta rule of 1986, eqs. 8-9 ----

def delta_rule_update(w, dE_dw, prev_delta, lr, momentum=0.0):
    """One step of eq. 9: delta(t) = -lr * dE/dw(t) + momentum * delta(t-1); w += delta.

    With momentum = 0 this is eq. 8, plain gradient descent. w, dE_dw and prev_delta
    have one shape (any); returns (new w, delta(t)) as new arrays, inputs unchanged.
    """
    w, dE_dw, prev_delta = (np.asarray(a) for a in (w, dE_dw, prev_delta))
    if not (w.shape == dE_dw.shape == prev_delta.shape):
        raise ValueError(f"delta_rule_update: w, dE_dw and prev_delta must have one shape, "
                         f"got {w.shape}, {dE_dw.shape} and {prev_delta.shape}")
    delta = -lr * dE_dw + momentum * prev_delta
    return w + delta, delta


# ---- lesson 3: graphs to test a scalar engine on ----

# name -> what the graph is for; every graph is built from + * exp tanh ** only.
GRAPHS = {
    "node used twice": "b = a * a; c = b + a: a feeds two ops, and one op twice",
    "diamond": "a feeds b and c, which meet again in d",
    "sum used twice": "only + and exp: d = exp(a + a) + (a + b)",
    "neuron": "y = tanh(w1 x1 + w2 x2 + b); L = (y - 0.5)^2",
    "deep chain": "20,000 additions in a row, deeper than Python's recursion limit",
}


def example_graph(value_cls, name, rng=None):
    """The graph ``name`` of ``GRAPHS`` built with ``value_cls``; returns its output node.

    value_cls: a Value class with ``Value(data, label=...)``, ``+``, ``*`` (and for some
    graphs ``exp``, ``tanh``, ``** k``). Every node made here has a distinct label, so
    gradients can be compared between two engines by label. rng: when given, every leaf
    gets a value drawn uniformly from [-1.5, 1.5] instead of the graph's fixed one (the
    same generator state gives the same graph in both engines).
    """
    def leaf(data, label):
        return value_cls(data if rng is None else float(rng.uniform(-1.5, 1.5)), label=label)

    def named(node, label):
        node.label = label
        return node

    if name == "node used twice":
        a = leaf(3.0, "a")
        b = named(a * a, "b")
        return named(b + a, "c")
    if name == "diamond":
        a, k = leaf(1.5, "a"), leaf(-2.0, "k")
        b = named(a * k, "b")
        c = named(a + k, "c")
        return named(b * c, "d")
    if name == "sum used twice":
        a, b = leaf(0.5, "a"), leaf(-1.0, "b")
        s = named(a + a, "s")
        e = named(s.exp(), "e")
        t = named(a + b, "t")
        return named(e + t, "d")
    if name == "neuron":
        x1, x2 = leaf(2.0, "x1"), leaf(-1.0, "x2")
        w1, w2, b = leaf(-0.5, "w1"), leaf(0.75, "w2"), leaf(0.25, "b")
        p1 = named(w1 * x1, "w1*x1")
        p2 = named(w2 * x2, "w2*x2")
        s = named(p1 + p2, "s")
        z = named(s + b, "z")
        y = named(z.tanh(), "y")
        diff = named(y + leaf(-0.5, "-d"), "y-d")
        return named(diff ** 2, "L")
    if name == "deep chain":
        x = leaf(0.0, "x0")
        for i in range(1, 20_000):
            x = named(x + leaf(1e-3, f"c{i}"), f"x{i}")
        return x
    raise ValueError(f"example_graph: unknown graph {name!r}; choose one of {list(GRAPHS)}")


def topological_order_problem(root, order, what="the order"):
    """None if ``order`` lists every node ``root`` depends on (root included) exactly once,
    each after all of its inputs (``node._prev``); otherwise a sentence saying what is wrong.
    """
    if order is None:
        return f"{what} is None: did you forget `return`?"
    try:
        order = list(order)
    except TypeError:
        return f"{what} is a {type(order).__name__}, expected a list of nodes"
    reachable, stack = {id(root): root}, [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in reachable:
                reachable[id(child)] = child
                stack.append(child)
    position = {}
    for i, node in enumerate(order):
        if id(node) not in reachable:
            return f"{what} contains {node!r}, which is not in the graph"
        if id(node) in position:
            return (f"{what} lists a node twice ({_name(node)}, at positions "
                    f"{position[id(node)]} and {i}); a node used twice must appear once")
        position[id(node)] = i
    missing = [n for key, n in reachable.items() if key not in position]
    if missing:
        return (f"{what} has {len(order)} nodes but the graph has {len(reachable)}; "
                f"missing e.g. {_name(missing[0])}")
    for i, node in enumerate(order):
        for child in node._prev:
            if position[id(child)] > i:
                return (f"{_name(node)} comes before its input {_name(child)}; every node "
                        f"must come after all of its inputs")
    return None


def _name(node):
    label = getattr(node, "label", "")
    return f"node {label!r}" if label else f"the node with data {node.data:.4g}"

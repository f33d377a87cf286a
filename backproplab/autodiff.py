"""Reverse-mode automatic differentiation: the graph walk.

An op is a ``Function``: ``forward`` maps input arrays to an output array and
keeps (as named attributes) only what ``backward`` needs; ``backward`` maps
dL/d(output) to dL/d(input) for every input. The engine owns the order and the
accumulation: it visits tensors in reverse topological order, so a tensor's
gradient is complete before it is passed on, and it adds (never assigns) the
contributions of every path, as a tensor used twice requires.
"""

from __future__ import annotations

import contextlib
import contextvars

from . import backend

__all__ = ["Function", "no_grad", "enable_grad", "is_grad_enabled", "backward"]

_grad_enabled = contextvars.ContextVar("backproplab_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    return _grad_enabled.get()


@contextlib.contextmanager
def no_grad():
    """Inside this block ops record no graph (evaluation, optimizer updates)."""
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


@contextlib.contextmanager
def enable_grad():
    token = _grad_enabled.set(True)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


class Function:
    """One primitive op. Subclasses define ``forward(*arrays, **params)`` and
    ``backward(grad) -> tuple`` with one entry per input (None where
    ``needs_input_grad`` is False)."""

    def __init__(self, *parents):
        self.parents = parents
        self.needs_input_grad = tuple(p.requires_grad for p in parents)

    def forward(self, *arrays, **params):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def release(self):
        """Drop saved arrays once backward has used them (frees memory)."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self):
        return f"<{type(self).__name__}>"


_RELEASED_MESSAGE = (
    "backward() through a graph that was already backpropagated and released: "
    "its saved values are gone, and running it again would add every gradient a "
    "second time. Run the forward pass again to build a new graph, or pass "
    "retain_graph=True to the first backward() if you mean to go through it twice."
)


def topological_order(root):
    """Tensors that ``root`` depends on and that require grad, each after its inputs.

    Iterative depth-first search with an explicit stack: deep graphs (a chain of
    100,000 ops) must not hit Python's recursion limit.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is None:
            continue
        if getattr(ctx, "released", False):
            raise RuntimeError(_RELEASED_MESSAGE)
        for parent in ctx.parents:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _is_view_or_shared(array, given) -> bool:
    # A gradient stored in a leaf's .grad is later updated in place (+=, clipping);
    # it must not share memory with another leaf's gradient or the caller's array.
    if id(array) in given:
        return True
    base = getattr(array, "base", False)
    return base is not None  # True for views, and for libraries without .base


def backward(root, grad=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) into ``.grad`` of every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require grad: none of the tensors it was "
            "computed from has requires_grad=True, or it was computed under no_grad()"
        )
    xp = backend.namespace(root.data)
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward() on a non-scalar tensor of shape {root.shape} needs an upstream "
                f"gradient: call .backward(grad) with grad of shape {root.shape}, or reduce "
                "the tensor to a scalar first (for example .sum() or .mean())"
            )
        seed = xp.ones_like(root.data)
    else:
        seed = grad.data if hasattr(grad, "_ctx") else grad
        if not hasattr(seed, "shape"):
            seed = xp.asarray(seed, dtype=root.data.dtype, device=backend.device_of(root.data))
        if tuple(seed.shape) != root.shape:
            raise ValueError(
                f"backward(grad): grad has shape {tuple(seed.shape)}, but the tensor has "
                f"shape {root.shape}; they must match"
            )
        backend.check_same_device("backward(grad)", root.data, seed)
        if seed.dtype != root.data.dtype:
            seed = xp.astype(seed, root.data.dtype)

    order = topological_order(root)
    grads = {id(root): seed}
    given = {id(seed)}
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        ctx = node._ctx
        if ctx is None or node._retains_grad:
            if _is_view_or_shared(g, given):
                g = xp.asarray(g, copy=True)
            given.add(id(g))
            if node.grad is None:
                node.grad = g
            else:
                node.grad += g
            if ctx is None:
                continue
        input_grads = ctx.backward(g)
        for parent, pg in zip(ctx.parents, input_grads):
            if pg is None or not parent.requires_grad:
                continue
            if pg.dtype != parent.data.dtype:  # e.g. float32 input of a float64 op
                pg = xp.astype(pg, parent.data.dtype)
            prev = grads.get(id(parent))
            grads[id(parent)] = pg if prev is None else prev + pg
        if not retain_graph:
            ctx.release()

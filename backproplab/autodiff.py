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

__all__ = ["Function", "SliceGrad", "no_grad", "enable_grad", "is_grad_enabled", "backward", "grad"]

_grad_enabled = contextvars.ContextVar("backproplab_grad_enabled", default=True)
# Set by amp.autocast: a callable (op class, input Tensors) -> input Tensors, cast.
_autocast = contextvars.ContextVar("backproplab_autocast", default=None)


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


class SliceGrad:
    """A gradient that is zero everywhere except in ``x[key]``, where it is ``value``:
    what a slice ``z = x[key]`` (basic indexing: slices and integers) sends back to x.

    A backward may return one instead of an array. The engine adds it into one
    buffer of x's shape, allocated on the first contribution and updated in place
    afterwards, so that taking T slices of one array (the T steps of a sequence)
    costs one array of zeros in the backward instead of T of them.
    """

    __slots__ = ("shape", "key", "value")

    def __init__(self, shape, key, value):
        self.shape, self.key, self.value = tuple(shape), key, value

    @property
    def dtype(self):
        return self.value.dtype

    def astype(self, dtype):
        return SliceGrad(self.shape, self.key, backend.namespace(self.value).astype(self.value, dtype))

    def dense(self):
        xp = backend.namespace(self.value)
        # empty, then written: memory from a lazily zeroed ``zeros`` would take a page
        # fault on its first read and another on its first write, once per page
        out = xp.empty(self.shape, dtype=self.value.dtype, device=backend.device_of(self.value))
        out[...] = 0
        out[self.key] = self.value
        return out


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
    return _topological_order([root])


def _topological_order(roots):
    order, visited = [], set()
    stack = [(root, False) for root in reversed(roots)]
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


def _seed(root, grad, what, create_graph):
    """dL/d(root) to start the walk from: ones for a one-element root, else ``grad``
    checked against the root's shape and device. A Tensor when ``create_graph``."""
    if not root.requires_grad:
        raise RuntimeError(
            f"{what}: this tensor does not require grad: none of the tensors it was "
            "computed from has requires_grad=True, or it was computed under no_grad()"
        )
    xp = backend.namespace(root.data)
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"{what} on a non-scalar tensor of shape {root.shape} needs an upstream "
                f"gradient: pass one of shape {root.shape}, or reduce "
                "the tensor to a scalar first (for example .sum() or .mean())"
            )
        seed = xp.ones_like(root.data)
    else:
        if create_graph and hasattr(grad, "_ctx"):
            seed = grad  # a Tensor: its own graph is kept (the double-vjp trick needs it)
        else:
            seed = grad.data if hasattr(grad, "_ctx") else grad
            if not hasattr(seed, "shape"):
                seed = xp.asarray(seed, dtype=root.data.dtype, device=backend.device_of(root.data))
        if tuple(seed.shape) != root.shape:
            raise ValueError(
                f"{what}: grad has shape {tuple(seed.shape)}, but the tensor has "
                f"shape {root.shape}; they must match"
            )
        backend.check_same_device(what, root.data, seed.data if hasattr(seed, "_ctx") else seed)
        if seed.dtype != root.data.dtype:
            seed = seed.astype(root.data.dtype) if hasattr(seed, "_ctx") else xp.astype(seed, root.data.dtype)
    if create_graph and not hasattr(seed, "_ctx"):
        seed = _tensor()._wrap(seed)
    return seed


def backward(root, grad=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(root)/d(leaf) into ``.grad`` of every leaf that requires grad.

    create_graph: run the backward itself as Tensor ops, so that each ``.grad`` is a
        Tensor with a graph of its own (for gradients of gradients); it implies
        retain_graph unless that is given.
    inputs: accumulate into these tensors' ``.grad`` only (leaves or not).
    """
    if retain_graph is None:
        retain_graph = create_graph
    seed = _seed(root, grad, "backward()", create_graph)
    if inputs is None:
        _run([root], [seed], retain_graph, create_graph)
        return
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    found = _run([root], [seed], retain_graph, create_graph, wanted=inputs)
    given = {id(seed)}
    for t in {id(t): t for t in inputs}.values():
        if id(t) in found:
            _accumulate(t, found[id(t)], given, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of Tensors, one per input, as ``torch.autograd.grad``.

    Nothing is accumulated into any ``.grad``. With several outputs the result is the
    gradient of sum_k sum(grad_outputs[k] * outputs[k]).

    outputs: a Tensor or a sequence of Tensors.
    inputs: a Tensor or a sequence of Tensors that require grad (leaves or not).
    grad_outputs: dL/d(output) per output (None: ones, for one-element outputs only).
        With create_graph a Tensor here keeps its own graph.
    retain_graph: keep the graph for another pass (default: create_graph).
    create_graph: record the backward pass, so that the gradients can be
        differentiated again (Hessian-vector products, MAML, higher derivatives).
    allow_unused: give None for an input that the outputs do not depend on
        (by default that raises, as in PyTorch).
    """
    outputs = _as_tensors(outputs, "grad(outputs)")
    inputs = _as_tensors(inputs, "grad(inputs)")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; "
            "give one per output (None for a one-element output)"
        )
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(
                f"grad(): inputs[{i}] (shape {t.shape}) does not require grad, so no "
                "gradient is defined for it; create it with requires_grad=True"
            )
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [
        _seed(o, go, f"grad(outputs[{i}])", create_graph)
        for i, (o, go) in enumerate(zip(outputs, grad_outputs))
    ]
    found = _run(outputs, seeds, retain_graph, create_graph, wanted=inputs)
    result, given = [], {id(s) for s in seeds}
    for i, t in enumerate(inputs):
        g = found.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): inputs[{i}] (shape {t.shape}) was not used to compute the "
                    "outputs, so its gradient is undefined; pass allow_unused=True to "
                    "get None for it"
                )
            result.append(None)
            continue
        if not create_graph:
            if _is_view_or_shared(g, given):
                g = backend.namespace(g).asarray(g, copy=True)
            given.add(id(g))
            g = _tensor()._wrap(g)
        result.append(g)
    return tuple(result)


def _tensor():
    from .tensor import Tensor  # tensor.py imports this module: import when first needed

    return Tensor


def _as_tensors(x, what):
    items = list(x) if isinstance(x, (list, tuple)) else [x]
    for i, t in enumerate(items):
        if not hasattr(t, "_ctx"):
            raise TypeError(f"{what}[{i}]: expected a Tensor, got {type(t).__name__}")
    if not items:
        raise ValueError(f"{what}: needs at least one Tensor")
    return items


def _accumulate(node, g, given, create_graph):
    """``node.grad += g``, never sharing memory with another gradient (see above)."""
    if create_graph:  # a Tensor with a graph, as PyTorch stores it
        if node.grad is None:
            node.grad = g
        else:
            old = node.grad if hasattr(node.grad, "_ctx") else _tensor()._wrap(node.grad)
            node.grad = old + g
        return
    if hasattr(node.grad, "_ctx"):  # a .grad with a graph, from an earlier create_graph:
        node.grad = node.grad.data + g  # out of place, so that graph keeps its values
        given.add(id(node.grad))
        return
    if _is_view_or_shared(g, given):
        g = backend.namespace(g).asarray(g, copy=True)
    given.add(id(g))
    if node.grad is None:
        node.grad = g
    else:
        node.grad += g


def _pending_counts(roots):
    """{id(tensor): how many uses of it by ops of the graph} for every tensor that
    requires grad and that ``roots`` depend on (one depth-first pass, no recursion)."""
    pending, visited, stack = {}, set(), list(roots)
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        ctx = node._ctx
        if ctx is None:
            continue
        if getattr(ctx, "released", False):
            raise RuntimeError(_RELEASED_MESSAGE)
        for parent in ctx.parents:
            if parent.requires_grad:
                pid = id(parent)
                pending[pid] = pending.get(pid, 0) + 1
                if pid not in visited:
                    stack.append(parent)
    return pending


def _run(roots, seeds, retain_graph, create_graph, wanted=None):
    """The reverse walk from ``roots`` with dL/d(root) = ``seeds``.

    A tensor's backward runs as soon as every op that used it has sent its
    gradient back (``pending`` counts those uses), so its gradient is complete
    then and its memory is freed as early as possible: a weight's gradient is
    stored right after its matmul's backward, not at the end of the pass.

    wanted=None: accumulate into ``.grad`` of every leaf (and of tensors that
    retain_grad()); returns nothing. Otherwise return {id(t): dL/dt} for the
    tensors in ``wanted`` and accumulate nothing; only the part of the graph
    that leads to them is walked.
    """
    pending = _pending_counts(roots)
    found, needed, want = {}, None, ()
    if wanted is not None:
        want = {id(t) for t in wanted}
        needed = set()
        for node in _topological_order(roots):  # inputs first: marks every node that leads to a wanted one
            ctx = node._ctx
            if id(node) in want or (ctx is not None and any(id(p) in needed for p in ctx.parents)):
                needed.add(id(node))
    grads = {}
    for root, seed in zip(roots, seeds):
        prev = grads.get(id(root))
        grads[id(root)] = seed if prev is None else prev + seed
    given = {id(s) for s in seeds}

    owned = set()  # ids of the tensors whose entry in grads is a buffer the engine made

    def finish_leaf(leaf):  # a leaf's gradient is complete once its last user is done
        g = grads.pop(id(leaf), None)
        owned.discard(id(leaf))
        if g is None:
            return
        if needed is None:
            _accumulate(leaf, g, given, create_graph)
        elif id(leaf) in want:
            found[id(leaf)] = g

    ready = []
    for root in {id(r): r for r in reversed(roots) if id(r) not in pending}.values():
        if root._ctx is None:
            finish_leaf(root)
        else:
            ready.append(root)
    token = _grad_enabled.set(True) if create_graph else None
    try:
        while ready:
            node = ready.pop()
            ctx = node._ctx
            parents = ctx.parents
            g = grads.pop(id(node), None)
            owned.discard(id(node))
            input_grads = None
            if g is not None:
                run = True
                if needed is None:
                    if node._retains_grad:
                        _accumulate(node, g, given, create_graph)
                else:
                    if id(node) in want:
                        found[id(node)] = g
                    run = any(id(p) in needed for p in parents)
                if run:
                    input_grads = _backward_with_graph(ctx, g) if create_graph else ctx.backward(g)
                    if not retain_graph:
                        ctx.release()
            if input_grads is None:
                input_grads = (None,) * len(parents)
            elif len(input_grads) != len(parents):  # paired from the first input, as zip() pairs
                input_grads = (tuple(input_grads) + (None,) * len(parents))[: len(parents)]
            # reversed: the first input's branch is walked first
            for parent, pg in zip(reversed(parents), reversed(input_grads)):
                if not parent.requires_grad:
                    continue
                pid = id(parent)
                if pg is not None and (needed is None or pid in needed):
                    if pg.dtype != parent.data.dtype:  # e.g. float32 input of a float64 op
                        if create_graph or isinstance(pg, SliceGrad):
                            pg = pg.astype(parent.data.dtype)
                        else:
                            pg = backend.namespace(pg).astype(pg, parent.data.dtype)
                    _add_grad(grads, None if create_graph else owned, pid, pg)
                left = pending[pid] - 1
                pending[pid] = left
                if left == 0:
                    if parent._ctx is None:
                        finish_leaf(parent)
                    else:
                        ready.append(parent)
    finally:
        if token is not None:
            _grad_enabled.reset(token)
    return found


def _add_grad(grads, owned, pid, pg):
    """grads[pid] += pg, for a gradient array or a ``SliceGrad``.

    Arrays that ops return may be views of, or the same object as, arrays held
    elsewhere (an op's saved values, another input's gradient), so the first sum is
    out of place. Its result, like the buffer a ``SliceGrad`` is written into, is an
    array the engine made (``owned``): nothing else refers to it until it is handed
    on, so later contributions are added in place (a weight used at every step of a
    sequence gets one gradient array, not one per step). ``owned`` is None when the
    gradients are Tensors (create_graph), which are never changed in place.
    """
    prev = grads.get(pid)
    if not isinstance(pg, SliceGrad):
        if prev is None:
            grads[pid] = pg
        elif owned is None:
            grads[pid] = prev + pg
        elif pid in owned:
            prev += pg
        else:
            total = grads[pid] = prev + pg
            if total.ndim:  # NumPy gives a 0-d sum as a scalar, which has no "in place"
                owned.add(pid)
        return
    if prev is None:
        prev = grads[pid] = pg.dense()
    else:
        if pid not in owned:
            prev = grads[pid] = backend.namespace(prev).asarray(prev, copy=True)
        prev[pg.key] += pg.value
    if prev.ndim:
        owned.add(pid)


def _backward_with_graph(ctx, g):
    """One op's backward as Tensor ops (create_graph=True).

    The op's own code runs again, unchanged, on Tensors: its forward on the parent
    Tensors (so that what it saves, inputs, outputs or anything derived from them,
    is connected to the graph) and then its backward on the Tensor ``g``. Tensors
    present an array namespace of their own (``backend.namespace``) whose functions
    are Tensor ops, so the backward records itself. An op whose code calls a
    function that namespace lacks still works first-order; here it raises.
    """
    name = type(ctx).__name__
    if getattr(ctx, "backward_on_tensors", False):  # e.g. Checkpoint: records its graph itself
        return ctx.backward(g)
    params = getattr(ctx, "_params", None)
    if params is None:
        raise RuntimeError(
            f"backward(create_graph=True) through {name}: the op was not recorded by a "
            "Tensor method (tensor._apply), so its forward cannot be run again on Tensors"
        )
    fresh = object.__new__(type(ctx))
    fresh.parents, fresh.needs_input_grad = ctx.parents, ctx.needs_input_grad
    try:
        fresh.forward(*ctx.parents, **params)
        input_grads = fresh.backward(g)
    except NotImplementedError as err:
        raise RuntimeError(
            f"backward(create_graph=True) through {name}: {err}. Its first-order backward "
            "works; gradients of gradients through it need its forward and backward "
            "written with the functions the Tensor namespace has"
        ) from err
    wrap = _tensor()._wrap
    return tuple(pg if pg is None or hasattr(pg, "_ctx") else wrap(pg) for pg in input_grads)

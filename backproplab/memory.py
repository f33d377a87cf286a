"""What backprop costs in memory: the values a graph holds for its backward pass.

Every op keeps, as attributes of its ``Function``, what its backward needs (the
inputs of a product, the output of tanh). Until ``backward()`` releases them,
those arrays stay alive: that is the memory that grows with depth and batch
size, and that checkpointing trades for compute.

    saved_bytes(loss)                   bytes all ops of loss's graph hold for backward
    saved_bytes_by_op(loss)             the same per op: [(Function, bytes)], first use first
    saved_bytes_by_type(loss)           {'MatMul': bytes, 'Tanh': bytes, ...}
    saved_bytes_by_module(model, x)     {'0': bytes, '1': bytes, ...}, from one forward pass
    peak_bytes(fn, *args)               (fn(*args), peak bytes allocated during the call)

What a graph holds is each op's saved values and each op's output: the graph
links every op to the Tensors it was applied to (``Function.parents``), and so
keeps their data alive too, even where the backward does not read it (the
output of ``x @ W`` before ``+ b``). Each op is charged for its output and for
what it saved that no earlier op was charged for: an array shared by several ops
is counted once; a view (a reshape, a broadcast) is charged to the array it
looks into (for libraries whose arrays have ``.base``: NumPy, CuPy; elsewhere a
broadcast counts at its full size). The data of leaf tensors (parameters, inputs) exist without the
graph and are not counted unless ``include_leaves=True``.
"""

from __future__ import annotations

import tracemalloc

from . import autodiff, backend

__all__ = ["saved_bytes", "saved_bytes_by_op", "saved_bytes_by_type", "saved_bytes_by_module", "peak_bytes"]


def _arrays(value, depth=0):
    """The arrays in one saved attribute (an array, or lists/tuples/dicts of them)."""
    if hasattr(value, "shape") and hasattr(value, "dtype") and not hasattr(value, "_ctx"):
        yield value
    elif depth < 3 and isinstance(value, (list, tuple)):
        for v in value:
            yield from _arrays(v, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v, depth + 1)


def _functions(outputs):
    roots = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    nodes = [n for n in autodiff._topological_order(list(roots)) if n._ctx is not None]
    return nodes, _leaf_keys([n._ctx for n in nodes])


def _leaf_keys(ctxs):
    # leaves' data (parameters, inputs, constants) exist without the graph
    keys = set()
    for ctx in ctxs:
        held = list(ctx.parents)
        for value in vars(ctx).values():  # Tensors an op keeps (Checkpoint keeps its arguments)
            if isinstance(value, (list, tuple)):
                held.extend(v for v in value if hasattr(v, "_ctx"))
        keys.update(backend.memory_owner(t.data)[0] for t in held if hasattr(t, "_ctx") and t._ctx is None)
    return keys


def _charge(nodes, leaves, include_leaves, seen=None):
    """[(Function, bytes)]: each op's output and saved arrays not charged before."""
    seen = set() if seen is None else seen
    rows = []
    for node in nodes:
        ctx, total = node._ctx, 0
        held = [node.data]
        for name, value in vars(ctx).items():
            if name not in ("parents", "needs_input_grad", "_params"):
                held.extend(_arrays(value))
        for array in held:
            key, size = backend.memory_owner(array)
            if key in seen or (key in leaves and not include_leaves):
                continue
            seen.add(key)
            total += size
        rows.append((ctx, total))
    return rows


def saved_bytes_by_op(outputs, include_leaves=False):
    """[(Function, bytes)] for every op of the graph of ``outputs`` (a Tensor or a
    list), inputs' ops first; each array is charged to the first op that saved it."""
    nodes, leaves = _functions(outputs)
    return _charge(nodes, leaves, include_leaves)


def saved_bytes(outputs, include_leaves=False) -> int:
    """Bytes that the graph of ``outputs`` holds for its backward pass."""
    return sum(size for _, size in saved_bytes_by_op(outputs, include_leaves))


def saved_bytes_by_type(outputs, include_leaves=False) -> dict:
    """{op name: bytes}, summed over the ops of each type, largest first."""
    totals = {}
    for ctx, size in saved_bytes_by_op(outputs, include_leaves):
        totals[type(ctx).__name__] = totals.get(type(ctx).__name__, 0) + size
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def saved_bytes_by_module(model, *inputs, include_leaves=False, **kwargs) -> dict:
    """Run ``model(*inputs)`` once and return {module name: bytes its own ops saved}
    (a module's name as ``named_modules`` gives it; '' is the model itself, for
    the ops it runs outside its sub-modules). Each op is charged to the innermost
    module whose forward created it."""
    claimed, rows, handles = set(), {}, []
    seen = set()

    def hook_for(name):
        def hook(module, args, output):
            stop = {id(a) for a in args if hasattr(a, "_ctx")}
            outs = output if isinstance(output, (list, tuple)) else [output]
            mine, stack, visited = [], [o for o in outs if hasattr(o, "_ctx")], set()
            while stack:
                node = stack.pop()
                if id(node) in visited or id(node) in stop or node._ctx is None:
                    continue
                visited.add(id(node))
                if id(node._ctx) in claimed:
                    continue
                claimed.add(id(node._ctx))
                mine.append(node)
                stack.extend(node._ctx.parents)
            mine.reverse()  # roughly inputs first, as the ops ran
            leaves = _leaf_keys([n._ctx for n in mine])
            size = sum(s for _, s in _charge(mine, leaves, include_leaves, seen))
            rows[name] = rows.get(name, 0) + size

        return hook

    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(hook_for(name)))
    try:
        model(*inputs, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return rows


def peak_bytes(fn, *args, **kwargs):
    """(fn(*args, **kwargs), the peak of memory allocated during the call, in bytes,
    above what was allocated when it started), measured with ``tracemalloc``
    (NumPy reports its array buffers to it; GPU memory is not seen)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return result, peak - before

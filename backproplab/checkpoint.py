"""Gradient checkpointing: trade compute for memory, with ``torch.utils.checkpoint``'s call shapes.

A plain forward pass keeps, for the backward, what every op saved: memory grows
with depth. ``checkpoint(f, x)`` keeps only f's input x (and f itself); the
values f computed inside are dropped as soon as its forward ends. The backward
runs f again from x, this time keeping its graph, and backpropagates through
that. Cost: one more forward pass of f. Gain: f's inner values live only
during its own backward.

``checkpoint_sequential(layers, segments, x)`` cuts a stack of n layers into
``segments`` pieces and checkpoints every piece but the last. With
segments = sqrt(n), about 2 sqrt(n) layers' values are held at any time instead
of n (Chen et al., 2016, "Training deep nets with sublinear memory cost"): the
forward keeps sqrt(n) segment inputs, the backward re-runs one segment of
sqrt(n) layers at a time.

    h = checkpoint(block, h)                         # one block
    y = checkpoint_sequential(model, 4, x)           # a Sequential (or list of layers)

Randomness: the states of the random generators that f draws from (dropout's
``rng``) are saved before the forward and restored for the re-run, so the same
masks are drawn again; afterwards each generator is put back where it was, so
the re-run does not change later draws. Generators are found in f's modules
(every attribute of every sub-module), its bound ``self``, its closure and its
arguments; pass ``generators=[...]`` to name them explicitly.

Gradients equal the plain run's bit for bit: the re-run does the same
operations on the same values. Tensors that f needs gradients for must be its
arguments or leaves (parameters) it reaches: an intermediate tensor captured
from outside f is taken as part of f, and its history would be run again.
"""

from __future__ import annotations

import copy
import zlib

from . import autodiff, backend
from .autodiff import Function, enable_grad, is_grad_enabled
from .tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, generators=None, **kwargs):
    """``function(*args, **kwargs)``, keeping only ``args`` for the backward pass.

    function: returns a Tensor, or a tuple of Tensors, that requires grad (of a
        tuple, those that require grad must share one dtype).
    use_reentrant: accepted for PyTorch compatibility; there is one implementation.
    preserve_rng_state: restore the random generators' states for the re-run (default).
    generators: the generators ``function`` draws from, if they cannot be found
        (see the module docstring).
    """
    if not is_grad_enabled():  # nothing will be backpropagated: just run it
        return function(*args, **kwargs)
    if preserve_rng_state:
        gens = _find_generators([function, *args, *kwargs.values()], generators)
    else:
        gens = []
    states = [copy.deepcopy(g.bit_generator.state) for g in gens]
    inner = [Tensor._wrap(a.data, a.requires_grad) if isinstance(a, Tensor) else a for a in args]
    out = function(*inner, **kwargs)
    outs = _outputs(out)
    grad_outs = [i for i, o in enumerate(outs) if o.requires_grad]
    if not grad_outs:
        raise RuntimeError(
            "checkpoint: the function's output does not require grad (none of its "
            "inputs or parameters requires grad, or it ran under no_grad), so there "
            "is nothing to recompute for the backward; call it without checkpoint"
        )
    dtypes = {backend._dtype_name(outs[i].dtype) for i in grad_outs}
    if len(dtypes) > 1:
        raise TypeError(
            f"checkpoint: the outputs that require grad must share one dtype, got {', '.join(sorted(dtypes))}"
        )
    # The leaves of f's graph that require grad: its tensor arguments and the
    # parameters it used. They become the parents of one Checkpoint op, and the
    # graph inside f is dropped when ``out`` goes.
    arg_ids = {id(t): i for i, t in enumerate(inner) if isinstance(t, Tensor)}
    order = autodiff._topological_order([outs[i] for i in grad_outs])
    params = [n for n in order if n._ctx is None and id(n) not in arg_ids]
    del order
    arg_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    ctx = Checkpoint(*[args[i] for i in arg_positions], *params)
    ctx.function, ctx.kwargs, ctx.args = function, kwargs, list(args)
    ctx.arg_positions, ctx.params = arg_positions, params
    ctx.arrays = [a.data if isinstance(a, Tensor) else None for a in args]
    ctx.fingerprints = [_fingerprint(a) if a is not None else None for a in ctx.arrays]
    ctx.generators, ctx.states = gens, states
    ctx.autocast = autodiff._autocast.get()  # the re-run computes in the same precisions
    ctx.single = isinstance(out, Tensor)
    ctx.out_meta = [(o.shape, o.dtype) for o in outs]
    ctx.grad_outs = grad_outs
    if ctx.single:
        result = Tensor._wrap(out.data, True)
        result._ctx = ctx
        return result
    # Several outputs: the op has one output, the ones that need grad flattened and
    # joined; each is handed back as a slice of it (whose backward fills its part).
    xp = backend.namespace(*[outs[i].data for i in grad_outs])
    packed = Tensor._wrap(xp.concat([xp.reshape(outs[i].data, (-1,)) for i in grad_outs]), True)
    packed._ctx = ctx
    results, start = [], 0
    for i, o in enumerate(outs):
        if i in grad_outs:
            results.append(packed[start : start + o.size].reshape(o.shape))
            start += o.size
        else:
            results.append(Tensor._wrap(o.data))
    return type(out)(results) if isinstance(out, tuple) else results


def _outputs(out):
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)) and out:
        for i, o in enumerate(out):
            if not isinstance(o, Tensor):
                raise TypeError(f"checkpoint: output {i} of the function is a {type(o).__name__}, not a Tensor")
        return tuple(out)
    raise TypeError(
        f"checkpoint: the function must return a Tensor or a tuple of Tensors, got {type(out).__name__}"
    )


def checkpoint_sequential(functions, segments, input, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """Run ``functions`` (a Sequential or a list of layers/callables) one after
    another on ``input``, cut into ``segments`` pieces of (nearly) equal length;
    every piece but the last is checkpointed (the last one's backward comes first,
    so keeping it costs no extra memory), as in PyTorch."""
    layers = list(functions)
    if not layers:
        raise ValueError("checkpoint_sequential: no functions to run")
    if not isinstance(segments, int) or isinstance(segments, bool) or not 1 <= segments <= len(layers):
        raise ValueError(
            f"checkpoint_sequential: segments must be an integer from 1 to the number of "
            f"functions ({len(layers)}), got {segments!r}"
        )
    size = len(layers) // segments
    bounds = [i * size for i in range(segments)] + [len(layers)]

    def run(part):
        def segment(x):
            for layer in part:
                x = layer(x)
            return x

        segment.parts = part  # where _find_generators looks for dropout's generators
        return segment

    x = input
    for k in range(segments - 1):
        part = layers[bounds[k] : bounds[k + 1]]
        x = checkpoint(run(part), x, preserve_rng_state=preserve_rng_state, **kwargs)
    return run(layers[bounds[-2] :])(x)


class Checkpoint(Function):
    """A checkpointed function as one op: parents are its tensor arguments that
    require grad and the parameters it used; backward runs it again and
    backpropagates through the re-run."""

    backward_on_tensors = True  # its backward can record a graph itself (create_graph)

    def backward(self, g):
        create_graph = hasattr(g, "_ctx")
        for i, (array, saved) in enumerate(zip(self.arrays, self.fingerprints)):
            if array is not None and _fingerprint(array) != saved:
                raise RuntimeError(
                    f"checkpoint: argument {i} (shape {tuple(array.shape)}) was changed in "
                    "place between the forward pass and the backward's re-run, so the "
                    "re-run would compute something else; do not modify a checkpointed "
                    "function's inputs in place (pass a copy)"
                )
        now = [copy.deepcopy(gen.bit_generator.state) for gen in self.generators]
        for gen, state in zip(self.generators, self.states):
            gen.bit_generator.state = copy.deepcopy(state)
        autocast = autodiff._autocast.set(self.autocast)
        try:
            with enable_grad():
                if create_graph:  # the arguments themselves: the result stays differentiable
                    inner = list(self.args)
                else:
                    inner = [
                        Tensor._wrap(a, t.requires_grad) if a is not None else t
                        for a, t in zip(self.arrays, self.args)
                    ]
                out = self.function(*inner, **self.kwargs)
        finally:
            autodiff._autocast.reset(autocast)
            for gen, state in zip(self.generators, now):
                gen.bit_generator.state = state
        outs = _outputs(out)
        meta = [(o.shape, o.dtype) for o in outs]
        if meta != self.out_meta:
            raise RuntimeError(
                f"checkpoint: the re-run returned outputs of (shape, dtype) {meta}, the forward pass "
                f"{self.out_meta}; the function must compute the same thing twice"
            )
        wanted = [inner[i] for i in self.arg_positions] + list(self.params)
        outputs = [outs[i] for i in self.grad_outs]
        if self.single:
            pieces = [g]
        else:
            xp, pieces, start = backend.namespace(g), [], 0
            for o in outputs:
                pieces.append(xp.reshape(g[start : start + o.size], o.shape))
                start += o.size
        grads = autodiff.grad(outputs, wanted, grad_outputs=pieces, create_graph=create_graph, allow_unused=True)
        return grads if create_graph else tuple(None if t is None else t.data for t in grads)


def _fingerprint(array):
    """A checksum of the array's bytes: detects in-place changes without keeping a copy."""
    host = backend.to_numpy(array)
    try:
        return zlib.crc32(memoryview(host).cast("B"))
    except (TypeError, ValueError, BufferError):  # not contiguous
        return zlib.crc32(host.tobytes())


def _is_generator(x) -> bool:
    return hasattr(x, "bit_generator") and hasattr(x.bit_generator, "state")


def _find_generators(objects, explicit):
    """The random generators reachable from ``objects``: generators themselves,
    attributes of modules (and their sub-modules), bound methods' ``self``,
    closures, partials, lists and tuples. ``explicit`` (a list) replaces the search."""
    if explicit is not None:
        found = list(explicit)
        for i, g in enumerate(found):
            if not _is_generator(g):
                raise TypeError(
                    f"checkpoint(generators=...): item {i} is a {type(g).__name__}, not a random "
                    "generator with a bit_generator state (numpy.random.default_rng(seed))"
                )
        return found
    from .nn.module import Module

    found, seen, stack = {}, set(), list(objects)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, Tensor)):
            continue
        seen.add(id(obj))
        if _is_generator(obj):
            found[id(obj)] = obj
        elif isinstance(obj, Module):
            for module in obj.modules():
                stack.extend(vars(module).values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif callable(obj):
            stack.append(getattr(obj, "__self__", None))
            stack.append(getattr(obj, "func", None))  # functools.partial
            stack.extend(getattr(obj, "args", None) or ())
            stack.extend(getattr(obj, "parts", None) or ())
            for cell in getattr(obj, "__closure__", None) or ():
                try:
                    stack.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    pass
    return list(found.values())

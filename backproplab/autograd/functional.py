"""Derivatives of whole functions, with ``torch.autograd.functional``'s names and call shapes.

For f: inputs -> outputs with Jacobian J (and, for a scalar f, gradient g and Hessian H):

    vjp(f, x, v)   ->  (f(x), v^T J)      one backward pass
    jvp(f, x, u)   ->  (f(x), J u)        two backward passes, the "double-vjp trick":
                                          w -> J^T w is linear in w, so its own vjp
                                          with u is (J^T)^T u = J u
    hvp(f, x, v)   ->  (f(x), H v)        the gradient of g(x)^T v (backprop through a backward)
    vhp(f, x, v)   ->  (f(x), v^T H)      (= H v, H being symmetric)
    jacobian(f, x) ->  J, shape f(x).shape + x.shape   (one backward pass per output entry)
    hessian(f, x)  ->  H, shape x.shape + x.shape      (one backward pass per gradient entry)

``inputs`` is a Tensor or a tuple of Tensors (the results then have the same
structure); ``v`` likewise. The inputs are not changed: the function is called
on fresh leaves with the same values (with ``create_graph=True`` the original
tensors are used, so that the results stay differentiable with respect to them).
"""

from __future__ import annotations

from ..autodiff import enable_grad, grad
from ..tensor import Tensor, stack

__all__ = ["vjp", "jvp", "vhp", "hvp", "jacobian", "hessian"]


def _as_tuple(x, what):
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: expected a Tensor or a tuple of Tensors, item {i} is {type(t).__name__}")
    return items, is_tuple


def _leaves(inputs, create_graph):
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t)
        else:
            out.append(Tensor._wrap(t.data, requires_grad=True))
    return tuple(out)


def _call(func, inputs):
    with enable_grad():
        out = func(*inputs)
    outs, is_tuple = _as_tuple(out, "the function's output")
    return outs, is_tuple


def _check_v(v, like, what):
    vs, _ = _as_tuple(v, what)
    if len(vs) != len(like):
        raise ValueError(f"{what}: {len(vs)} tensors given for {len(like)}; give one per {what.split()[-1]}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise ValueError(f"{what}[{i}] has shape {a.shape}, but it must match shape {b.shape}")
    return vs


def _finish(grads, like, create_graph, strict, what):
    """None (independent) -> zeros, or an error under strict; detach unless create_graph."""
    out = []
    for i, (g, t) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(f"{what}: the output does not depend on input {i} (strict=True)")
            g = Tensor._wrap(t.data * 0)  # zeros of t's shape, dtype and device
        elif not create_graph:
            g = g.detach()
        out.append(g)
    return tuple(out)


def _detach_all(ts, create_graph):
    return tuple(t if create_graph else t.detach() for t in ts)


def _pack(items, is_tuple):
    return tuple(items) if is_tuple else items[0]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass.

    v: dL/d(output) (None for a one-element output: ones)."""
    xs, in_tuple = _as_tuple(inputs, "vjp(inputs)")
    xs = _leaves(xs, create_graph)
    outs, out_tuple = _call(func, xs)
    vs = None if v is None else _check_v(v, outs, "vjp(v) for each output")
    grads = grad(outs, xs, grad_outputs=vs, create_graph=create_graph, allow_unused=True)
    result = _finish(grads, xs, create_graph, strict, "vjp")
    return _pack(_detach_all(outs, create_graph), out_tuple), _pack(result, in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product (a directional derivative).

    Reverse mode only, by the double-vjp trick: w -> J^T w (one backward with a
    dummy w that requires grad, recorded) is linear in w, and its own vjp with v
    is J v. v: one tensor per input (None for a one-element input: ones)."""
    xs, in_tuple = _as_tuple(inputs, "jvp(inputs)")
    xs = _leaves(xs, create_graph)
    if v is None:
        if len(xs) != 1 or xs[0].size != 1:
            raise RuntimeError("jvp: v can be omitted only for a single one-element input; pass v, one per input")
        vs = (Tensor._wrap(xs[0].data * 0 + 1),)
    else:
        vs = _check_v(v, xs, "jvp(v) for each input")
    outs, out_tuple = _call(func, xs)
    dummies = [Tensor._wrap(o.data * 0, requires_grad=True) for o in outs]
    jt_w = grad(outs, xs, grad_outputs=dummies, create_graph=True, allow_unused=True)
    used = [(g, vv) for g, vv in zip(jt_w, vs) if g is not None and g.requires_grad]
    if used:
        jv = grad([g for g, _ in used], dummies, grad_outputs=[vv for _, vv in used],
                  create_graph=create_graph, allow_unused=True)
    else:
        jv = (None,) * len(outs)
    result = _finish(jv, outs, create_graph, strict, "jvp")
    return _pack(_detach_all(outs, create_graph), out_tuple), _pack(result, out_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a function with a one-element output: the gradient
    of g(x)^T v, i.e. backprop through the backward pass."""
    xs, in_tuple = _as_tuple(inputs, "hvp(inputs)")
    xs = _leaves(xs, create_graph)
    outs, _ = _call(func, xs)
    if len(outs) != 1 or outs[0].size != 1:
        raise RuntimeError(
            f"hvp: the function must return a single one-element Tensor, got "
            f"{len(outs)} output(s) of shape(s) {[o.shape for o in outs]}"
        )
    vs = _check_v(v, xs, "hvp(v) for each input") if v is not None else None
    if vs is None:
        if len(xs) != 1 or xs[0].size != 1:
            raise RuntimeError("hvp: v can be omitted only for a single one-element input; pass v, one per input")
        vs = (Tensor._wrap(xs[0].data * 0 + 1),)
    gs = grad(outs[0], xs, create_graph=True, allow_unused=True)
    used = [(g, vv) for g, vv in zip(gs, vs) if g is not None and g.requires_grad]
    if used:
        hv = grad([g for g, _ in used], xs, grad_outputs=[vv for _, vv in used],
                  create_graph=create_graph, allow_unused=True)
    else:
        hv = (None,) * len(xs)
    result = _finish(hv, xs, create_graph, strict, "hvp")
    return _detach_all(outs, create_graph)[0], _pack(result, in_tuple)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H): equal to ``hvp`` (a Hessian is symmetric)."""
    return hvp(func, inputs, v, create_graph, strict)


def _rows(ys, xs, create_graph, strict, what):
    """d(ys)/d(xs): for each y, one backward pass per entry of y, stacked into
    blocks of shape y.shape + x.shape."""
    rows = []
    for y in ys:
        flat = y.reshape(-1)
        per_entry = [
            grad(flat[k], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
            if flat.requires_grad else (None,) * len(xs)
            for k in range(y.size)
        ]
        blocks = []
        for j, x in enumerate(xs):
            entries = _finish([e[j] for e in per_entry], [x] * y.size, create_graph, strict, what)
            blocks.append(stack(entries, axis=0).reshape(y.shape + x.shape))
        rows.append(blocks)
    return rows


def jacobian(func, inputs, create_graph=False, strict=False):
    """J with J[i][j] of shape outputs[i].shape + inputs[j].shape (without the
    tuple levels for a single output or input), one backward pass per output entry."""
    xs, in_tuple = _as_tuple(inputs, "jacobian(inputs)")
    xs = _leaves(xs, create_graph)
    outs, out_tuple = _call(func, xs)
    rows = _rows(outs, xs, create_graph, strict, "jacobian")
    return _pack([_pack(r, in_tuple) for r in rows], out_tuple)


def hessian(func, inputs, create_graph=False, strict=False):
    """H of a function with a one-element output: H[i][j] of shape
    inputs[i].shape + inputs[j].shape (a single Tensor for a single input): the
    Jacobian of the gradient, one backward pass per gradient entry."""
    xs, in_tuple = _as_tuple(inputs, "hessian(inputs)")
    xs = _leaves(xs, create_graph)
    outs, _ = _call(func, xs)
    if len(outs) != 1 or outs[0].size != 1:
        raise RuntimeError(
            f"hessian: the function must return a single one-element Tensor, got "
            f"{len(outs)} output(s) of shape(s) {[o.shape for o in outs]}"
        )
    gs = _finish(grad(outs[0], xs, create_graph=True, allow_unused=True), xs, True, strict, "hessian")
    rows = _rows(gs, xs, create_graph, strict, "hessian")
    return _pack([_pack(r, in_tuple) for r in rows], in_tuple)

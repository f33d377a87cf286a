"""``Tensor``: an n-d array that records the ops applied to it, so that
``loss.backward()`` can fill ``.grad`` of every tensor with ``requires_grad=True``.

Names follow PyTorch where the concept is the same (``requires_grad``, ``grad``,
``backward``, ``detach``, ``item``, ``no_grad``); ``.data`` and ``.grad`` are plain
arrays of the tensor's array library (NumPy on the CPU, CuPy on a GPU).

The path of one op: a method here checks its inputs and broadcasts them (an
explicit ``Expand``), ``_apply`` runs the op's ``forward`` on the arrays and, if
any input requires grad, attaches the op to the output for ``backward``.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import autodiff, backend
from . import ops
from .ops.movement import IndexScatter, ScatterAdd  # the backward ops of indexing (create_graph)

__all__ = ["Tensor", "tensor", "zeros", "ones", "concatenate", "stack", "where"]

def _is_array(x) -> bool:
    return hasattr(x, "__array_namespace__") or type(x) is np.ndarray


class Tensor:
    """An n-d array with reverse-mode autodiff.

    Tensor(data, requires_grad=False, dtype=None, device=None)

    data: an array (NumPy, CuPy, or any array API library), a number or nested lists.
        Python floats become float64 (the precision gradient checks need), integers int64.
    dtype: 'float32', 'float64', ... (or a NumPy dtype); converts the data.
    device: 'cpu', 'cuda', 'cuda:N' (or a library's device object); moves the data.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to Tensor's operators: array * tensor -> Tensor

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        if not _is_array(data):
            if isinstance(data, (str, bytes)) or data is None:
                raise TypeError(f"Tensor(data): expected numbers or an array, got {type(data).__name__}")
            try:
                data = np.asarray(data)
            except ValueError:
                data = np.asarray(data, dtype=object)
            if data.dtype == object or data.dtype.kind in "USV":
                raise TypeError(
                    f"Tensor(data): could not make a numeric array from the data (got dtype "
                    f"{data.dtype}); nested lists must be rectangular and hold numbers"
                )
        if device is not None:
            data = backend.to_device(data, device)
        xp = backend.namespace(data)
        if dtype is not None:
            target = backend.resolve_dtype(xp, dtype, "Tensor(dtype=...)")
            if data.dtype != target:
                data = xp.astype(data, target)
        backend.check_dtype(data.dtype, "Tensor(data)")
        if requires_grad and not backend.is_floating(data.dtype):
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor, got dtype "
                f"{backend._dtype_name(data.dtype)} (gradients of integers are not defined); "
                "pass dtype='float64' or convert the data first"
            )
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, data, requires_grad=False):
        """A tensor around an array the library made itself (no checks: hot path)."""
        t = object.__new__(cls)
        t.data, t.grad, t.requires_grad = data, None, requires_grad
        t._ctx, t._retains_grad = None, False
        return t

    # ---- properties ----

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        n = 1
        for d in self.data.shape:
            n *= d
        return n

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_name(self.data)

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def mT(self):
        """The last two axes swapped (the matrix transpose of a batch), as ``array.mT``."""
        return self.transpose(-2, -1)

    @property
    def T(self):
        """All axes reversed (the matrix transpose for a 2-D tensor)."""
        return self.permute(*reversed(range(self.ndim)))

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), separator=", ", prefix="Tensor(")
        extra = ""
        if backend._dtype_name(self.dtype) != "float64":
            extra += f", dtype={backend._dtype_name(self.dtype)}"
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ---- conversion ----

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, this one has shape {self.shape}")
        return backend.to_numpy(self.data).reshape(()).item()

    def __float__(self):
        return float(self.item())

    def __bool__(self):
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .all() or .any()"
            )
        return bool(self.item())

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU; shared on the CPU)."""
        return backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (no gradient flows through it)."""
        return Tensor._wrap(self.data)

    def to(self, device=None, dtype=None) -> "Tensor":
        """A copy on ``device`` and/or with ``dtype``: a new leaf with the same requires_grad."""
        data = self.data if device is None else backend.to_device(self.data, device)
        out = Tensor(data, dtype=dtype)
        out.requires_grad = self.requires_grad and backend.is_floating(out.dtype)
        return out

    def astype(self, dtype) -> "Tensor":
        """This tensor converted to ``dtype`` (any spelling: 'float32', np.float32, ...).

        To a floating dtype the conversion is an op of the graph: the gradient flows
        back, converted to this tensor's dtype (float32 master weights, float16
        compute). To an integer or boolean dtype the result is detached, as in
        PyTorch: rounding has no useful derivative, so no gradient flows through it.
        Converting to the dtype the tensor already has returns the tensor itself.
        """
        xp = backend.namespace(self.data)
        target = backend.resolve_dtype(xp, dtype, "astype")
        if target == self.dtype:
            return self
        if backend.is_floating(target):
            return _apply(ops.Cast, self, dtype=target)
        return Tensor._wrap(xp.astype(self.data, target))  # integer/bool: detached

    def float(self):
        """float32 (PyTorch's ``.float()``); differentiable, see ``astype``."""
        return self.astype("float32")

    def double(self):
        """float64; differentiable, see ``astype``."""
        return self.astype("float64")

    def half(self):
        """float16; differentiable, see ``astype``."""
        return self.astype("float16")

    # ---- autodiff ----

    def backward(self, grad=None, retain_graph=None, create_graph=False, inputs=None):
        """Fill ``.grad`` of every leaf with ``requires_grad=True`` that this tensor
        depends on with d(this)/d(leaf), adding to what ``.grad`` already holds.

        grad: the upstream gradient dL/d(this), required unless this is a scalar.
        retain_graph: keep the graph for another backward(); by default it is
            released and a second backward() through it raises RuntimeError.
        create_graph: record the backward pass too (gradients of gradients): each
            ``.grad`` is then a Tensor with a graph, as in PyTorch, instead of an
            array; implies retain_graph. ``backproplab.grad`` is usually handier.
        inputs: accumulate into the ``.grad`` of these tensors only.
        """
        autodiff.backward(self, grad, retain_graph, create_graph, inputs)

    def retain_grad(self):
        """Also store ``.grad`` for this intermediate (non-leaf) tensor."""
        self._retains_grad = True
        return self

    # ---- elementwise arithmetic (NumPy broadcasting) ----

    def __add__(self, other):
        return _binary(ops.Add, "add", self, other)

    def __radd__(self, other):
        return _binary(ops.Add, "add", other, self)

    def __sub__(self, other):
        return _binary(ops.Sub, "sub", self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub, "sub", other, self)

    def __mul__(self, other):
        return _binary(ops.Mul, "mul", self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, "mul", other, self)

    def __truediv__(self, other):
        return _binary(ops.Div, "div", self, other)

    def __rtruediv__(self, other):
        return _binary(ops.Div, "div", other, self)

    def __neg__(self):
        return _apply(ops.Neg, self)

    def __pow__(self, k):
        if isinstance(k, Tensor) or not isinstance(k, numbers.Real):
            raise TypeError(f"pow: the exponent must be a Python number, got {type(k).__name__}")
        return _apply(ops.Pow, self, k=k)

    def __rpow__(self, base):
        if not isinstance(base, numbers.Real) or base <= 0:
            raise ValueError(f"pow: a number raised to a tensor needs a positive base, got {base!r}")
        return (self * float(np.log(base))).exp()  # b^x = e^(x ln b)

    # ---- comparisons: boolean tensors, no gradient ----

    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(fn(self.data, other))

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    __hash__ = object.__hash__  # identity, as the engine's bookkeeping needs

    # ---- elementwise functions ----

    def exp(self):
        return _apply(ops.Exp, self)

    def log(self):
        return _apply(ops.Log, self)

    def tanh(self):
        return _apply(ops.Tanh, self)

    def sigmoid(self):
        return _apply(ops.Sigmoid, self)

    def relu(self):
        return _apply(ops.Relu, self)

    def sqrt(self):
        return self**0.5

    def abs(self):
        return where(self.data >= 0, self, -self)

    # ---- reductions ----

    def sum(self, axis=None, keepdims=False):
        return _apply(ops.Sum, self, axis=_axes("sum", self, axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        axes = _axes("mean", self, axis)
        count = 1
        for a in axes:
            count *= self.shape[a]
        return self.sum(axes, keepdims) / count

    def var(self, axis=None, keepdims=False, correction=0):
        """Variance (1/(n - correction)) * sum((x - mean)^2), composed from primitives."""
        axes = _axes("var", self, axis)
        count = 1
        for a in axes:
            count *= self.shape[a]
        centered = self - self.mean(axes, keepdims=True)
        return (centered * centered).sum(axes, keepdims) / (count - correction)

    def max(self, axis=None, keepdims=False):
        if self.size == 0:
            raise ValueError(f"max of an empty tensor (shape {self.shape})")
        return _apply(ops.Max, self, axis=_axes("max", self, axis), keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return -((-self).max(axis, keepdims))

    def argmax(self, axis=None, keepdims=False):
        xp = backend.namespace(self.data)
        return Tensor._wrap(xp.argmax(self.data, axis=axis, keepdims=keepdims))

    def all(self):
        return bool(backend.namespace(self.data).all(self.data))

    def any(self):
        return bool(backend.namespace(self.data).any(self.data))

    # ---- shape ----

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        known = [n for n in shape if n != -1]
        count = 1
        for n in known:
            count *= n
        if shape.count(-1) > 1 or any(n < -1 for n in shape) or (
            (count != self.size) if len(known) == len(shape) else (count == 0 or self.size % count)
        ):
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} ({self.size} entries) into {tuple(shape)}")
        return _apply(ops.Reshape, self, shape=tuple(shape))

    def flatten(self, start_dim=0):
        """Merge the axes from ``start_dim`` on: (N, C, H, W).flatten(1) -> (N, C*H*W)."""
        return self.reshape(self.shape[:start_dim] + (-1,))

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if sorted(a % self.ndim if self.ndim else a for a in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the axes of a tensor of shape {self.shape}")
        return _apply(ops.Permute, self, axes=tuple(a % self.ndim for a in axes))

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two axes (by default the last two, the matrix transpose of a batch)."""
        if self.ndim < 2:
            raise ValueError(f"transpose: needs at least 2 axes, the tensor has shape {self.shape}")
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    def expand(self, *shape):
        """Broadcast to ``shape`` (NumPy rules); the backward sums the copies."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        target = broadcast_shapes("expand", self.shape, tuple(shape))
        if target != tuple(shape):
            raise ValueError(f"expand: cannot broadcast shape {self.shape} to {tuple(shape)}")
        return self if self.shape == target else _apply(ops.Expand, self, shape=target)

    def __getitem__(self, key):
        key, advanced = _index_key(self, key)
        arrays = key[:-1] if key[-1] is Ellipsis else key
        if advanced and all(_is_array(k) and backend._dtype_name(k.dtype) != "bool" for k in arrays):
            return _gather(self, arrays)
        try:
            return _apply(ops.Index, self, key=key, advanced=advanced)
        except IndexError as err:
            raise IndexError(f"Tensor index into shape {self.shape}: {err}") from None

    # ---- matrix product ----

    def __matmul__(self, other):
        return matmul(self, _lift(other, like=self))

    def __rmatmul__(self, other):
        return matmul(_lift(other, like=self), self)


# ---- module-level functions ----


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def zeros(*shape, dtype="float64", device=None, requires_grad=False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.zeros(shape), requires_grad=requires_grad, dtype=dtype, device=device)


def ones(*shape, dtype="float64", device=None, requires_grad=False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.ones(shape), requires_grad=requires_grad, dtype=dtype, device=device)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b with PyTorch/NumPy semantics: batched over leading axes, 1-D operands
    treated as a row (left) or column (right) vector and their axis dropped."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 axis, got shapes {a.shape} and {b.shape}")
    backend.check_same_device("matmul", a.data, b.data)
    if a.ndim == 1:
        return matmul(a.reshape(1, -1), b).reshape(b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:
        return matmul(a, b.reshape(-1, 1)).reshape(a.shape[:-1])
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not align: the left operand has "
            f"{a.shape[-1]} columns but the right has {b.shape[-2]} rows"
        )
    broadcast_shapes("matmul (batch axes)", a.shape[:-2], b.shape[:-2])
    return _apply(ops.MatMul, a, b)


def concatenate(tensors, axis=0) -> Tensor:
    """Join tensors along an existing axis (``np.concatenate``, ``torch.cat``)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    ax = axis % ndim
    for i, t in enumerate(tensors):
        if t.ndim != ndim or t.shape[:ax] + t.shape[ax + 1 :] != tensors[0].shape[:ax] + tensors[0].shape[ax + 1 :]:
            raise ValueError(
                f"concatenate along axis {axis}: tensor {i} has shape {t.shape}, which does not "
                f"match tensor 0's shape {tensors[0].shape} outside that axis"
            )
    backend.check_same_device("concatenate", *(t.data for t in tensors))
    return _apply(ops.Concatenate, *tensors, axis=ax)


def stack(tensors, axis=0) -> Tensor:
    """Join same-shaped tensors along a new axis (composed: reshape, then concatenate)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has {shape}; they must be equal")
    ax = axis % (len(shape) + 1)
    new = shape[:ax] + (1,) + shape[ax:]
    return concatenate([t.reshape(new) for t in tensors], axis=ax)


def where(condition, a, b) -> Tensor:
    """Entries of ``a`` where ``condition`` holds, else of ``b``. The gradient goes to
    whichever input each entry was taken from; ``condition`` gets none."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        raise TypeError("where: at least one of a and b must be a Tensor")
    a, b = _lift(a, like), _lift(b, like)
    if not _is_array(cond):
        cond = backend.namespace(like.data).asarray(cond, device=backend.device_of(like.data))
    if backend._dtype_name(cond.dtype) != "bool":
        raise TypeError(f"where: condition must be boolean, got dtype {backend._dtype_name(cond.dtype)}")
    backend.check_same_device("where", cond, a.data, b.data)
    shape = broadcast_shapes("where", tuple(cond.shape), broadcast_shapes("where", a.shape, b.shape))
    a, b = _expand_for_grad(a, shape), _expand_for_grad(b, shape)
    if a.requires_grad or b.requires_grad:
        cond = backend.namespace(cond).broadcast_to(cond, shape)
    return _apply(ops.Where, a, b, cond=cond)


# ---- helpers ----


def _apply(fn_cls, *inputs, **params):
    """Run one op: forward on the arrays, and record it if a gradient will be needed."""
    autocast = autodiff._autocast.get()
    if autocast is not None:  # inside amp.autocast: the inputs in the op's precision
        inputs = autocast(fn_cls, inputs)
    ctx = fn_cls(*inputs)
    out = ctx.forward(*[t.data for t in inputs], **params)
    requires_grad = any(ctx.needs_input_grad) and autodiff.is_grad_enabled()
    result = Tensor._wrap(out, requires_grad)
    if requires_grad:
        result._ctx = ctx
        ctx._params = params  # to run the forward again on Tensors (create_graph)
    return result


def broadcast_shapes(op, s1, s2):
    """The NumPy broadcast of two shapes, or a ValueError naming the op and both shapes."""
    n = max(len(s1), len(s2))
    a, b = (1,) * (n - len(s1)) + tuple(s1), (1,) * (n - len(s2)) + tuple(s2)
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError(
                f"{op}: shapes {tuple(s1)} and {tuple(s2)} cannot be broadcast together "
                f"(sizes {x} and {y} differ and neither is 1)"
            )
        out.append(max(x, y) if x != 0 and y != 0 else 0)
    return tuple(out)


def _lift(x, like: Tensor) -> Tensor:
    """A constant operand as a Tensor on ``like``'s device; Python numbers take
    ``like``'s floating dtype (as in NumPy and PyTorch, a scalar does not promote)."""
    if isinstance(x, Tensor):
        return x
    xp = backend.namespace(like.data)
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        x = x.item()  # a NumPy scalar acts like the Python number it holds
    if isinstance(x, numbers.Number):
        if backend.is_floating(like.dtype):
            return Tensor._wrap(xp.asarray(x, dtype=like.dtype, device=backend.device_of(like.data)))
        return Tensor._wrap(xp.asarray(x, device=backend.device_of(like.data)))
    return Tensor(x, device=None if _is_array(x) else backend.device_of(like.data))


def _expand_for_grad(t: Tensor, shape) -> Tensor:
    # Only an input that needs a gradient is broadcast explicitly: its backward must sum
    # the copies. Constants broadcast inside the op for free.
    if t.requires_grad and t.shape != shape and autodiff.is_grad_enabled():
        return _apply(ops.Expand, t, shape=shape)
    return t


def _binary(fn_cls, name, a, b):
    like = a if isinstance(a, Tensor) else b
    a, b = _lift(a, like), _lift(b, like)
    backend.check_same_device(name, a.data, b.data)
    if a.shape != b.shape:
        shape = broadcast_shapes(name, a.shape, b.shape)
        a, b = _expand_for_grad(a, shape), _expand_for_grad(b, shape)
    return _apply(fn_cls, a, b)


def _axes(op, t: Tensor, axis):
    if axis is None:
        return tuple(range(t.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -t.ndim <= a < t.ndim or (t.ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of shape {t.shape}")
    norm = tuple(sorted({a % t.ndim for a in axes})) if t.ndim else ()
    if len(norm) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return norm


def _gather(t: Tensor, index_arrays) -> Tensor:
    """``t[i0, i1, ...]`` for integer arrays indexing the first k axes: a row gather
    from ``t`` viewed as (size of those k axes, rest). This is the form the array
    API supports everywhere (``take``), and the one embeddings and
    ``logits[arange(N), labels]`` use."""
    if len(index_arrays) > t.ndim:
        raise IndexError(f"too many indices ({len(index_arrays)}) for a tensor of shape {t.shape}")
    xp = backend.namespace(t.data)
    linear, rows = None, 1
    for axis, idx in enumerate(index_arrays):
        size = t.shape[axis]
        if idx.size and (bool(xp.any(idx >= size)) or bool(xp.any(idx < -size))):
            bad = backend.to_numpy(idx).reshape(-1)
            bad = bad[(bad >= size) | (bad < -size)][0]
            raise IndexError(f"index {int(bad)} is out of range for axis {axis} of size {size} (tensor shape {t.shape})")
        idx = xp.where(idx < 0, idx + size, idx)
        linear = idx if linear is None else linear * size + idx
        rows *= size
    k = len(index_arrays)
    flat = t if k == 1 else t.reshape((rows,) + t.shape[k:])
    return _apply(ops.Gather, flat, index=linear)


def _index_key(t: Tensor, key):
    """Normalise an index: Tensors and lists become arrays on ``t``'s device, and an
    explicit trailing Ellipsis is added (the array API does not index partially)."""
    xp = backend.namespace(t.data)
    parts = key if isinstance(key, tuple) else (key,)
    out, advanced = [], False
    for k in parts:
        if isinstance(k, Tensor):
            k = k.data
        elif isinstance(k, list) or (isinstance(k, np.ndarray) and xp is not np):
            k = xp.asarray(backend.to_numpy(np.asarray(k)), device=backend.device_of(t.data))
        if _is_array(k):
            name = backend._dtype_name(k.dtype)
            if name != "bool" and not name.startswith(("int", "uint")):
                raise IndexError(f"arrays used as indices must be integer or boolean, got dtype {name}")
            backend.check_same_device("index", t.data, k)
            advanced = True
        out.append(k)
    full_mask = len(out) == 1 and advanced and backend._dtype_name(out[0].dtype) == "bool" and out[0].ndim == t.ndim
    if not any(k is Ellipsis for k in out) and not full_mask:
        out.append(Ellipsis)
    return tuple(out), advanced


# ---- the array namespace of Tensors (gradients of gradients) ----


def _const(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor._wrap(x) if _is_array(x) else _lift(x, like)


class _NotInGraphNamespace(AttributeError, NotImplementedError):
    pass


class GraphNamespace:
    """The array module of Tensors: ``backend.namespace(tensor)`` returns this.

    Ops are written against arrays (``xp = namespace(x); xp.exp(x)``). Given Tensors,
    the same code gets this namespace, whose functions are Tensor ops, so it
    records a graph as it runs: that is how ``backward(create_graph=True)`` runs
    every op's own backward, once written, as differentiable code. Only the
    functions that ops use are here; any other raises NotImplementedError.
    """

    records_graph = True  # backend helpers (scatter_add) dispatch on this

    def __getattr__(self, name):
        if name in backend.SUPPORTED:  # xp.float32 and the like: the name, which astype accepts
            return name
        # Both kinds: hasattr() sees an AttributeError; the engine reports NotImplementedError.
        raise _NotInGraphNamespace(
            f"xp.{name} is not available on Tensors (backproplab.tensor.GraphNamespace "
            "has only the functions the ops need)"
        )

    def exp(self, x):
        return _const(x).exp()

    def log(self, x):
        return _const(x).log()

    def tanh(self, x):
        return _const(x).tanh()

    def abs(self, x):
        return _const(x).abs()

    def sqrt(self, x):
        return _const(x).sqrt()

    def maximum(self, x, y):
        x = _const(x)
        if isinstance(y, numbers.Number) and y == 0:
            return x.relu()
        y = _lift(y, x)
        return where(x.data >= y.data, x, y)

    def where(self, condition, a, b):
        return where(condition, a, b)

    def sum(self, x, axis=None, keepdims=False):
        return _const(x).sum(axis, keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return _const(x).mean(axis, keepdims)

    def max(self, x, axis=None, keepdims=False):
        return _const(x).max(axis, keepdims)

    def reshape(self, x, shape, copy=None):
        return _const(x).reshape(tuple(shape))

    def broadcast_to(self, x, shape):
        return _const(x).expand(tuple(shape))

    def permute_dims(self, x, axes):
        return _const(x).permute(tuple(axes))

    def matmul(self, a, b):
        a = _const(a)
        return matmul(a, _lift(b, a))

    def astype(self, x, dtype, copy=True):
        return _const(x).astype(dtype)

    def concat(self, arrays, axis=0):
        return concatenate(list(arrays), axis=axis)

    def take(self, x, indices, axis=None):
        if axis != 0:
            raise NotImplementedError(f"xp.take along axis {axis} (only axis=0) on Tensors")
        indices = indices.data if isinstance(indices, Tensor) else indices
        return _apply(ops.Gather, _const(x), index=indices)

    def scatter_add(self, shape, index, values):
        index = index.data if isinstance(index, Tensor) else index
        return _apply(ScatterAdd, _const(values), shape=tuple(shape), index=index)

    def index_scatter(self, g, shape, key, advanced):
        return _apply(IndexScatter, _const(g), shape=tuple(shape), key=key, advanced=advanced)

    def finfo(self, x):
        """Machine limits of a floating dtype (of a Tensor, an array or a dtype)."""
        dtype = x.dtype if hasattr(x, "dtype") and not isinstance(x, np.dtype) else x
        return np.finfo(backend._dtype_name(dtype))

    def ones_like(self, x):
        x = _const(x)
        return Tensor._wrap(backend.namespace(x.data).ones_like(x.data))

    def zeros_like(self, x):
        x = _const(x)
        return Tensor._wrap(backend.namespace(x.data).zeros_like(x.data))


Tensor._backproplab_namespace = GraphNamespace()

"""Ops that move or copy elements without arithmetic. Each backward sends every
gradient entry back to the place its value came from; where one input entry
was copied to many outputs (Expand, repeated indices), the copies' gradients add."""

from ..autodiff import Function, SliceGrad
from ..backend import namespace, device_of, scatter_add


class Expand(Function):
    """Broadcast x to ``shape`` (NumPy rules);  backward: the adjoint of a copy is a sum."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        return namespace(x).broadcast_to(x, shape)

    def backward(self, g):
        xp = namespace(g)
        lead = g.ndim - len(self.in_shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.in_shape) if n == 1 and g.shape[lead + i] != 1
        )
        if axes:
            g = xp.sum(g, axis=axes, keepdims=True)
        return (xp.reshape(g, self.in_shape),)


class Reshape(Function):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return namespace(x).reshape(x, shape)

    def backward(self, g):
        return (namespace(g).reshape(g, self.in_shape),)


class Permute(Function):
    """Reorder axes: output axis i is input axis ``axes[i]``."""

    def forward(self, x, axes):
        self.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return namespace(x).permute_dims(x, axes)

    def backward(self, g):
        return (namespace(g).permute_dims(g, self.inverse),)


class Index(Function):
    """z = x[key];  backward: g put back where x[key] took its entries, zeros elsewhere.

    For a basic key (slices and integers) that is a ``SliceGrad``, which the engine
    adds into one gradient buffer in place; for an integer or boolean array key it
    is a scatter (``index_scatter``), since an entry may have been picked twice."""

    def forward(self, x, key, advanced):
        self.shape, self.key, self.advanced = x.shape, key, advanced
        return x[key]

    def backward(self, g):
        if self.advanced or hasattr(g, "_ctx"):  # a Tensor under create_graph: a recorded op
            return (index_scatter(namespace(g), g, self.shape, self.key, self.advanced),)
        return (SliceGrad(self.shape, self.key, g),)


def index_scatter(xp, g, shape, key, advanced):
    """Zeros of ``shape`` with ``g`` put where ``x[key]`` took its entries: the
    backward of indexing. With integer or boolean arrays in the key an entry can
    be picked more than once, so the scatter adds (``backend.scatter_add``)
    instead of assigning."""
    if getattr(xp, "records_graph", False):  # Tensors: the differentiable op
        return xp.index_scatter(g, shape, key, advanced)
    dev = device_of(g)
    if not advanced:  # slices and integers: each entry picked at most once
        gx = xp.zeros(shape, dtype=g.dtype, device=dev)
        gx[key] = g
        return gx
    size = 1
    for n in shape:
        size *= n
    # Which flat position of x each output entry came from: the same key
    # applied to the positions 0..size-1.
    positions = xp.reshape(xp.arange(size, device=dev), shape)[key]
    flat = scatter_add(xp, (size,), xp.reshape(positions, (-1,)), xp.reshape(g, (-1,)))
    return xp.reshape(flat, shape)


class IndexScatter(Function):
    """z = zeros(shape) with z[key] = g (added where entries repeat): the backward
    of ``Index`` as an op of its own, so that a gradient of it exists;
    backward: gz[key], indexing again."""

    def forward(self, g, shape, key, advanced):
        self.key = key
        return index_scatter(namespace(g), g, shape, key, advanced)

    def backward(self, gz):
        return (gz[self.key],)


class ScatterAdd(Function):
    """z = zeros(shape) with z[index[k]] += values[k] along axis 0 (the backward of
    ``Gather`` as an op of its own);  backward: the rows gz[index], gathering again."""

    def forward(self, values, shape, index):
        self.index = index
        return scatter_add(namespace(values), shape, index, values)

    def backward(self, gz):
        return (namespace(gz).take(gz, self.index, axis=0),)


class Gather(Function):
    """z = x[index] along axis 0 for an integer array ``index`` of any shape
    (rows of a matrix, embeddings, one logit per example); z has shape
    index.shape + x.shape[1:]. Backward: each row of g is added back to the row
    it came from, so a row picked twice gets both gradients."""

    def forward(self, x, index):
        xp = namespace(x)
        self.shape, self.index = x.shape, xp.reshape(index, (-1,))
        rows = xp.take(x, self.index, axis=0)
        return xp.reshape(rows, tuple(index.shape) + tuple(x.shape[1:]))

    def backward(self, g):
        xp = namespace(g)
        values = xp.reshape(g, (self.index.shape[0],) + tuple(self.shape[1:]))
        return (scatter_add(xp, self.shape, self.index, values),)


class Concatenate(Function):
    """Join arrays along ``axis``;  backward slices g back into the pieces."""

    def forward(self, *arrays, axis):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return namespace(*arrays).concat(arrays, axis=axis)

    def backward(self, g):
        grads, start = [], 0
        lead = (slice(None),) * self.axis
        for size, needed in zip(self.sizes, self.needs_input_grad):
            grads.append(g[lead + (slice(start, start + size), ...)] if needed else None)
            start += size
        return tuple(grads)

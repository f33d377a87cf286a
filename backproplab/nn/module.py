"""``Module``, ``Parameter`` and ``Sequential``: how a network holds its weights.

A module is a Python object whose attributes are its parts. ``parameters()``
walks those attributes (in the order they were set): a ``Parameter`` is a
weight, a ``Module`` is a sub-network, and a list or tuple of modules is a
stack of sub-networks. Nothing is registered behind the scenes, so the tree a
student prints is the tree they wrote:

    class MLP(nn.Module):
        def __init__(self, rng):
            super().__init__()
            self.hidden = nn.Linear(64, 32, rng=rng)   # named 'hidden.weight', 'hidden.bias'
            self.out = nn.Linear(32, 10, rng=rng)

        def forward(self, x):                           # x: (N, 64) -> logits (N, 10)
            return self.out(self.hidden(x).relu())

Names and behaviour follow PyTorch (``named_parameters``, ``zero_grad``,
``train``/``eval``, ``state_dict``), so what is learned here transfers.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._device import array_like

__all__ = ["Parameter", "Module", "Sequential"]


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad=True`` and found by ``parameters()``.

    Parameter(data, requires_grad=True)

    The data are copied, so that an optimizer updating the weight in place never
    changes the array the caller passed in.
    """

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        if hasattr(data, "shape"):
            data = backend.namespace(data).asarray(data, copy=True)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter" + super().__repr__()[len("Tensor"):]


class _HookHandle:
    """Returned by ``register_forward_hook``; ``remove()`` detaches the hook."""

    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)


class Module:
    """Base class of every layer and network.

    Subclasses set their parts as attributes in ``__init__`` and define
    ``forward(*inputs)``; calling the module runs ``forward`` (and any forward
    hooks). ``training`` is True until ``eval()`` is called.
    """

    # Class-level defaults, so a subclass that forgets super().__init__() still works.
    training = True
    _forward_hooks: dict | None = None
    _buffer_names: tuple = ()

    def __init__(self):
        self.training = True
        self._forward_hooks = {}
        self._buffer_names = ()

    # ---- calling ----

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(...)")

    def __call__(self, *inputs, **kwargs):
        out = self.forward(*inputs, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                result = hook(self, inputs, out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward pass of this module.

        The hook may return a replacement output (or None to keep it). Returns a
        handle whose ``remove()`` takes the hook off again. Used by
        ``backproplab.diagnostics`` to record activations without changing any class.
        """
        if self._forward_hooks is None or "_forward_hooks" not in vars(self):
            self._forward_hooks = {}
        key = object()
        self._forward_hooks[key] = hook
        return _HookHandle(self._forward_hooks, key)

    # ---- the tree ----

    def named_children(self):
        """(name, module) for each direct sub-module; list items are named 'name.i'."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module ('' ) and every module below it."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            kids = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(kids))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def _own_parameters(self):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Parameter):
                        yield f"{name}.{i}", item

    def named_parameters(self):
        """(dotted name, Parameter) for every parameter in the tree, e.g. '0.weight'.

        A parameter shared by two layers is listed once (under its first name).
        """
        seen = set()
        for mod_name, module in self.named_modules():
            for name, param in module._own_parameters():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{mod_name}.{name}" if mod_name else name), param

    def parameters(self):
        """Every Parameter in the tree, each once: what an optimizer updates."""
        for _, param in self.named_parameters():
            yield param

    def register_buffer(self, name, value):
        """Keep a non-trained array (e.g. BatchNorm's running mean) as ``self.<name>``.

        Buffers are saved by ``state_dict``, moved by ``to``, and not returned by
        ``parameters()``.
        """
        if not isinstance(value, Tensor):
            value = Tensor(value)
        if "_buffer_names" not in vars(self):
            self._buffer_names = ()
        if name not in self._buffer_names:
            self._buffer_names = self._buffer_names + (name,)
        setattr(self, name, value)

    def named_buffers(self):
        for mod_name, module in self.named_modules():
            for name in module._buffer_names:
                yield (f"{mod_name}.{name}" if mod_name else name), getattr(module, name)

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ---- training helpers ----

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every parameter: ``grad = None`` (PyTorch's default), or
        with ``set_to_none=False`` fill the existing gradient arrays with zeros in place.

        ``backward()`` adds into ``.grad``; without this the gradients of the
        previous step would be added to the next. Keeping the arrays saves allocating them
        again in every step (the memory of a checkpointed step then holds no new gradients).
        """
        for p in self.parameters():
            zero_grad_of(p, set_to_none)

    def train(self, mode=True):
        """Set training mode (dropout active, BatchNorm uses batch statistics) on the tree."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode: dropout off, BatchNorm uses its running statistics."""
        return self.train(False)

    def to(self, device=None, dtype=None):
        """Move (and/or convert) every parameter and buffer in place; returns self."""
        for _, t in list(self.named_parameters()) + list(self.named_buffers()):
            moved = t.to(device, dtype)
            t.data = moved.data
            if t.grad is not None:
                t.grad = Tensor(t.grad).to(device, dtype).data
        return self

    # ---- saving and loading ----

    def state_dict(self):
        """An ordered dict ``{dotted name: NumPy copy}`` of every parameter and buffer."""
        state = OrderedDict()
        for name, t in list(self.named_parameters()) + list(self.named_buffers()):
            state[name] = np.array(backend.to_numpy(t.data), copy=True)
        return state

    def load_state_dict(self, state):
        """Copy the arrays of ``state`` into the parameters and buffers of the same name.

        Every name must be present, none may be extra, and every shape must match;
        otherwise a ValueError lists all the problems and nothing is changed.
        Values keep each tensor's dtype and device.
        """
        targets = OrderedDict(list(self.named_parameters()) + list(self.named_buffers()))
        missing = [k for k in targets if k not in state]
        extra = [k for k in state if k not in targets]
        wrong = [
            f"{k}: expected shape {targets[k].shape}, got {tuple(np.shape(state[k]))}"
            for k in targets
            if k in state and tuple(np.shape(state[k])) != targets[k].shape
        ]
        if missing or extra or wrong:
            parts = []
            if missing:
                parts.append(f"missing entries: {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected entries: {', '.join(extra)}")
            if wrong:
                parts.append(f"shape mismatches: {'; '.join(wrong)}")
            raise ValueError(
                f"load_state_dict into {type(self).__name__}: " + "; ".join(parts)
                + " (the model was not changed)"
            )
        new = {}
        for k, t in targets.items():  # convert everything first, so a failure changes nothing
            value = state[k]
            value = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
            new[k] = array_like(np.array(value, dtype=backend._dtype_name(t.dtype), copy=True), t.data)
        for k, t in targets.items():
            t.data = new[k]
        return self

    # ---- printing ----

    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr, e.g. 'in=3, out=2'."""
        return ""

    def __repr__(self):
        kids = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not kids:
            return head + ")"
        lines = [head]
        for name, module in kids:
            body = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied one after another: ``Sequential(f, g, h)(x) = h(g(f(x)))``.

    Indexable (``net[0]``, slices give a Sequential), iterable, and ``len(net)``;
    parameters are named by position: '0.weight', '0.bias', '2.weight', ...
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def named_children(self):
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def append(self, layer):
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(layer).__name__}")
        self.layers.append(layer)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


def zero_grad_of(param, set_to_none=True):
    """``param.grad = None``, or its gradient array filled with zeros in place."""
    if set_to_none or param.grad is None:
        param.grad = None
        return
    try:
        param.grad[...] = 0
    except TypeError:  # a 0-d gradient held as a NumPy scalar cannot be written into
        param.grad = param.grad * 0

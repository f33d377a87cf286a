"""``Optimizer``: what every update rule shares.

An optimizer holds the parameters it updates and their per-parameter state
(velocities, running averages). ``step()`` reads each ``p.grad`` and changes
``p.data`` in place, under ``no_grad()`` and with array API calls only, so the
same rule runs on NumPy and CuPy. ``zero_grad()`` sets every ``grad`` to None.

The learning rate is the attribute ``optimizer.lr``; schedulers
(``backproplab.optim.schedule``) set it between steps.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..autodiff import no_grad
from ..nn.module import zero_grad_of
from ..tensor import Tensor

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: subclasses define ``_update(p, g, state)`` for one parameter.

    params: an iterable of Tensors with requires_grad=True (``model.parameters()``).
    """

    # Names of the hyperparameters saved by state_dict (besides lr).
    hyperparameters: tuple = ()

    def __init__(self, params, lr):
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (e.g. "
                "model.parameters()), got a single Tensor; wrap it in a list"
            )
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, not a Tensor")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: params[{i}] (shape {p.shape}) does not require grad")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once in params")
        self.lr = lr
        self.state = [dict() for _ in self.params]
        self.steps = 0

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        if not isinstance(value, numbers.Real) or not value >= 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be a number >= 0, got {value!r}")
        self._lr = float(value)

    def zero_grad(self, set_to_none=True):
        """Set ``grad = None`` on every parameter (backward adds into .grad), or with
        ``set_to_none=False`` fill the existing gradient arrays with zeros in place."""
        for p in self.params:
            zero_grad_of(p, set_to_none)

    def step(self):
        """Update every parameter that has a gradient; parameters without one are skipped."""
        self.steps += 1
        with no_grad():
            for p, state in zip(self.params, self.state):
                if p.grad is None:
                    continue
                if tuple(p.grad.shape) != p.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: a gradient of shape {tuple(p.grad.shape)} "
                        f"for a parameter of shape {p.shape}"
                    )
                self._update(p, p.grad, state)

    def _update(self, p, g, state):
        raise NotImplementedError

    def state_dict(self):
        """``{'lr', hyperparameters..., 'steps', 'state': [{name: NumPy copy}, ...]}``."""
        out = {"lr": self.lr, "steps": self.steps}
        for name in self.hyperparameters:
            out[name] = getattr(self, name)
        out["state"] = [
            {k: (np.array(backend.to_numpy(v), copy=True) if hasattr(v, "shape") else v) for k, v in s.items()}
            for s in self.state
        ]
        return out

    def load_state_dict(self, state):
        """Restore what ``state_dict()`` returned (arrays go to each parameter's device)."""
        from ..nn._device import array_like

        if len(state["state"]) != len(self.params):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: state for {len(state['state'])} "
                f"parameters, but this optimizer has {len(self.params)}"
            )
        self.lr = state["lr"]
        self.steps = state.get("steps", 0)
        for name in self.hyperparameters:
            if name in state:
                setattr(self, name, state[name])
        self.state = [
            # a private copy: step() updates the state in place, never the caller's arrays
            {k: (array_like(np.array(backend.to_numpy(v), dtype=backend._dtype_name(p.dtype)), p.data)
                 if hasattr(v, "shape") else v)
             for k, v in s.items()}
            for p, s in zip(self.params, state["state"])
        ]

    def __repr__(self):
        hp = ", ".join(f"{n}={getattr(self, n)}" for n in self.hyperparameters)
        return f"{type(self).__name__}(lr={self.lr}{', ' + hp if hp else ''}, {len(self.params)} tensors)"

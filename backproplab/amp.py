"""Mixed precision: 16-bit compute, float32 master weights, loss scaling (``torch.amp``'s names).

Half-precision floats halve the memory of activations and, on GPUs with tensor
cores, multiply matmul throughput. Their limits are what this module manages:

    dtype      exponent  significand  largest     smallest normal   eps
    float16    5 bits    10 bits      65504       6.1e-5            9.8e-4
    bfloat16   8 bits    7 bits       3.4e38      1.2e-38           7.8e-3
    float32    8 bits    23 bits      3.4e38      1.2e-38           1.2e-7

``autocast(dtype)`` runs matmul-like ops (MatMul, Conv2d) in ``dtype`` and keeps
the ops whose accuracy needs range or many additions (sums, exp, log, pow,
softmax cross-entropy) in float32; every other op runs in the dtype of its
inputs. The parameters stay float32 ("master weights"): the casts are ops of
the graph, so each gradient arrives in its parameter's dtype. Only float32 and
16-bit inputs are cast; float64 is left alone, as in PyTorch.

``GradScaler`` multiplies the loss by a large factor S before backward, so that
small gradients, which float16 would flush to zero (below ~6e-8), stay
representable; ``unscale_`` divides them by S again in float32. A step whose
gradients overflowed (inf/nan) is skipped and S halves; after
``growth_interval`` good steps S doubles.

    scaler = amp.GradScaler()
    for x, y in loader:
        opt.zero_grad()
        with amp.autocast("float16"):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)          # unscales, skips the step on inf/nan
        scaler.update()

On a CPU NumPy's float16 arithmetic is not faster than float32 (it is emulated):
what this module shows there is memory and numerics.
"""

from __future__ import annotations

import contextlib

from . import autodiff, backend

__all__ = ["autocast", "GradScaler", "LOW_PRECISION_OPS", "FLOAT32_OPS"]

# Op classes by name (so ops defined elsewhere, such as Conv2d, join by name).
LOW_PRECISION_OPS = frozenset({"MatMul", "Conv2d"})
FLOAT32_OPS = frozenset({"Sum", "Exp", "Log", "Pow", "SoftmaxCrossEntropy"})
_LOW = ("float16", "bfloat16")


class _Policy:
    """What autocast does to the inputs of one op; called by ``tensor._apply``."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, fn_cls, inputs):
        name = fn_cls.__name__
        if name in LOW_PRECISION_OPS:
            target, eligible = self.dtype, ("float32",) + _LOW
        elif name in FLOAT32_OPS:
            target, eligible = "float32", _LOW
        else:
            return inputs
        out = []
        for t in inputs:
            kind = backend._dtype_name(t.dtype)
            out.append(t.astype(target) if kind in eligible and kind != target else t)
        return out


@contextlib.contextmanager
def autocast(dtype="float16", enabled=True):
    """Inside this block matmul-like ops compute in ``dtype`` ('float16' or
    'bfloat16') and sums, exp, log, pow and softmax cross-entropy in float32.
    ``enabled=False`` turns autocast off inside an enclosing autocast block."""
    name = backend._dtype_name(dtype)
    if name not in _LOW:
        raise ValueError(f"autocast: dtype must be float16 or bfloat16, got {name}")
    token = autodiff._autocast.set(_Policy(name) if enabled else None)
    try:
        yield
    finally:
        autodiff._autocast.reset(token)


class GradScaler:
    """Dynamic loss scaling, with ``torch.amp.GradScaler``'s API.

    GradScaler(device="cpu", init_scale=2.0**16, growth_factor=2.0,
               backoff_factor=0.5, growth_interval=2000, enabled=True)

    scale(loss)      loss * S (a Tensor, or a list of them)
    unscale_(opt)    divide opt's gradients by S, in place, and look for inf/nan
    step(opt)        unscale_ if not done yet; opt.step() unless inf/nan was found
    update()         S *= backoff_factor after a skipped step, S *= growth_factor
                     after growth_interval steps in a row without inf/nan
    """

    def __init__(self, device="cpu", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        if not init_scale > 0:
            raise ValueError(f"GradScaler: init_scale must be > 0, got {init_scale!r}")
        if not growth_factor > 1:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor!r}")
        if not 0 < backoff_factor < 1:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor!r}")
        if not isinstance(growth_interval, int) or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval must be a positive integer, got {growth_interval!r}")
        self.device = device
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._enabled = bool(enabled)
        self._per_optimizer = {}  # id(optimizer) -> {"unscaled": bool, "found_inf": bool}

    def is_enabled(self):
        return self._enabled

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def get_growth_interval(self):
        return self._growth_interval

    def scale(self, outputs):
        """outputs * S: backward from it gives S times the gradients."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer):
        """Divide the gradients of ``optimizer``'s parameters by S (in place, in their
        own float32 dtype) and record whether any is inf or nan."""
        if not self._enabled:
            return
        state = self._per_optimizer.setdefault(id(optimizer), {"unscaled": False, "found_inf": False})
        if state["unscaled"]:
            raise RuntimeError("GradScaler.unscale_() has already been called on this optimizer since the last update()")
        inv = 1.0 / self._scale
        found_inf = False
        for i, p in enumerate(optimizer.params):
            if p.grad is None:
                continue
            kind = backend._dtype_name(p.grad.dtype)
            if kind == "float64":
                raise TypeError(
                    f"GradScaler: parameter {i} (shape {p.shape}) is float64; loss scaling is not "
                    "needed there (float64 gradients do not underflow): drop the scaler, or keep "
                    "float32 master weights and compute in float16 under amp.autocast"
                )
            xp = backend.namespace(p.grad)
            if not bool(xp.all(xp.isfinite(p.grad))):
                found_inf = True
            p.grad = p.grad * xp.asarray(inv, dtype=p.grad.dtype, device=backend.device_of(p.grad))
        state["unscaled"], state["found_inf"] = True, found_inf

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` on unscaled gradients, skipped if any was inf or nan.
        Returns what ``optimizer.step`` returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._per_optimizer.get(id(optimizer))
        if state is None or not state["unscaled"]:
            self.unscale_(optimizer)
            state = self._per_optimizer[id(optimizer)]
        state["stepped"] = True
        if state["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        """Adjust S for the next iteration (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        elif any(s["found_inf"] for s in self._per_optimizer.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        elif self._per_optimizer:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self):
        return {
            "scale": self._scale, "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        } if self._enabled else {}

    def load_state_dict(self, state):
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])

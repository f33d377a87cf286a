"""Checks of exercise notebook 10_cost: FLOPs of a linear layer's backward, the bytes a graph
keeps (backproplab.memory.saved_bytes) and a step of loss scaling (backproplab.amp.GradScaler)."""

import numpy as np

from ... import amp, memory, nn, optim
from ...tensor import Tensor
from ..spec import Spec
from ._common import seed

REFERENCES = ("backproplab",)


def linear_backward_flops(n, d_in, d_out, needs_input_grad, bias):
    """The FLOPs of Y = X W + b's backward, counted as the lesson counts them: a matrix product
    (a, b) @ (b, c) is 2 a b c (a multiply and an add per term), a sum of n rows of d numbers
    is n d. dW = X^T dY always; dX = dY W^T only when the input needs a gradient; db = sum_n dY
    only with a bias."""
    flops = 2 * n * d_in * d_out
    if needs_input_grad:
        flops += 2 * n * d_in * d_out
    if bias:
        flops += n * d_out
    return flops


def _flops_cases(rng):
    cases = [(256, 512, 512, True, True), (64, 784, 128, False, True), (1, 3, 5, True, False),
             (10, 1, 1, False, False)]
    for _ in range(3):
        n, d_in, d_out = (int(v) for v in rng.integers(1, 300, 3))
        cases.append((n, d_in, d_out, bool(rng.integers(0, 2)), bool(rng.integers(0, 2))))
    return cases


_DTYPES = {2: "float16", 4: "float32", 8: "float64"}


def _library_saved_bytes(batch, widths, itemsize, seed_):
    # Linear, Tanh, Linear, Tanh, ..., Linear (no Tanh after the last), loss = output.sum():
    # what memory.saved_bytes counts for that graph (parameters and the input not counted).
    rng = np.random.default_rng(seed_)
    dtype = _DTYPES[itemsize]
    layers = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(d_in, d_out, rng=rng, dtype=dtype), nn.Tanh()]
    model = nn.Sequential(*layers[:-1])
    x = Tensor(rng.standard_normal((batch, widths[0])).astype(dtype))
    return memory.saved_bytes(model(x).sum())


def _saved_cases(rng):
    cases = [(128, [64, 256, 256, 10], 4), (1, [3, 2], 8), (32, [10, 20, 30, 40, 5], 8)]
    for _ in range(2):
        widths = [int(w) for w in rng.integers(1, 40, int(rng.integers(2, 6)))]
        cases.append((int(rng.integers(1, 64)), widths, int(rng.choice([4, 8]))))
    return [case + (seed(rng),) for case in cases]


def _library_scaler_step(grads, scale, growth_tracker, growth_interval):
    # One iteration of amp.GradScaler (growth 2, backoff 1/2) on parameters holding these
    # (scaled) gradients: (the unscaled gradients, or None when the step is skipped, the new
    # scale, the new count of good steps in a row).
    params = [nn.Parameter(np.zeros(g.shape, dtype=g.dtype)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    opt = optim.SGD(params, lr=0.0)
    scaler = amp.GradScaler(init_scale=scale, growth_interval=growth_interval)
    scaler.load_state_dict({"scale": scale, "growth_factor": 2.0, "backoff_factor": 0.5,
                            "growth_interval": growth_interval, "_growth_tracker": growth_tracker})
    scaler.unscale_(opt)
    skipped = scaler._per_optimizer[id(opt)]["found_inf"]
    unscaled = None if skipped else [np.array(p.grad) for p in params]
    scaler.step(opt)
    scaler.update()
    return unscaled, scaler.get_scale(), scaler.state_dict()["_growth_tracker"]


def _scaler_cases(rng):
    def grads(scale, poison=None):
        gs = [(scale * 1e-5 * rng.standard_normal(s)).astype(np.float32) for s in [(3, 4), (4,), (2, 2)]]
        if poison is not None:
            gs[int(rng.integers(0, 3))].flat[0] = poison
        return gs
    interval = int(rng.integers(3, 10))
    return [(grads(2.0**16), 2.0**16, 0, 2000),               # a good step
            (grads(2.0**10), 2.0**10, interval - 1, interval),  # the good step that doubles S
            (grads(2.0**24, np.inf), 2.0**24, 5, 2000),         # overflow: skip, halve, reset
            (grads(2.0**12, np.nan), 2.0**12, 0, interval),      # nan counts as overflow
            (grads(8.0), 8.0, 1, interval)]


SPECS = [
    Spec("linear_backward_flops", "linear_backward_flops", 2, _flops_cases,
         subject="linear_backward_flops", reference=linear_backward_flops, names="flops",
         arg_names=("n", "d_in", "d_out", "needs_input_grad", "bias"), rtol=0, atol=0, seed=100),
    Spec("mlp_saved_bytes", "mlp_saved_bytes", 3, _saved_cases, subject="mlp_saved_bytes",
         observe=lambda subjects, batch, widths, itemsize, seed_: subjects[0](batch, widths, itemsize),
         reference=_library_saved_bytes, names="bytes", rtol=0, atol=0, seed=101),
    Spec("grad_scaler_step", "grad_scaler_step", 3, _scaler_cases, subject="grad_scaler_step",
         reference=_library_scaler_step, names=("grads", "scale", "growth_tracker"),
         arg_names=("grads", "scale", "growth_tracker", "growth_interval"), seed=102),
]

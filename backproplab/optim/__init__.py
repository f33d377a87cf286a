"""Optimizers, learning-rate schedules and gradient clipping (PyTorch's names).

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 5.0)   # optional
        opt.step()

Gradient accumulation over micro-batches needs no helper: ``backward()`` adds
into ``.grad``. To train on a batch of 128 as four micro-batches of 32, scale
each micro-batch's mean loss by 1/4 and call ``step()`` once:

    opt.zero_grad()
    for xb, yb in micro_batches:                 # 4 slices of 32
        (loss_fn(model(xb), yb) / 4).backward()  # .grad += d(loss/4)/dw
    opt.step()                                   # same gradients as one batch of 128
"""

from .optimizer import Optimizer
from .sgd import SGD
from .adaptive import Adagrad, AdaGrad, RMSprop, Adam, AdamW
from .lbfgs import LBFGS
from .clip import clip_grad_norm_, clip_grad_value_
from .schedule import LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, LinearWarmup

__all__ = [
    "Optimizer", "SGD", "Adagrad", "AdaGrad", "RMSprop", "Adam", "AdamW", "LBFGS",
    "clip_grad_norm_", "clip_grad_value_",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearWarmup",
]

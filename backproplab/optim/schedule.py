"""Learning-rate schedules: each ``step()`` (once per epoch, or per batch for
warm-up) sets ``optimizer.lr`` from the initial rate lr_0 and the count t."""

from __future__ import annotations

import math

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearWarmup"]


class LRScheduler:
    """Base class: ``lr_at(t)`` gives the rate after t calls of ``step()``."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.t = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        raise NotImplementedError

    def step(self):
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)
        return self.optimizer.lr

    def state_dict(self):
        return {"t": self.t, "base_lr": self.base_lr}

    def load_state_dict(self, state):
        self.t, self.base_lr = state["t"], state["base_lr"]
        self.optimizer.lr = self.lr_at(self.t)


class StepLR(LRScheduler):
    """lr_t = lr_0 * gamma^floor(t / step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        if step_size <= 0:
            raise ValueError(f"StepLR: step_size must be > 0, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    """lr_t = lr_0 * gamma^t."""

    def __init__(self, optimizer, gamma: float):
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.gamma**t


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2 for t <= T_max,
    then eta_min (Loshchilov and Hutter, 2017, without restarts)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, t):
        t = min(t, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearWarmup(LRScheduler):
    """lr_t = lr_0 * (start_factor + (1 - start_factor) t / warmup_steps) for
    t < warmup_steps, then lr_0: a gentle start for Adam and large batches."""

    def __init__(self, optimizer, warmup_steps: int, start_factor: float = 0.0):
        if warmup_steps <= 0:
            raise ValueError(f"LinearWarmup: warmup_steps must be > 0, got {warmup_steps}")
        if not 0 <= start_factor <= 1:
            raise ValueError(f"LinearWarmup: start_factor must be in [0, 1], got {start_factor}")
        self.warmup_steps, self.start_factor = warmup_steps, start_factor
        super().__init__(optimizer)

    def lr_at(self, t):
        if t >= self.warmup_steps:
            return self.base_lr
        return self.base_lr * (self.start_factor + (1 - self.start_factor) * t / self.warmup_steps)

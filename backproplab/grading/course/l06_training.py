"""Checks of exercise notebook 06_training: references in backproplab.optim, data, train."""

import numpy as np

from ... import nn, optim, train
from ...data import DataLoader
from ...nn import functional as F
from ...tensor import Tensor
from ..spec import Spec
from ._common import seed

REFERENCES = ("backproplab.optim", "backproplab.data", "backproplab.train",
              "backproplab.manual", "backproplab.numerics", "backproplab.diagnostics",
              "backproplab.nn.init", "backproplab.grading")


def _library_sgd_step(w, grad, velocity, lr, momentum):
    # One step of backproplab.optim.SGD on a parameter w, started from the given velocity.
    p = nn.Parameter(w)
    p.grad = grad.copy()
    opt = optim.SGD([p], lr=lr, momentum=momentum)
    state = opt.state_dict()
    state["state"] = [{"velocity": velocity.copy()}]
    opt.load_state_dict(state)
    opt.step()
    return p.numpy(), opt.state[0]["velocity"]


def _sgd_cases(rng):
    return [(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
             float(rng.uniform(0.01, 0.5)), 0.9),
            (rng.standard_normal(5), rng.standard_normal(5), np.zeros(5), 0.5, 0.99),
            (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
             float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.1, 0.9)))]


def _observe_batches(subjects, n, batch_size, seed_):
    batches = subjects[0](n, batch_size, np.random.default_rng(seed_))
    return None if batches is None else [np.asarray(batch) for batch in batches]


def _library_batches(n, batch_size, seed_):
    # DataLoader over the indices themselves: each batch it yields is a batch of indices.
    return [batch.numpy() for batch in DataLoader(np.arange(n), batch_size, shuffle=True,
                                                  rng=np.random.default_rng(seed_))]


def _accuracy_cases(rng):
    cases = []
    for n, c in [(20, 10), (7, 3), (50, 2), (4, 5)]:
        logits = rng.standard_normal((n, c))
        labels = np.where(rng.random(n) < 0.6, logits.argmax(axis=1), rng.integers(0, c, n))
        cases.append((logits, labels))
    return cases


def _library_cosine_lr(t, total, lr_max, lr_min):
    # The rate that optim.CosineAnnealingLR sets after t calls of step().
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=lr_max)
    schedule = optim.CosineAnnealingLR(opt, T_max=total, eta_min=lr_min)
    for _ in range(t):
        schedule.step()
    return opt.lr


def _cosine_cases(rng):
    total = int(rng.integers(8, 15))
    lr_max = float(rng.uniform(0.05, 0.5))
    return ([(t, total, lr_max, 0.0) for t in (0, 1, 3, total // 2, total - 1, total, total + 2)]
            + [(7, 20, 0.5, 0.01), (20, 20, 0.5, 0.01)])


def _gradients_after(fill, n, micro_batch_size, seed_):
    # Build a model from a seed, leave stale gradients in it (as after an earlier step),
    # call fill(model, x, y, micro_batch_size) and return the parameters' gradients.
    rng = np.random.default_rng(seed_)
    model = nn.Sequential(nn.Linear(64, 16, rng=rng), nn.Tanh(), nn.Linear(16, 10, rng=rng))
    x, y = rng.standard_normal((n, 64)), rng.integers(0, 10, n)
    F.cross_entropy(model(Tensor(x[:3])), y[:3]).backward()  # stale gradients
    fill(model, x, y, micro_batch_size)
    return [None if p.grad is None else np.array(p.grad) for p in model.parameters()]


def _one_batch(model, x, y, micro_batch_size):
    # The reference: the library's backward on the mean loss of the whole batch at once.
    model.zero_grad()
    F.cross_entropy(model(Tensor(x)), y).backward()


def _accumulate_cases(rng):
    return [(100, 32, seed(rng)), (128, 32, seed(rng)), (10, 10, seed(rng)), (7, 3, seed(rng))]


SPECS = [
    Spec("sgd_momentum_step", "sgd_momentum_step", 3, _sgd_cases, subject="sgd_momentum_step",
         reference=_library_sgd_step, names=("w", "velocity"),
         arg_names=("w", "grad", "velocity", "lr", "momentum"), seed=60),
    Spec("minibatch_indices", "minibatch_indices", 2,
         lambda rng: [(10, 3, seed(rng)), (64, 16, seed(rng)), (5, 8, seed(rng)), (1, 1, seed(rng)),
                      (100, 32, seed(rng))],
         subject="minibatch_indices", observe=_observe_batches, reference=_library_batches,
         arg_names=("n", "batch_size"), seed=61),
    Spec("accuracy", "accuracy", 2, _accuracy_cases, subject="accuracy",
         reference=train.accuracy, names="accuracy", arg_names=("logits", "labels"), seed=66),
    Spec("cosine_lr", "cosine_lr", 2, _cosine_cases, subject="cosine_lr",
         reference=_library_cosine_lr, names="lr", seed=67),
    Spec("accumulate_gradients", "accumulate_gradients", 3, _accumulate_cases,
         subject="accumulate_gradients",
         observe=lambda subjects, *case: _gradients_after(subjects[0], *case),
         reference=lambda *case: _gradients_after(_one_batch, *case),
         rtol=1e-9, atol=1e-12, names=("dW1", "db1", "dW2", "db2"), seed=68),
]


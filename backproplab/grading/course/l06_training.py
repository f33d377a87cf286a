"""Checks of exercise notebook 06_training: references in backproplab.optim, data, train."""

import numpy as np

from ... import nn, numerics, optim, train
from ...data import DataLoader
from ...nn import functional as F
from ...tensor import Tensor
from ..spec import Spec
from ._common import seed
from ._diagnose import diagnose

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


def _log_softmax(z):
    m = z.detach().numpy().max(axis=1, keepdims=True)  # a constant shift: no gradient
    return z - ((z - m).exp().sum(axis=1, keepdims=True)).log() - m


def _smoothed_targets(y, c, smoothing):
    return (1.0 - smoothing) * np.eye(c)[y] + smoothing / c


def _smoothing_loss(z, y, smoothing):
    n, c = z.shape
    return -(Tensor(_smoothed_targets(y, c, smoothing)) * _log_softmax(z)).sum() / n


def _probabilities(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _smoothing_cases(rng):
    return [(rng.standard_normal((n, c)) * 2, rng.integers(0, c, n), smoothing)
            for n, c, smoothing in [(6, 4, float(rng.uniform(0.05, 0.3))), (1, 3, 0.1),
                                    (8, 10, float(rng.uniform(0.05, 0.3)))]]


SMOOTHING_MISTAKES = [
    ("it is the gradient without smoothing, (P - one-hot) / N: the targets are the smoothed "
     "ones",
     lambda z, y, s: (_probabilities(z) - np.eye(z.shape[1])[y]) / len(y)),
    ("it spreads the smoothing over the C - 1 wrong classes only (eps / (C - 1) each); here "
     "every class, the true one too, gets eps / C",
     lambda z, y, s: (_probabilities(z) - (1 - s) * np.eye(z.shape[1])[y]
                      - s / (z.shape[1] - 1) * (1 - np.eye(z.shape[1])[y])) / len(y)),
    ("it is N times too large: the loss is a mean over the N examples",
     lambda z, y, s: _probabilities(z) - _smoothed_targets(y, z.shape[1], s)),
]


def _decay_loss(x, y, w, b, weight_decay):
    return (F.cross_entropy(x @ w + b, y) + 0.5 * weight_decay * (w * w).sum())


def _decay_reference(x, y, w, b, weight_decay):
    return numerics.tensor_grads(lambda w_, b_: _decay_loss(Tensor(x), y, w_, b_, weight_decay),
                                 w, b)


def _decay_slip(x, y, w, b, weight_decay, w_term=1.0, b_term=0.0, n=None):
    dz = (_probabilities(x @ w + b) - np.eye(w.shape[1])[y]) / (n or len(y))
    return x.T @ dz + w_term * weight_decay * w, dz.sum(axis=0) + b_term * weight_decay * b


def _decay_cases(rng):
    return [(rng.standard_normal((n, d)), rng.integers(0, c, n), rng.standard_normal((d, c)),
             rng.standard_normal(c), float(rng.uniform(0.01, 0.5)))
            for n, d, c in [(8, 5, 3), (1, 4, 2), (12, 6, 10)]]


DECAY_MISTAKES = [
    ("the penalty (lambda/2) ||W||² covers the weights only: the bias gets no decay",
     lambda *case: _decay_slip(*case, b_term=1.0)),
    ("the penalty's gradient is half what it should be: differentiate (lambda/2) w² and the "
     "2 of the square cancels the 1/2",
     lambda *case: _decay_slip(*case, w_term=0.5)),
    ("the cross-entropy part is N times too large: the loss is a mean over the N examples",
     lambda *case: _decay_slip(*case, n=1)),
]


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
    Spec("label_smoothing_backward", "label_smoothing_backward", 3, _smoothing_cases,
         subject="label_smoothing_backward",
         judge=diagnose(lambda z, y, s: numerics.tensor_grads(
                            lambda t: _smoothing_loss(t, y, s), z)[0],
                        SMOOTHING_MISTAKES, names="dlogits", rtol=1e-8, atol=1e-11,
                        regions={"at the true classes (entries [n, y[n]])":
                                 lambda z, y, s: np.arange(z.shape[1]) == y[:, None],
                                 "at the wrong classes (entries [n, j] with j != y[n])":
                                 lambda z, y, s: np.arange(z.shape[1]) != y[:, None]}),
         arg_names=("logits", "labels", "smoothing"), seed=69),
    Spec("weight_decay_grads", "weight_decay_grads", 3, _decay_cases,
         subject="weight_decay_grads",
         judge=diagnose(_decay_reference, DECAY_MISTAKES, names=("dw", "db"), rtol=1e-8,
                        atol=1e-11),
         arg_names=("x", "labels", "w", "b", "weight_decay"), seed=70),
]

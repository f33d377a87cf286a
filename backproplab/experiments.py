"""The 1986 experiments, run for many random seeds at once.

Rumelhart, Hinton & Williams, "Learning representations by back-propagating errors"
(Nature, 1986) train small logistic networks full-batch: one *sweep* is one pass over all
training patterns, after which every weight moves by eq. 9 of the paper,

    Δw(t) = -ε ∂E/∂w(t) + α Δw(t-1),    E = 1/2 Σ_c Σ_j (y_jc - d_jc)^2,

with E summed (not averaged) over the patterns c. How many sweeps a net needs depends on
its random start, so one run says little; here S seeds are trained side by side as one
batched network: every weight gets a leading seed axis, ``X @ W1`` with ``W1`` of shape
(S, D, H) gives hidden activities of shape (S, N, H), and one ``backward()`` fills the
gradients of all S nets (their errors are summed, and no weight is shared between seeds,
so each net gets exactly the gradient of its own E).

A net stops moving on the sweep it first meets the criterion, so its weights are those of
the moment it learned, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .autodiff import no_grad
from .tensor import Tensor

__all__ = ["SweepRun", "train_logistic_nets", "mirror_weight_pattern", "FamilyTreesRun",
           "train_family_trees"]


@dataclass
class SweepRun:
    """What ``train_logistic_nets`` found for S seeds.

    seeds:   (S,) the seeds, in order.
    sweeps:  (S,) sweeps each net needed to meet the criterion; -1 where it never did.
    learned: (S,) boolean, ``sweeps >= 0``.
    error:   (S, T) E of each net after each sweep (T = sweeps run, frozen nets repeat).
    max_error: (S, T) the largest |y - d| of each net after each sweep.
    W1, b1, W2, b2: final weights, shapes (S, D, H), (S, H), (S, H, O), (S, O).
    """

    seeds: np.ndarray
    sweeps: np.ndarray
    learned: np.ndarray
    error: np.ndarray
    max_error: np.ndarray
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray

    def sweeps_to(self, tolerance):
        """(S,) sweeps each net needed until every output was within ``tolerance`` of its
        target (-1 where it never was); ``tolerance`` must be at least the run's own,
        since a net stops moving once it meets that."""
        below = self.max_error < tolerance
        return np.where(below.any(axis=1), below.argmax(axis=1), -1)

    def predict(self, inputs):
        """Outputs y of every net for inputs X (N, D): shape (S, N, O), as NumPy."""
        x = np.asarray(inputs, dtype=self.W1.dtype)
        hidden = _sigmoid(x @ self.W1 + self.b1[:, None, :])
        return _sigmoid(hidden @ self.W2 + self.b2[:, None, :])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _initial_weights(seed, shapes, init_range):
    """Uniform in [-init_range, init_range], drawn from ``default_rng(seed)`` in the order
    W1, b1, W2, b2 (so one seed's net does not depend on how many others run beside it)."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-init_range, init_range, size=shape) for shape in shapes]


def train_logistic_nets(inputs, targets, hidden, seeds, *, lr=0.1, momentum=0.9,
                        init_range=0.3, max_sweeps=5000, tolerance=0.5):
    """Train one D-H-O logistic net per seed, full-batch, with eq. 9 of the 1986 paper.

    inputs:  X (N, D); targets: d (N, O) in [0, 1] (a 1-D target is read as (N, 1)).
    hidden:  H, the number of hidden units; seeds: an int (that many seeds 0..n-1) or
             a list of ints.
    lr, momentum: ε and α of eq. 9; the gradient is that of the summed error
             E = 1/2 Σ_c Σ_j (y_jc - d_jc)^2, not of its mean over patterns.
    tolerance: a net has learned when every output is within ``tolerance`` of its
             target (0.5: every pattern on the right side of 1/2).
    max_sweeps: give up after this many sweeps (those nets get ``sweeps = -1``).

    Returns a ``SweepRun``. Float64 throughout; the weights start uniform in
    [-init_range, init_range], biases included (a bias is a weight from a unit that is on).
    """
    x = np.asarray(inputs, dtype=np.float64)
    d = np.asarray(targets, dtype=np.float64)
    if d.ndim == 1:
        d = d[:, None]
    if x.ndim != 2 or d.ndim != 2 or x.shape[0] != d.shape[0]:
        raise ValueError(f"train_logistic_nets: inputs must be (N, D) and targets (N, O) "
                         f"with the same N, got shapes {x.shape} and {d.shape}")
    if not (isinstance(hidden, (int, np.integer)) and hidden > 0):
        raise ValueError(f"train_logistic_nets: hidden must be a positive int, got {hidden!r}")
    seeds = np.arange(seeds) if isinstance(seeds, (int, np.integer)) else np.asarray(seeds)
    if seeds.ndim != 1 or seeds.size == 0:
        raise ValueError(f"train_logistic_nets: seeds must be a positive int or a list of "
                         f"ints, got {seeds!r}")
    if not 0 < tolerance <= 1:
        raise ValueError(f"train_logistic_nets: tolerance must be in (0, 1], got {tolerance}")
    n_in, n_out, n_seeds = x.shape[1], d.shape[1], seeds.size
    shapes = [(n_in, hidden), (1, hidden), (hidden, n_out), (1, n_out)]
    per_seed = [_initial_weights(int(s), shapes, init_range) for s in seeds]
    params = [Tensor(np.stack([w[k] for w in per_seed]), requires_grad=True)
              for k in range(4)]  # (S, D, H), (S, 1, H), (S, H, O), (S, 1, O)
    steps = [np.zeros_like(p.data) for p in params]  # Δw(t-1) of eq. 9
    X, D = Tensor(x), Tensor(d)

    sweeps = np.full(n_seeds, -1)
    active = np.ones((n_seeds, 1, 1))  # 0 for nets that have learned: they stop moving
    errors, max_errors = [], []
    for sweep in range(max_sweeps + 1):
        W1, b1, W2, b2 = params
        y = (((X @ W1) + b1).sigmoid() @ W2 + b2).sigmoid()  # (S, N, O)
        diff = y - D
        per_net = 0.5 * (diff * diff).sum(axis=(1, 2))  # E of each net, (S,)
        errors.append(per_net.numpy().copy())
        worst = np.abs(diff.numpy()).max(axis=(1, 2))
        max_errors.append(worst)
        done = (worst < tolerance) & (sweeps < 0)
        sweeps[done] = sweep
        active[done] = 0.0
        if (sweeps >= 0).all() or sweep == max_sweeps:
            break
        for p in params:
            p.grad = None
        per_net.sum().backward()
        with no_grad():
            for p, step in zip(params, steps):
                step *= momentum
                step -= lr * p.grad
                step *= active  # a frozen net keeps its weights and has no momentum
                p.data += step
    W1, b1, W2, b2 = (p.numpy().copy() for p in params)
    return SweepRun(seeds=seeds, sweeps=sweeps, learned=sweeps >= 0,
                    error=np.stack(errors, axis=1), max_error=np.stack(max_errors, axis=1),
                    W1=W1, b1=b1[:, 0, :], W2=W2,
                    b2=b2[:, 0, :])


def mirror_weight_pattern(W1):
    """Read the paper's pattern off the input weights of a 6-H net (one seed's W1, (6, H)).

    For each hidden unit j, with inputs 1..6 and mirror pairs (1,6), (2,5), (3,4):
    - ``ratios[j]``: |w| of the three left inputs divided by the smallest of them, sorted
      (about [1, 2, 4] in the paper);
    - ``antisymmetry[j]``: max over pairs |w_i + w_mirror(i)| / max |w| (about 0 when
      mirror weights are equal in size and opposite in sign, which makes the unit's input
      exactly 0 on a symmetric pattern).

    Returns ``(ratios (H, 3), antisymmetry (H,))``.
    """
    W1 = np.asarray(W1, dtype=np.float64)
    if W1.ndim != 2 or W1.shape[0] != 6:
        raise ValueError(f"mirror_weight_pattern: expects the input weights of one 6-input "
                         f"net, shape (6, H), got {W1.shape}")
    left, right = W1[:3], W1[::-1][:3]  # right[i] is the mirror of left[i]
    magnitude = np.sort(np.abs(left), axis=0)
    ratios = (magnitude / magnitude[:1]).T
    antisymmetry = np.abs(left + right).max(axis=0) / np.abs(W1).max(axis=0)
    return ratios, antisymmetry


@dataclass
class FamilyTreesRun:
    """What ``train_family_trees`` found for S seeds (one held-out set per seed).

    seeds:     (S,) the seeds; seed s draws both the initial weights and its test cases.
    test_cases: (S, n_test) indices into ``data.family_trees().cases`` held out of training.
    error:     (S, T) E on the training cases after each sweep.
    outputs:   (S, 104, 24) the 24 output units for every case (trained and held out).
    targets:   (104, 24) 1 for each correct answer.
    encodings: (S, 24, 6) the person-encoding units' activities for each of the 24 people.
    """

    seeds: np.ndarray
    test_cases: np.ndarray
    error: np.ndarray
    outputs: np.ndarray
    targets: np.ndarray
    encodings: np.ndarray

    def answered(self, cases=None):
        """(S, len(cases)) True where a case is answered: the output unit of every correct
        answer above 0.5 and every other output unit below 0.5 (``cases`` default: each
        seed's own test cases)."""
        if cases is None:
            picked = np.take_along_axis(self.outputs, self.test_cases[:, :, None], axis=1)
            targets = self.targets[self.test_cases]
        else:
            picked, targets = self.outputs[:, cases], self.targets[cases]
        return np.all((picked > 0.5) == (targets > 0.5), axis=-1)


def train_family_trees(seeds=4, *, n_test=4, sweeps=1500, warmup=20, lr=(0.005, 0.01),
                       momentum=(0.5, 0.9), weight_decay=0.002, init_range=0.3):
    """The family-trees network of the 1986 letter, S seeds side by side, full batch.

    24 person units -> 6 person-encoding units; 12 relation units -> 6 relation-encoding
    units; both -> 12 central units -> 6 units -> 24 output units, all logistic, every
    unit with a bias. The defaults are the letter's settings. E = 1/2 sum_c sum_j
    (y_jc - d_jc)^2 over the training cases, eq. 9
    with (lr, momentum) = (lr[0], momentum[0]) for the first ``warmup`` sweeps and
    (lr[1], momentum[1]) after, and after every change each weight shrinks by the factor
    (1 - weight_decay), the letter's schedule and decay. For seed s, ``n_test`` of the 104
    cases, drawn with ``default_rng(s)``, are held out of training, and the
    initial weights are uniform in [-init_range, init_range], drawn after them.
    """
    from .data import family_trees

    ft = family_trees()
    person, relation, targets = ft.arrays()
    n_cases = len(ft.cases)
    seeds = np.arange(seeds) if isinstance(seeds, (int, np.integer)) else np.asarray(seeds)
    if seeds.ndim != 1 or seeds.size == 0 or not 0 <= n_test < n_cases:
        raise ValueError(f"train_family_trees: seeds must be a positive int or a list of ints "
                         f"and 0 <= n_test < {n_cases}, got {seeds!r} and {n_test!r}")
    shapes = [(24, 6), (1, 6), (12, 6), (1, 6), (6, 12), (6, 12), (1, 12), (12, 6), (1, 6),
              (6, 24), (1, 24)]
    tests, inits = [], []
    for s in seeds:
        rng = np.random.default_rng(int(s))
        tests.append(np.sort(rng.choice(n_cases, size=n_test, replace=False)))
        inits.append([rng.uniform(-init_range, init_range, size=shape) for shape in shapes])
    tests = np.array(tests, dtype=int).reshape(len(seeds), n_test)
    train_mask = np.ones((len(seeds), n_cases, 1))
    for k, t in enumerate(tests):
        train_mask[k, t] = 0.0
    params = [Tensor(np.stack([w[i] for w in inits]), requires_grad=True)
              for i in range(len(shapes))]
    steps = [np.zeros_like(p.data) for p in params]
    P, R, D, M = Tensor(person), Tensor(relation), Tensor(targets), Tensor(train_mask)

    def forward():
        A, a, B, b, Cp, Cr, c, H, h, O, o = params
        people = (P @ A + a).sigmoid()                      # (S, 104, 6)
        relations = (R @ B + b).sigmoid()                   # (S, 104, 6)
        central = (people @ Cp + relations @ Cr + c).sigmoid()
        return people, ((central @ H + h).sigmoid() @ O + o).sigmoid()  # (S, 104, 24)

    errors = []
    for sweep in range(sweeps):
        for p in params:
            p.grad = None
        _, y = forward()
        diff = (y - D) * M                                   # held-out cases give no error
        per_net = 0.5 * (diff * diff).sum(axis=(1, 2))
        errors.append(per_net.numpy().copy())
        per_net.sum().backward()
        eps, alpha = (lr[0], momentum[0]) if sweep < warmup else (lr[1], momentum[1])
        with no_grad():
            for p, step in zip(params, steps):
                step *= alpha
                step -= eps * p.grad
                p.data += step
                p.data *= 1.0 - weight_decay
    with no_grad():
        _, y = forward()
        A, a = params[0].numpy(), params[1].numpy()
    encodings = _sigmoid(np.eye(24)[None] @ A + a)          # (S, 24, 6)
    return FamilyTreesRun(seeds=seeds, test_cases=tests, error=np.stack(errors, axis=1),
                          outputs=y.numpy(), targets=targets, encodings=encodings)

"""Synthetic sequence tasks whose answer depends on an input ``lag`` steps back.

Each task makes the distance over which a network must carry information a
parameter, so a lesson can raise it until a plain RNN's gradient vanishes while
an LSTM still learns. Arrays are NumPy, time-major like ``nn.LSTM``'s default
input: x (L, N, D) for L steps and N sequences (``batch_first=True`` callers use
``x.transpose(1, 0, 2)``). The same seed gives the same data.

    adding_problem   sum of the two marked numbers; the first mark at least ``lag`` steps
                     before the end (Hochreiter and Schmidhuber, 1997)
    copy_task        reproduce a few symbols after ``lag`` blank steps (the copy-memory task)
    parity           the XOR of all ``lag`` bits of a sequence
"""

from __future__ import annotations

import numpy as np

__all__ = ["adding_problem", "copy_task", "parity"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check(what, **values):
    for name, v in values.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{what}: {name} must be a positive integer, got {v!r}")


def adding_problem(n, lag, length=None, seed=0, dtype="float64"):
    """The adding problem: each step carries a number u_t ~ U(0, 1) and a marker m_t in
    {0, 1}; exactly two steps are marked, and the target is the sum of their numbers.

        x (L, N, 2) = [u_t, m_t] ;   y (N, 1) = sum_t m_t u_t        (L = ``length``)

    The first mark is uniform in [0, L - lag), the second in [L - lag, L): the first
    number must be held for at least ``lag`` steps. ``length`` defaults to 2 * lag,
    the classic layout (one mark in each half). Always answering the mean, 1, gives
    a mean squared error of 1/6 ~ 0.167: a model has learned only when it does
    clearly better.
    """
    length = 2 * lag if length is None else length
    _check("adding_problem", n=n, lag=lag, length=length)
    if lag >= length:
        raise ValueError(f"adding_problem: lag ({lag}) must be less than length ({length})")
    rng = _rng(seed)
    u = rng.random((length, n))
    first = rng.integers(0, length - lag, size=n)
    second = rng.integers(length - lag, length, size=n)
    marks = np.zeros((length, n))
    cols = np.arange(n)
    marks[first, cols] = 1.0
    marks[second, cols] = 1.0
    x = np.stack([u, marks], axis=-1).astype(dtype)
    y = (u[first, cols] + u[second, cols])[:, None].astype(dtype)
    return x, y


def copy_task(n, lag, copy_len=5, num_symbols=8, seed=0):
    """The copy-memory task: read ``copy_len`` symbols, wait ``lag`` blank steps, then,
    after a go signal, write the symbols back in order.

    Tokens: 0 blank, 1..num_symbols symbols, num_symbols + 1 the go signal.
    x (L, N) and y (L, N) integer tokens, L = copy_len + lag + copy_len:

        x: s_1 .. s_K | 0 ... 0 (lag - 1 blanks) go | 0 ... 0 (K blanks)
        y: 0 ...................................... 0 | s_1 .. s_K

    Each symbol is written copy_len + lag steps after it was read. Guessing a
    symbol at random is right 1 time in num_symbols: a model without memory (blank
    until the go signal, then a uniform guess) scores a cross-entropy of
    copy_len * log(num_symbols) / L per step, and a model has learned the task only
    when it does clearly better. Feed x through ``nn.Embedding`` or ``one_hot`` (num_symbols + 2 classes).
    """
    _check("copy_task", n=n, lag=lag, copy_len=copy_len, num_symbols=num_symbols)
    rng = _rng(seed)
    length = 2 * copy_len + lag
    symbols = rng.integers(1, num_symbols + 1, size=(copy_len, n))
    x = np.zeros((length, n), dtype=np.int64)
    y = np.zeros((length, n), dtype=np.int64)
    x[:copy_len] = symbols
    x[copy_len + lag - 1] = num_symbols + 1
    y[copy_len + lag :] = symbols
    return x, y


def parity(n, lag, seed=0, dtype="float64"):
    """Parity of a bit sequence: x (L, N, 1) with L = ``lag`` bits in {0, 1}; targets
    the running parity after every step, y_t = x_1 XOR ... XOR x_t, shape (L, N, 1).
    The answer at the last step, y[-1], depends on every bit, the first ``lag`` steps
    back. Guessing is right half the time.
    """
    _check("parity", n=n, lag=lag)
    rng = _rng(seed)
    bits = rng.integers(0, 2, size=(lag, n, 1))
    running = np.cumsum(bits, axis=0) % 2
    return bits.astype(dtype), running.astype(dtype)

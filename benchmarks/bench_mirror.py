"""The mirror-symmetry experiment of Rumelhart, Hinton and Williams (1986), Fig. 1.

A 6-2-1 network of logistic units learns whether a 6-bit pattern is symmetric
about its centre, with the paper's settings:

  * all 64 patterns, one weight update per sweep (full batch), on the gradient of
    the summed error E = 1/2 sum_c sum_j (y_jc - d_jc)^2 (summed, not averaged:
    the paper's learning rate refers to this sum);
  * learning rate eps = 0.1, momentum alpha = 0.9 (eq. 9);
  * initial weights and biases uniform in [-0.3, 0.3].

The paper reports 1,425 sweeps for its (single) run. This benchmark runs 20
seeds and reports the median and range of the sweeps to learn, for three
criteria: every output within 0.5 of its target (every pattern classified), 0.2
and 0.1. It then checks the weight pattern the paper describes: for each hidden
unit, input weights on either side of the centre in ratio about 1:2:4, and
mirror positions equal in size and opposite in sign.

    python benchmarks/bench_mirror.py [--seeds 20] [--max-sweeps 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from backproplab import Tensor, nn, optim
from backproplab.data import mirror_symmetry

PAPER_SWEEPS = 1425
CRITERIA = (0.5, 0.2, 0.1)


def make_net(seed):
    """6-2-1 logistic net with every weight and bias ~ U(-0.3, 0.3) from ``seed``."""
    rng = np.random.default_rng(seed)
    net = nn.Sequential(nn.Linear(6, 2, rng=rng), nn.Sigmoid(), nn.Linear(2, 1, rng=rng), nn.Sigmoid())
    for p in net.parameters():
        nn.init.uniform_(p, -0.3, 0.3, rng=rng)
    return net


def train_mirror(seed, max_sweeps=20000, criteria=CRITERIA):
    """Train one net; returns ({tolerance: sweeps or None}, net, final E).

    sweeps = the number of weight updates made before every output is within the
    tolerance of its target (checked on the forward pass at the start of each sweep).
    """
    X, d = mirror_symmetry()
    x = Tensor(X)
    net = make_net(seed)
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    learned = {tol: None for tol in criteria}
    strictest = min(criteria)
    error = None
    for sweep in range(max_sweeps + 1):
        opt.zero_grad()
        y = net(x)
        worst = float(np.abs(y.numpy() - d).max())
        for tol in criteria:
            if learned[tol] is None and worst < tol:
                learned[tol] = sweep
        if learned[strictest] is not None or sweep == max_sweeps:
            break
        loss = nn.functional.sum_squared_error(y, d)
        error = loss.item()
        loss.backward()
        opt.step()
    return learned, net, error


def mirror_weight_pattern(w1):
    """For input weights w1 (6, H): per hidden unit, the mirror-pair sizes
    m_k = (|w_k| + |w_{7-k}|) / 2 for the pairs (1,6), (2,5), (3,4), sorted and
    divided by the smallest (the paper's 1:2:4), and the antisymmetry
    max_k |w_k + w_{7-k}| / max_k |w_k| (0 when mirror weights are equal and opposite).
    Returns (ratios (H, 3), antisymmetry (H,))."""
    w1 = np.asarray(w1, dtype=np.float64)
    left, right = w1[:3], w1[::-1][:3]  # right[k] is the mirror partner of left[k]
    sizes = (np.abs(left) + np.abs(right)) / 2
    ratios = np.sort(sizes, axis=0) / np.sort(sizes, axis=0)[:1]
    antisymmetry = np.abs(left + right).max(axis=0) / np.abs(w1).max(axis=0)
    return ratios.T, antisymmetry


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--max-sweeps", type=int, default=20000)
    args = parser.parse_args(argv)

    print("mirror symmetry, 6-2-1 logistic net, full batch, summed squared error, "
          "lr 0.1, momentum 0.9, init U(-0.3, 0.3)")
    print(f"{'seed':>4} " + " ".join(f"{'sweeps<' + str(t):>12}" for t in CRITERIA)
          + "   pair ratios per hidden unit (sorted, /smallest)   antisymmetry")
    results, start = [], time.perf_counter()
    for seed in range(args.seeds):
        learned, net, _ = train_mirror(seed, args.max_sweeps)
        ratios, anti = mirror_weight_pattern(net[0].weight.numpy())
        results.append((learned, ratios, anti))
        cells = " ".join(f"{('-' if learned[t] is None else learned[t]):>12}" for t in CRITERIA)
        pattern = "  ".join("1:{:.2f}:{:.2f}".format(r[1], r[2]) for r in ratios)
        print(f"{seed:>4} {cells}   {pattern:<44}   " + " ".join(f"{a:.3f}" for a in anti))
    seconds = time.perf_counter() - start

    print(f"\nsweeps to learn over {args.seeds} seeds (paper: {PAPER_SWEEPS:,}; '-' = not within "
          f"{args.max_sweeps:,} sweeps):")
    for t in CRITERIA:
        s = np.array([r[0][t] for r in results if r[0][t] is not None])
        if len(s):
            print(f"  every output within {t}: {len(s)}/{args.seeds} learned, median {np.median(s):,.0f}, "
                  f"range {s.min():,}-{s.max():,}, paper/median {PAPER_SWEEPS / np.median(s):.2f}")
        else:
            print(f"  every output within {t}: none learned")
    good = [r for r in results if r[0][min(CRITERIA)] is not None]
    if good:
        ratios = np.concatenate([r[1] for r in good])
        anti = np.concatenate([r[2] for r in good])
        close = np.all(np.abs(ratios - [1, 2, 4]) / [1, 2, 4] < 0.1, axis=1) & (anti < 0.05)
        print(f"weight pattern of the {len(good)} nets that learned to 0.1 ({2 * len(good)} hidden units):")
        print(f"  median pair ratio 1:{np.median(ratios[:, 1]):.2f}:{np.median(ratios[:, 2]):.2f} (paper 1:2:4), "
              f"median antisymmetry {np.median(anti):.3f} (0 = mirror weights equal and opposite)")
        print(f"  units within 10% of 1:2:4 and antisymmetry < 0.05: {close.sum()}/{len(close)}")
    print(f"wall time {seconds:.1f} s for {args.seeds} seeds")


if __name__ == "__main__":
    main()

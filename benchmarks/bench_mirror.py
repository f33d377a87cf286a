"""The mirror-symmetry experiment of Rumelhart, Hinton and Williams (1986), Fig. 1.

A 6-2-1 network of logistic units learns whether a 6-bit pattern is symmetric
about its centre, with the paper's settings:

  * all 64 patterns, one weight update per sweep (full batch), on the gradient of
    the summed error E = 1/2 sum_c sum_j (y_jc - d_jc)^2 (summed, not averaged:
    the paper's learning rate refers to this sum);
  * learning rate eps = 0.1, momentum alpha = 0.9 (eq. 9);
  * initial weights and biases uniform in [-0.3, 0.3].

The paper reports 1,425 sweeps for its (single) run. This benchmark runs 20
seeds (all at once: ``backproplab.experiments.train_logistic_nets`` stacks the
nets on a leading axis) and reports the median and range of the sweeps to
learn for three criteria: every output within 0.5 of its target (every pattern
classified), 0.2 and 0.1. Nets that never learn within ``--max-sweeps`` count
as slower than every net that did (the median is over all seeds). It then
reads the weight pattern the paper describes off each learned net: input
weights on either side of the centre in ratio about 1:2:4, mirror positions
equal in size and opposite in sign.

    python benchmarks/bench_mirror.py [--seeds 20] [--max-sweeps 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from backproplab.data import mirror_symmetry
from backproplab.experiments import mirror_weight_pattern, train_logistic_nets

PAPER_SWEEPS = 1425
CRITERIA = (0.5, 0.2, 0.1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--max-sweeps", type=int, default=20000)
    args = parser.parse_args(argv)

    X, d = mirror_symmetry()
    start = time.perf_counter()
    run = train_logistic_nets(X, d, hidden=2, seeds=args.seeds, max_sweeps=args.max_sweeps,
                              tolerance=min(CRITERIA))
    seconds = time.perf_counter() - start

    print("mirror symmetry, 6-2-1 logistic net, full batch, summed squared error, "
          "lr 0.1, momentum 0.9, init U(-0.3, 0.3)")
    print(f"sweeps to learn over {args.seeds} seeds (paper: {PAPER_SWEEPS:,} for one run; "
          f"never = not within {args.max_sweeps:,} sweeps):")
    for tol in CRITERIA:
        sweeps = run.sweeps_to(tol)
        learned = sweeps[sweeps >= 0]
        ranked = np.where(sweeps < 0, np.iinfo(np.int64).max, sweeps)
        median = np.median(ranked)
        median_text = f"{median:,.0f}" if median < args.max_sweeps else "never"
        print(f"  every output within {tol}: {learned.size}/{args.seeds} learned, median {median_text}, "
              f"range of the learned {learned.min():,}-{learned.max():,}, "
              f"{(learned <= PAPER_SWEEPS).sum()} as fast as the paper's run or faster")

    learned = np.flatnonzero(run.learned)
    ratios, anti = zip(*(mirror_weight_pattern(run.W1[s]) for s in learned))
    ratios, anti = np.concatenate(ratios), np.concatenate(anti)
    close = np.all(np.abs(ratios - [1, 2, 4]) / [1, 2, 4] < 0.1, axis=1)
    print(f"weight pattern of the {learned.size} nets that learned ({ratios.shape[0]} hidden units):")
    print(f"  median ratio 1:{np.median(ratios[:, 1]):.2f}:{np.median(ratios[:, 2]):.2f} (paper 1:2:4); "
          f"units within 10% of 1:2:4: {close.sum()}/{close.size}")
    others = ratios[~close]
    if others.size:
        print(f"  the other units: median ratio 1:{np.median(others[:, 1]):.2f}:{np.median(others[:, 2]):.2f}")
    print(f"  antisymmetry max |w_i + w_mirror(i)| / max |w|: median {np.median(anti):.4f}, "
          f"max {anti.max():.4f} (0 = mirror weights equal and opposite)")
    print(f"wall time {seconds:.1f} s")


if __name__ == "__main__":
    main()

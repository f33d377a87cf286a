"""The adding problem: an LSTM learns it at lags where a plain RNN does not.

Each sequence carries numbers u_t ~ U(0, 1) and marks two of them; the target is
their sum, read off the last step (``backproplab.data.adding_problem``: length
2 * lag, the first mark at least ``lag`` steps before the end). Always answering
the mean scores a mean squared error of 1/6 ~ 0.167. For each lag and seed, an
LSTM and a tanh RNN (hidden 32, then Linear(32, 1)) train with Adam (lr 1e-2) on
the same fresh batches of 64; the report gives the test MSE on 1000 held-out
sequences and the share of seeds that solved the task (MSE < 0.01).

    python benchmarks/bench_adding.py [--lags 10 20 40] [--seeds 3] [--steps 1500]

tests/nn/test_recurrent.py runs the small version (lag 10, one seed, 600 steps).
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from backproplab import Tensor, nn, no_grad, optim
from backproplab.data import adding_problem

SOLVED = 0.01


class Regressor(nn.Module):
    def __init__(self, kind, hidden, rng):
        super().__init__()
        self.rnn = getattr(nn, kind)(2, hidden, rng=rng, dtype="float32")
        self.head = nn.Linear(hidden, 1, rng=rng, dtype="float32")

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def train(kind, lag, steps, seed, hidden=32, batch=64, every=250):
    net = Regressor(kind, hidden, np.random.default_rng(seed))
    opt = optim.Adam(net.parameters(), lr=1e-2)
    data = np.random.default_rng(100 + seed)
    x_test, y_test = adding_problem(1000, lag, seed=10_000 + seed, dtype="float32")
    curve = []
    for step in range(1, steps + 1):
        x, y = adding_problem(batch, lag, seed=data, dtype="float32")
        loss = nn.functional.mse_loss(net(Tensor(x)), Tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0 or step == steps:
            with no_grad():
                curve.append(nn.functional.mse_loss(net(Tensor(x_test)), Tensor(y_test)).item())
    return curve


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lags", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    threadpool_limits(args.threads)
    print(f"adding problem: hidden 32, batch 64, Adam lr 1e-2, {args.steps} steps; test MSE every 250 steps "
          f"(baseline 1/6 ~ 0.167, solved < {SOLVED})")
    for lag in args.lags:
        for kind in ("LSTM", "RNN"):
            finals = []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                curve = train(kind, lag, args.steps, seed)
                finals.append(curve[-1])
                shown = " ".join(f"{v:.4f}" for v in curve)
                print(f"lag {lag:>3} {kind:>4} seed {seed}: {shown}   ({time.perf_counter() - t0:.0f} s)", flush=True)
            solved = sum(v < SOLVED for v in finals)
            print(f"lag {lag:>3} {kind:>4}: median final MSE {np.median(finals):.4f}, solved {solved}/{len(finals)}",
                  flush=True)


if __name__ == "__main__":
    main()

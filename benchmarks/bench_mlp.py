"""Training-step time of a 784-512-512-10 ReLU MLP: backproplab.Tensor vs PyTorch (CPU).

Forward, backward and an SGD update, float32, at batch 128 and 1024, both
libraries on the same thread count in the same process. Rounds alternate
between the two (blocks of steps) so that the machine's drifts hit both alike; the report gives
medians, the ratio backproplab / PyTorch, and backproplab's backward/forward
time ratio.

    python benchmarks/bench_mlp.py [--threads 2] [--rounds 8]

Needs PyTorch as a reference only: pip install torch==2.13.0
"""

import argparse
import statistics
import time

import numpy as np

import backproplab as bp
from backproplab import Tensor

SIZES = (784, 512, 512, 10)
BLOCK = 5  # timed steps of one library before switching to the other


def make_params(rng):
    params = []
    for d_in, d_out in zip(SIZES[:-1], SIZES[1:]):
        w = rng.standard_normal((d_in, d_out)).astype(np.float32) * np.float32(np.sqrt(2.0 / d_in))
        params += [w, np.zeros(d_out, dtype=np.float32)]
    return params


def bp_loss(params, x, y):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < len(params) - 2:
            h = h.relu()
    return bp.nn.functional.cross_entropy(h, y)


def bp_step(params, x, y, lr):
    t0 = time.perf_counter()
    loss = bp_loss(params, x, y)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    with bp.no_grad():
        for p in params:
            p.data -= lr * p.grad
            p.grad = None
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t0


def torch_step(torch, params, x, y, lr):
    t0 = time.perf_counter()
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < len(params) - 2:
            h = h.relu()
    loss = torch.nn.functional.cross_entropy(h, y)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    print(f"threads={args.threads} rounds={args.rounds} numpy {np.__version__} torch {torch.__version__}")
    print(f"{'batch':>6} {'backproplab ms':>15} {'torch ms':>9} {'ratio':>6} {'bwd/fwd':>8} {'torch bwd/fwd':>14}")
    rng = np.random.default_rng(0)
    for batch in args.batches:
        x_np = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
        y_np = rng.integers(0, SIZES[-1], size=batch)
        init = make_params(rng)
        bparams = [Tensor(p.copy(), requires_grad=True) for p in init]
        tparams = [torch.tensor(p.copy(), requires_grad=True) for p in init]
        bx, tx, ty = Tensor(x_np), torch.from_numpy(x_np), torch.from_numpy(y_np)
        # same initial loss: the two implementations compute the same function
        with bp.no_grad():
            lb = bp_loss(bparams, bx, y_np).item()
        with torch.no_grad():
            h = tx
            for i in range(0, 6, 2):
                h = h @ tparams[i] + tparams[i + 1]
                h = h.relu() if i < 4 else h
            lt = torch.nn.functional.cross_entropy(h, ty).item()
        assert abs(lb - lt) < 1e-4 * max(1.0, abs(lt)), (lb, lt)
        for _ in range(3):  # warm-up
            bp_step(bparams, bx, y_np, 1e-3)
            torch_step(torch, tparams, tx, ty, 1e-3)
        b_f, b_b, b_t, t_f, t_b, t_t = [], [], [], [], [], []
        for _ in range(args.rounds):
            # Blocks, not single steps: after a step, one library's idle worker threads
            # spin for a while and slow the other's first step on a 2-core machine.
            bp_step(bparams, bx, y_np, 1e-3)
            for _ in range(BLOCK):
                f, b, t = bp_step(bparams, bx, y_np, 1e-3)
                b_f.append(f), b_b.append(b), b_t.append(t)
            torch_step(torch, tparams, tx, ty, 1e-3)
            for _ in range(BLOCK):
                f, b, t = torch_step(torch, tparams, tx, ty, 1e-3)
                t_f.append(f), t_b.append(b), t_t.append(t)
        med = statistics.median
        print(
            f"{batch:>6} {med(b_t) * 1e3:>15.2f} {med(t_t) * 1e3:>9.2f} {med(b_t) / med(t_t):>6.2f} "
            f"{med(b_b) / med(b_f):>8.2f} {med(t_b) / med(t_f):>14.2f}"
        )


if __name__ == "__main__":
    main()

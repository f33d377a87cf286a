"""Gradient checkpointing: memory saved against time spent, on a 32-block MLP.

Each block is Linear(256, 256) + ReLU, batch 256, float64. For each number of
segments the script runs forward + backward plainly and with
``checkpoint_sequential(blocks, segments, x)``, checks that the gradients are
bit-identical, and reports the bytes the graph holds after the forward
(``memory.saved_bytes``), the peak traced memory of forward + backward
(``memory.peak_bytes``, tracemalloc: with ``zero_grad()``, which sets the gradients to
None so that every step allocates them again, and with ``zero_grad(set_to_none=False)``,
which zeroes the arrays the previous step allocated),
and the time of each, as ratios checkpointed / plain (of the medians, and of the
best runs, which a busy machine disturbs least). The textbook figure is one extra forward pass: about
4/3 of the time (backward ~ 2 forwards), for memory ~ 2 sqrt(n) blocks instead of n.

    python benchmarks/bench_checkpoint.py [--threads 1] [--repeats 7] [--segments 2 4 6 8 16]
"""

import argparse
import statistics
import time

import numpy as np

import backproplab as bp
from backproplab import Tensor, memory, nn

BLOCKS, WIDTH, BATCH = 32, 256, 256


def make_model(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(*[nn.Sequential(nn.Linear(WIDTH, WIDTH, rng=rng), nn.ReLU()) for _ in range(BLOCKS)])


def step(model, x, segments, set_to_none=True):
    model.zero_grad(set_to_none=set_to_none)
    out = model(x) if segments is None else bp.checkpoint_sequential(model, segments, x)
    loss = (out * out).mean()
    loss.backward()
    return loss


def grads(model):
    return [p.grad.copy() for p in model.parameters()]


def timed(model, x, segments, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step(model, x, segments)
        times.append(time.perf_counter() - t0)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--segments", type=int, nargs="+", default=[2, 4, 6, 8, 16])
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    model = make_model()
    x = Tensor(np.random.default_rng(1).standard_normal((BATCH, WIDTH)))
    step(model, x, None)  # warm-up
    plain_grads = grads(model)
    plain_saved = memory.saved_bytes((model(x) ** 2).mean())
    _, plain_peak = memory.peak_bytes(step, model, x, None)
    _, plain_act = memory.peak_bytes(step, model, x, None, False)
    print(f"{BLOCKS} blocks of Linear({WIDTH}, {WIDTH}) + ReLU, batch {BATCH}, float64, threads={args.threads}")
    print(f"plain: saved {plain_saved / 2**20:.1f} MiB; peak {plain_peak / 2**20:.1f} MiB with the "
          f"gradients allocated in the step (zero_grad()), {plain_act / 2**20:.1f} MiB with "
          f"zero_grad(set_to_none=False)")
    print(f"{'segments':>8} {'identical':>9} {'saved MiB':>9} {'saved x':>8} {'peak MiB':>9} {'peak x':>7} "
          f"{'peak kept grads':>15} {'x':>5} {'time x':>7} {'best x':>7}")
    for segments in args.segments:
        step(model, x, segments)
        same = all(np.array_equal(a, b) for a, b in zip(plain_grads, grads(model)))
        saved = memory.saved_bytes((bp.checkpoint_sequential(model, segments, x) ** 2).mean())
        _, peak = memory.peak_bytes(step, model, x, segments)
        _, act = memory.peak_bytes(step, model, x, segments, False)
        # plain and checkpointed runs alternate in blocks, so that drifts hit both alike
        t_plain, t_ckpt = [], []
        for _ in range(3):
            t_plain += timed(model, x, None, args.repeats)
            t_ckpt += timed(model, x, segments, args.repeats)
        ratio = statistics.median(t_ckpt) / statistics.median(t_plain)
        best = min(t_ckpt) / min(t_plain)  # the least disturbed runs, on a busy machine
        print(
            f"{segments:>8} {str(same):>9} {saved / 2**20:>9.1f} {plain_saved / saved:>7.1f}x "
            f"{peak / 2**20:>9.1f} {plain_peak / peak:>6.1f}x {act / 2**20:>15.1f} {plain_act / act:>4.1f}x {ratio:>6.2f}x {best:>6.2f}x"
        )
    print(f"plain step: {statistics.median(t_plain) * 1e3:.1f} ms (median), {min(t_plain) * 1e3:.1f} ms (best); "
          "time x: median checkpointed / median plain, best x: best / best")


if __name__ == "__main__":
    main()

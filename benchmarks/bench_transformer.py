"""Forward + backward time of a TransformerEncoderLayer: backproplab vs PyTorch (CPU).

The issue's size: batch 16, 64 tokens, d_model 128, 4 heads, float32, batch_first,
dropout 0 (so both libraries compute the same function), dim_feedforward 512 by
default (4 d_model; PyTorch's default 2048 with --ff 2048). loss = sum of the
outputs times a fixed random array, backward into the input and every weight.
Both libraries run with the same weights, on the same thread count, in the same
process, in alternating blocks of steps (as bench_mlp.py does). The report gives
medians and the ratio backproplab / PyTorch.

    python benchmarks/bench_transformer.py [--threads 2] [--rounds 8] [--ff 512] [--norm-first]
    python benchmarks/bench_transformer.py --profile      # where backproplab's time goes

Needs PyTorch as a reference only: pip install torch==2.13.0
"""

import argparse
import statistics
import time

import numpy as np

from backproplab import Tensor, nn

BLOCK = 5  # timed steps of one library before switching to the other


def step(layer, x, upstream, zero_grad):
    t0 = time.perf_counter()
    loss = (layer(x) * upstream).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    zero_grad()
    x.grad = None
    return t1 - t0, t2 - t1, t2 - t0


def copy_weights(ours, theirs, torch):
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == tname, (name, tname)
            a = p.numpy()
            if name.endswith("weight") and any(k in name for k in ("out_proj", "linear1", "linear2")):
                a = a.T  # Linear stores (in, out), PyTorch (out, in)
            tp.copy_(torch.from_numpy(np.ascontiguousarray(a)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ff", type=int, default=512)
    parser.add_argument("--norm-first", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile 20 backproplab steps and exit")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    kw = dict(dim_feedforward=args.ff, dropout=0.0, batch_first=True, norm_first=args.norm_first)
    ours = nn.TransformerEncoderLayer(args.d_model, args.heads, rng=rng, dtype="float32", **kw)
    theirs = torch.nn.TransformerEncoderLayer(args.d_model, args.heads, **kw)
    copy_weights(ours, theirs, torch)
    x_np = rng.standard_normal((args.batch, args.tokens, args.d_model)).astype(np.float32)
    g_np = rng.standard_normal(x_np.shape).astype(np.float32)
    bx, bg = Tensor(x_np, requires_grad=True), Tensor(g_np)
    tx, tg = torch.from_numpy(x_np).requires_grad_(True), torch.from_numpy(g_np)

    # the same function: outputs and the input gradient agree
    (ours(bx) * bg).sum().backward()
    (theirs(tx) * tg).sum().backward()
    with torch.no_grad():
        assert np.abs(ours(bx).numpy() - theirs(tx).numpy()).max() < 1e-4
    np.testing.assert_allclose(bx.grad, tx.grad.numpy(), rtol=1e-3, atol=1e-3)
    ours.zero_grad(), theirs.zero_grad()

    def b_step():
        return step(ours, bx, bg, ours.zero_grad)

    def t_step():
        return step(theirs, tx, tg, lambda: theirs.zero_grad(set_to_none=True))

    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            for _ in range(20):
                b_step()
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)
        return

    print(
        f"TransformerEncoderLayer(d_model={args.d_model}, nhead={args.heads}, dim_feedforward={args.ff}, "
        f"norm_first={args.norm_first}) batch {args.batch}, {args.tokens} tokens, float32, "
        f"threads={args.threads} rounds={args.rounds} numpy {np.__version__} torch {torch.__version__}"
    )
    for _ in range(3):  # warm-up
        b_step(), t_step()
    b_f, b_b, b_t, t_f, t_b, t_t = [], [], [], [], [], []
    for _ in range(args.rounds):
        # Blocks, not single steps: after a step, one library's idle worker threads
        # spin for a while and slow the other's first step on a 2-core machine.
        b_step()
        for _ in range(BLOCK):
            f, b, t = b_step()
            b_f.append(f), b_b.append(b), b_t.append(t)
        t_step()
        for _ in range(BLOCK):
            f, b, t = t_step()
            t_f.append(f), t_b.append(b), t_t.append(t)
    med = statistics.median
    print(f"{'':>12} {'forward ms':>11} {'backward ms':>12} {'total ms':>9}")
    print(f"{'backproplab':>12} {med(b_f) * 1e3:>11.2f} {med(b_b) * 1e3:>12.2f} {med(b_t) * 1e3:>9.2f}")
    print(f"{'torch':>12} {med(t_f) * 1e3:>11.2f} {med(t_b) * 1e3:>12.2f} {med(t_t) * 1e3:>9.2f}")
    print(f"ratio backproplab / torch: {med(b_t) / med(t_t):.2f}")


if __name__ == "__main__":
    main()

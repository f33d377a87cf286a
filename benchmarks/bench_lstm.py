"""Forward + backward time of an LSTM over a sequence: backproplab vs PyTorch (CPU).

One LSTM layer, input 64, hidden 128, batch 32, 50 steps (the issue's size), float32,
loss = sum of the outputs times a fixed random array, backward into every weight
(backpropagation through time over all 50 steps). Both libraries run with the same
weights, on the same thread count, in the same process, in alternating blocks of
steps (as bench_mlp.py does), so that the machine's drifts hit both alike. The
report gives medians and the ratio backproplab / PyTorch.

    python benchmarks/bench_lstm.py [--threads 2] [--rounds 8] [--steps 50] [--layers 1]
    python benchmarks/bench_lstm.py --profile      # where backproplab's time goes

Needs PyTorch as a reference only: pip install torch==2.13.0
"""

import argparse
import statistics
import time

import numpy as np

from backproplab import Tensor, nn

BLOCK = 5  # timed steps of one library before switching to the other


def bp_step(lstm, x, upstream):
    t0 = time.perf_counter()
    out, _ = lstm(x)
    loss = (out * upstream).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    lstm.zero_grad()
    return t1 - t0, t2 - t1, t2 - t0


def torch_step(lstm, x, upstream):
    t0 = time.perf_counter()
    out, _ = lstm(x)
    loss = (out * upstream).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    lstm.zero_grad(set_to_none=True)
    return t1 - t0, t2 - t1, t2 - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile 20 backproplab steps and exit")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    lstm = nn.LSTM(args.input, args.hidden, num_layers=args.layers, rng=rng, dtype="float32")
    tlstm = torch.nn.LSTM(args.input, args.hidden, num_layers=args.layers)
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(lstm.named_parameters(), tlstm.named_parameters()):
            assert name == tname and p.shape == tuple(tp.shape), (name, tname)
            tp.copy_(torch.from_numpy(p.numpy().copy()))
    x_np = rng.standard_normal((args.steps, args.batch, args.input)).astype(np.float32)
    g_np = rng.standard_normal((args.steps, args.batch, args.hidden)).astype(np.float32)
    bx, bg = Tensor(x_np), Tensor(g_np)
    tx, tg = torch.from_numpy(x_np), torch.from_numpy(g_np)

    # the same function: outputs and one weight gradient agree
    out, _ = lstm(bx)
    (out * bg).sum().backward()
    tout, _ = tlstm(tx)
    (tout * tg).sum().backward()
    assert np.abs(out.numpy() - tout.detach().numpy()).max() < 1e-4
    np.testing.assert_allclose(lstm.weight_hh_l0.grad, tlstm.weight_hh_l0.grad.numpy(), rtol=2e-3, atol=2e-3)
    lstm.zero_grad(), tlstm.zero_grad()

    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            for _ in range(20):
                bp_step(lstm, bx, bg)
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)
        return

    print(
        f"LSTM({args.input}, {args.hidden}, num_layers={args.layers}) batch {args.batch}, {args.steps} steps, "
        f"float32, threads={args.threads} rounds={args.rounds} numpy {np.__version__} torch {torch.__version__}"
    )
    for _ in range(3):  # warm-up
        bp_step(lstm, bx, bg)
        torch_step(tlstm, tx, tg)
    b_f, b_b, b_t, t_f, t_b, t_t = [], [], [], [], [], []
    for _ in range(args.rounds):
        # Blocks, not single steps: after a step, one library's idle worker threads
        # spin for a while and slow the other's first step on a 2-core machine.
        bp_step(lstm, bx, bg)
        for _ in range(BLOCK):
            f, b, t = bp_step(lstm, bx, bg)
            b_f.append(f), b_b.append(b), b_t.append(t)
        torch_step(tlstm, tx, tg)
        for _ in range(BLOCK):
            f, b, t = torch_step(tlstm, tx, tg)
            t_f.append(f), t_b.append(b), t_t.append(t)
    med = statistics.median
    print(f"{'':>12} {'forward ms':>11} {'backward ms':>12} {'total ms':>9}")
    print(f"{'backproplab':>12} {med(b_f) * 1e3:>11.2f} {med(b_b) * 1e3:>12.2f} {med(b_t) * 1e3:>9.2f}")
    print(f"{'torch':>12} {med(t_f) * 1e3:>11.2f} {med(t_b) * 1e3:>12.2f} {med(t_t) * 1e3:>9.2f}")
    print(f"ratio backproplab / torch: {med(b_t) / med(t_t):.2f}")


if __name__ == "__main__":
    main()

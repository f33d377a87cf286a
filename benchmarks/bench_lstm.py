"""Forward + backward time of an LSTM over a sequence: backproplab vs PyTorch (CPU).

One LSTM layer, input 64, hidden 128, batch 32, 50 steps (the issue's size), float32,
loss = sum of the outputs times a fixed random array, backward into every weight
(backpropagation through time over all 50 steps). Both libraries run with the same
weights, on the same thread count, in the same process, in alternating blocks of
steps (as bench_mlp.py does), so that the machine's drifts hit both alike. The
report gives medians and the ratio backproplab / PyTorch, with two references in
NumPy: the same arithmetic in a hand-written loop (what the engine adds), and the
matrix products alone (a floor for any step-by-step BPTT on NumPy's BLAS).

NumPy's bundled OpenBLAS picks its kernels by CPU model; on a CPU it does not know
it falls back to older ones (the report prints which). PyTorch's CPU build brings
MKL and oneDNN with kernels of their own. To compare on equal instruction sets,
name the kernels: ``OPENBLAS_CORETYPE=SkylakeX python benchmarks/bench_lstm.py``.

    python benchmarks/bench_lstm.py [--threads 2] [--rounds 8] [--steps 50] [--layers 1]
    python benchmarks/bench_lstm.py --profile      # where backproplab's time goes

Needs PyTorch as a reference only: pip install torch==2.13.0
"""

import argparse
import statistics
import time

import numpy as np

from backproplab import Tensor, nn
from backproplab.ops.lstm import LSTMPointwise

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


def matmul_floor(x, w_ih, w_hh):
    """Only the matrix products that any unrolled LSTM computes, in NumPy, with no
    elementwise work and no engine: the input projection of all steps at once, one
    recurrent product per step, and in the backward dh and dW_hh per step and dW_ih
    once. A floor for backpropagation through time done step by step with NumPy's
    BLAS (PyTorch's CPU LSTM is one oneDNN kernel for the whole sequence)."""
    steps, n, _ = x.shape
    hidden = w_hh.shape[1]
    t0 = time.perf_counter()
    x_flat = x.reshape(steps * n, -1)
    p = x_flat @ w_ih.T
    h, hs = np.zeros((n, hidden), dtype=x.dtype), []
    for _ in range(steps):
        h = (h @ w_hh.T)[:, :hidden]  # stands in for h' (no arithmetic)
        hs.append(h)
    t1 = time.perf_counter()
    d_w_hh = np.zeros((hidden, w_hh.shape[0]), dtype=x.dtype)
    dq = p[:n].copy()  # stands in for a step's gate gradient
    for t in range(steps - 1, -1, -1):
        _ = dq @ w_hh
        d_w_hh += hs[t].T @ dq
    _ = x_flat.T @ p
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, t2 - t0


class _Input:
    requires_grad = True


_NEEDS_GRAD = (_Input(), _Input(), _Input())  # what ops.LSTMPointwise reads of its inputs


def numpy_loop(x, w_ih, w_hh, bias, upstream):
    """The same arithmetic as backproplab's LSTM (the same matmuls, ``ops.LSTMPointwise``'s
    own forward and backward) in a hand-written loop over the steps, with no Tensors and
    no graph: what the engine adds is the difference to backproplab's time. (A
    benchmark's reference only: in the library the backward is the engine's walk.)"""
    steps, n, _ = x.shape
    hidden = w_hh.shape[1]
    t0 = time.perf_counter()
    x_flat = x.reshape(steps * n, -1)
    p = x_flat @ w_ih.T + bias
    hc = np.zeros((n, 2 * hidden), dtype=x.dtype)
    cells, hs = [], []  # hs[t]: the state h_{t-1} that step t multiplies by W_hh^T
    for t in range(steps):
        h = hc[:, :hidden]
        cell = LSTMPointwise(*_NEEDS_GRAD)
        hc = cell.forward(p[t * n : (t + 1) * n], h @ w_hh.T, hc)
        cells.append(cell), hs.append(h)
    outputs = hs[1:] + [hc[:, :hidden]]
    loss = float((np.stack(outputs) * upstream).sum())
    t1 = time.perf_counter()
    d_p = np.empty_like(p)
    d_w_hh = np.zeros((hidden, 4 * hidden), dtype=x.dtype)
    d_hc = np.zeros((n, 2 * hidden), dtype=x.dtype)
    for t in range(steps - 1, -1, -1):
        d_hc[:, :hidden] += upstream[t]
        d_gates, _, d_state = cells[t].backward(d_hc)
        d_p[t * n : (t + 1) * n] = d_gates
        d_w_hh += hs[t].T @ d_gates
        d_hc = d_state
        d_hc[:, :hidden] += d_gates @ w_hh
    d_w_ih = d_p.T @ x_flat
    d_bias = d_p.sum(axis=0)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, t2 - t0, (loss, d_w_ih, d_w_hh, d_bias)


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
    from threadpoolctl import threadpool_info, threadpool_limits

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

    w_ih, w_hh = lstm.weight_ih_l0.numpy(), lstm.weight_hh_l0.numpy()
    bias = lstm.bias_ih_l0.numpy() + lstm.bias_hh_l0.numpy()
    if args.layers == 1:  # the hand-written loop computes the same gradients as both libraries
        out, _ = lstm(bx)
        (out * bg).sum().backward()
        d_w_ih, d_w_hh, d_bias = numpy_loop(x_np, w_ih, w_hh, bias, g_np)[3][1:]
        np.testing.assert_allclose(d_w_hh.T, lstm.weight_hh_l0.grad, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(d_w_ih, lstm.weight_ih_l0.grad, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(d_bias, lstm.bias_ih_l0.grad, rtol=1e-4, atol=1e-4)
        lstm.zero_grad()

    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')} kernels)"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    print(
        f"LSTM({args.input}, {args.hidden}, num_layers={args.layers}) batch {args.batch}, {args.steps} steps, "
        f"float32, threads={args.threads} rounds={args.rounds} numpy {np.__version__} torch {torch.__version__}, "
        f"NumPy's BLAS: {', '.join(blas)}"
    )
    runs = {
        "backproplab": lambda: bp_step(lstm, bx, bg),
        "torch": lambda: torch_step(tlstm, tx, tg),
        "numpy loop": lambda: numpy_loop(x_np, w_ih, w_hh, bias, g_np)[:3],
        "matmuls only": lambda: matmul_floor(x_np, w_ih, w_hh),
    }
    if args.layers != 1:  # the references are one layer's
        runs = {k: runs[k] for k in ("backproplab", "torch")}
    for _ in range(3):  # warm-up
        for run in runs.values():
            run()
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        # Blocks, not single steps: after a step, one library's idle worker threads
        # spin for a while and slow the other's first step on a 2-core machine.
        for name, run in runs.items():
            run()
            times[name] += [run() for _ in range(BLOCK)]
    med = statistics.median
    torch_total = med([t[2] for t in times["torch"]])
    print(f"{'':>12} {'forward ms':>11} {'backward ms':>12} {'total ms':>9} {'/ torch':>8}")
    for name, ts in times.items():
        f, b, t = (med([x[k] for x in ts]) for k in range(3))
        print(f"{name:>12} {f * 1e3:>11.2f} {b * 1e3:>12.2f} {t * 1e3:>9.2f} {t / torch_total:>8.2f}")
    print("numpy loop: the same arithmetic as backproplab without the engine (a hand-written BPTT);")
    print("matmuls only: the products alone, no elementwise work: a floor for BPTT step by step in NumPy.")


if __name__ == "__main__":
    main()

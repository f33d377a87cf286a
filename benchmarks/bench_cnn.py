"""Forward + backward time of a lesson-sized CNN: backproplab vs PyTorch (CPU), and the
memory backproplab holds for the backward pass.

    Conv2d(1, 16, 3, padding=1) - ReLU - MaxPool2d(2) - Conv2d(16, 32, 3, padding=1) - ReLU -
    MaxPool2d(2) - Flatten - Linear(1568, 10), cross-entropy; batch 64 of 1x28x28, float32

Both libraries run on the same thread count in the same process, in alternating
blocks of steps (as ``bench_mlp.py``), from the same weights (the first losses
must agree). The report gives medians of forward+backward, the ratio
backproplab / PyTorch, and, from tracemalloc (which sees NumPy's allocations),
the bytes backproplab's graph holds after the forward pass and the peak over
forward + backward, against the size of the activations themselves (the outputs
of the eight layers).

    python benchmarks/bench_cnn.py [--threads 2] [--rounds 8]

Needs PyTorch as a reference only: pip install torch==2.13.0
"""

import argparse
import statistics
import time
import tracemalloc

import numpy as np

import backproplab as bp
from backproplab import Tensor, nn

BATCH = 64
BLOCK = 5  # timed steps of one library before switching to the other


def make_model(rng):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype="float32"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype="float32"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10, rng=rng, dtype="float32"),
    )


def make_torch_model(torch, model):
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(1568, 10),
    )
    with torch.no_grad():
        for i in (0, 3):
            tm[i].weight.copy_(torch.from_numpy(model[i].weight.numpy()))
            tm[i].bias.copy_(torch.from_numpy(model[i].bias.numpy()))
        tm[7].weight.copy_(torch.from_numpy(model[7].weight.numpy().T))  # PyTorch stores (out, in)
        tm[7].bias.copy_(torch.from_numpy(model[7].bias.numpy()))
    return tm


def bp_step(model, x, y):
    t0 = time.perf_counter()
    loss = nn.functional.cross_entropy(model(x), y)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    model.zero_grad()
    return t1 - t0, t2 - t1, t2 - t0


def torch_step(torch, model, x, y):
    t0 = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    model.zero_grad(set_to_none=True)
    return t1 - t0, t2 - t1, t2 - t0


def memory_report(model, x, y):
    """Bytes held by the graph after the forward pass, peak over forward + backward, and
    the activations' own size (every layer's output, summed)."""
    activations = []
    handles = [m.register_forward_hook(lambda mod, inp, out: activations.append(out.data.nbytes))
               for m in model.layers]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loss = nn.functional.cross_entropy(model(x), y)
    held = tracemalloc.get_traced_memory()[0] - before
    loss.backward()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    for h in handles:
        h.remove()
    model.zero_grad()
    return held, peak, sum(activations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    print(f"threads={args.threads} rounds={args.rounds} batch={BATCH} numpy {np.__version__} torch {torch.__version__}")
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y_np = rng.integers(0, 10, size=BATCH)
    model = make_model(rng)
    tmodel = make_torch_model(torch, model)
    bx, tx, ty = Tensor(x_np), torch.from_numpy(x_np), torch.from_numpy(y_np)
    with bp.no_grad():
        lb = nn.functional.cross_entropy(model(bx), y_np).item()
    with torch.no_grad():
        lt = torch.nn.functional.cross_entropy(tmodel(tx), ty).item()
    assert abs(lb - lt) < 1e-4 * max(1.0, abs(lt)), (lb, lt)

    for _ in range(3):  # warm-up
        bp_step(model, bx, y_np)
        torch_step(torch, tmodel, tx, ty)
    b_f, b_b, b_t, t_f, t_b, t_t = [], [], [], [], [], []
    for _ in range(args.rounds):
        bp_step(model, bx, y_np)  # untimed: lets the other library's idle threads settle
        for _ in range(BLOCK):
            f, b, t = bp_step(model, bx, y_np)
            b_f.append(f), b_b.append(b), b_t.append(t)
        torch_step(torch, tmodel, tx, ty)
        for _ in range(BLOCK):
            f, b, t = torch_step(torch, tmodel, tx, ty)
            t_f.append(f), t_b.append(b), t_t.append(t)
    med = statistics.median
    print(f"{'':>12} {'forward ms':>11} {'backward ms':>12} {'total ms':>9}")
    print(f"{'backproplab':>12} {med(b_f) * 1e3:>11.2f} {med(b_b) * 1e3:>12.2f} {med(b_t) * 1e3:>9.2f}")
    print(f"{'torch':>12} {med(t_f) * 1e3:>11.2f} {med(t_b) * 1e3:>12.2f} {med(t_t) * 1e3:>9.2f}")
    print(f"ratio backproplab / torch (forward + backward): {med(b_t) / med(t_t):.2f}")

    held, peak, acts = memory_report(model, bx, y_np)
    mib = 2.0**20
    print(f"activations (outputs of the 8 layers): {acts / mib:.2f} MiB")
    print(f"held by the graph after forward: {held / mib:.2f} MiB ({held / acts:.2f}x the activations)")
    print(f"peak over forward + backward:    {peak / mib:.2f} MiB ({peak / acts:.2f}x the activations)")


if __name__ == "__main__":
    main()

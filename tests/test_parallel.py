"""Simulated data parallelism: the ring all-reduce sums exactly what it should and
sends 2(K-1)/K of the gradient per worker; K workers give the large-batch gradient."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, backend, nn
from backproplab.parallel import DataParallel, ring_all_reduce


@pytest.mark.parametrize("k", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("n", [24, 29])
def test_ring_all_reduce_sums_and_counts_bytes(k, n, xp):
    rng = np.random.default_rng(k * 100 + n)
    arrays = [rng.standard_normal(n) for _ in range(k)]
    vectors = [xp.asarray(a) for a in arrays]
    results, stats = ring_all_reduce(vectors)
    for r in results:
        np.testing.assert_allclose(backend.to_numpy(r), np.sum(arrays, axis=0), rtol=1e-13, atol=1e-14)
    for v, a in zip(vectors, arrays):  # inputs untouched
        np.testing.assert_array_equal(backend.to_numpy(v), a)
    assert stats.steps == 2 * (k - 1)
    largest_chunk = -(-n // k)
    for sent in stats.bytes_sent:  # 2(K-1) chunks of about n/K entries each
        assert 2 * (k - 1) * (n // k) * 8 <= sent <= 2 * (k - 1) * largest_chunk * 8
    if n % k == 0:
        assert stats.bytes_sent == [2 * (k - 1) * n * 8 // k] * k  # exactly 2(K-1)/K of the vector


def test_ring_all_reduce_input_errors():
    with pytest.raises(ValueError, match="worker 1 holds shape \\(3,\\)"):
        ring_all_reduce([np.zeros(4), np.zeros(3)])
    with pytest.raises(ValueError, match="at least one worker"):
        ring_all_reduce([])


def _setup(xp=None, seed=0, n=32):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(6, 8, rng=rng), nn.Tanh(), nn.Linear(8, 3, rng=rng))
    x = rng.standard_normal((n, 6))
    y = rng.integers(0, 3, size=n)
    if xp is not None and xp.name != "numpy":
        model.to(xp.device)
        return model, Tensor(xp.asarray(x)), xp.asarray(y)
    return model, Tensor(x), y


def _large_batch(model, x, y):
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return loss.item(), [backend.to_numpy(p.grad).copy() for p in model.parameters()]


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_k_workers_equal_one_large_batch(k, xp):
    model, x, y = _setup(xp)
    loss0, expected = _large_batch(model, x, y)
    model.zero_grad()
    loss, stats = DataParallel(model, k).backward(nn.functional.cross_entropy, x, y)
    assert loss == pytest.approx(loss0, rel=1e-12)
    for p, g in zip(model.parameters(), expected):
        np.testing.assert_allclose(backend.to_numpy(p.grad), g, rtol=1e-11, atol=1e-14)
    size = sum(p.size for p in model.parameters()) * 8
    assert sum(stats.bytes_sent) / k == pytest.approx(2 * (k - 1) / k * size, rel=0.02)


def test_unequal_shards_are_weighted_by_their_size():
    model, x, y = _setup(n=32)
    _, expected = _large_batch(model, x, y)
    model.zero_grad()
    DataParallel(model, 3).backward(nn.functional.cross_entropy, x, y, shard_sizes=[5, 3, 24])
    for p, g in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.grad, g, rtol=1e-11, atol=1e-14)
    # the weighting matters: a plain average of the three shard means is another vector
    means = []
    for lo, hi in [(0, 5), (5, 8), (8, 32)]:
        means.append(_large_batch(model, x[lo:hi], y[lo:hi])[1])
    naive = [sum(m[i] for m in means) / 3 for i in range(len(expected))]
    assert not np.allclose(naive[0], expected[0], rtol=1e-3)


def test_a_training_step_matches_and_replicas_follow_the_model():
    model, x, y = _setup(seed=3)
    twin, _, _ = _setup(seed=3)
    opt, twin_opt = bp.optim.SGD(model.parameters(), lr=0.5), bp.optim.SGD(twin.parameters(), lr=0.5)
    dp = DataParallel(model, 4)
    for _ in range(3):
        opt.zero_grad()
        dp.backward(nn.functional.cross_entropy, x, y)
        opt.step()
        twin_opt.zero_grad()
        nn.functional.cross_entropy(twin(x), y).backward()
        twin_opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-11, atol=1e-13)


def test_data_parallel_argument_errors():
    model, x, y = _setup()
    with pytest.raises(ValueError, match="world_size must be a positive integer, got 0"):
        DataParallel(model, 0)
    with pytest.raises(ValueError, match=r"shard_sizes \[5, 5\] must be 3 positive integers summing to the batch size 32"):
        DataParallel(model, 3).backward(nn.functional.cross_entropy, x, y, shard_sizes=[5, 5])
    with pytest.raises(ValueError, match="a batch of 32 cannot be split over 40 workers"):
        DataParallel(model, 40).backward(nn.functional.cross_entropy, x, y)

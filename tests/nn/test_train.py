"""fit, evaluation, early stopping, checkpoints and the nan stop."""

import os

import numpy as np
import pytest

from backproplab import Tensor, nn, optim
from backproplab.data import DataLoader, load_digits
from backproplab.train import (CheckpointError, NonFiniteLossError, accuracy, binary_accuracy, evaluate, fit,
                               load_checkpoint, save_checkpoint)


def mlp(seed=0, d_in=64, hidden=32, d_out=10):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(d_in, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, d_out, rng=rng))


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def test_quick_digits_mlp_beats_90_percent(digits):
    """A short version of benchmarks/bench_digits.py: 5 epochs of SGD with momentum."""
    model = mlp()
    loader = DataLoader((digits.X_train, digits.y_train), 32, shuffle=True, rng=1)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loader,
                  epochs=5, val_data=(digits.X_test, digits.y_test), progress=False)
    assert history.epochs == 5 and len(history.val_accuracy) == 5
    assert history.train_loss[-1] < history.train_loss[0] / 3
    assert history.val_accuracy[-1] > 0.90
    loss, metrics = evaluate(model, nn.CrossEntropyLoss(), (digits.X_test, digits.y_test))
    assert loss == pytest.approx(history.val_loss[-1]) and metrics["accuracy"] == history.val_accuracy[-1]
    assert model.training  # evaluate restores the mode


def test_early_stopping_and_restore_best(digits):
    model = mlp(1)
    X, y = digits.X_train[:200], digits.y_train[:200]
    # a learning rate this large makes the validation loss go up and down: patience ends the run
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    history = fit(model, nn.CrossEntropyLoss(), opt, DataLoader((X, y), 50, shuffle=True, rng=0), epochs=60,
                  val_data=(digits.X_test, digits.y_test), patience=3, restore_best=True, progress=False)
    assert history.stopped_early and history.epochs < 60
    assert "no improvement for 3 epochs" in history.stop_reason
    best = history.best_epoch
    assert history.epochs - best == 3
    loss, _ = evaluate(model, nn.CrossEntropyLoss(), (digits.X_test, digits.y_test))
    assert loss == pytest.approx(history.val_loss[best - 1])  # the best weights are back


def test_nan_loss_stops_training_and_names_the_step():
    model = mlp(d_in=4, d_out=3)
    X = np.random.default_rng(0).standard_normal((40, 4))
    X[25, 2] = np.nan  # batch 3 of 4, in the first epoch
    y = np.arange(40) % 3
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(NonFiniteLossError) as err:
        fit(model, nn.CrossEntropyLoss(), opt, DataLoader((X, y), 10), epochs=3, progress=False)
    msg = str(err.value)
    assert "became nan at epoch 1, batch 3 (step 3)" in msg
    assert "lower the learning rate (now 0.1)" in msg and "clip the gradients" in msg and "inputs" in msg
    with pytest.warns(RuntimeWarning, match="epoch 1, batch 3"):
        history = fit(model, nn.CrossEntropyLoss(), opt, DataLoader((X, y), 10), epochs=3, progress=False,
                      on_nonfinite="stop")
    assert history.epochs == 0 and "epoch 1, batch 3" in history.stop_reason


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_diverging_learning_rate_is_caught():
    X = np.random.default_rng(0).standard_normal((64, 4)) * 10
    y = X @ np.ones((4, 1)) * 100
    model = nn.Linear(4, 1, rng=np.random.default_rng(0))
    with pytest.raises(NonFiniteLossError, match=r"became (nan|inf) at epoch \d+, batch \d+"):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1.0), DataLoader((X, y), 16), epochs=50,
            metrics=None, progress=False)


def test_metrics():
    assert accuracy(np.array([[0.1, 0.9], [2.0, 1.0], [0.0, 1.0]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.1, 0.9]]), np.array([[0.0, 1.0]])) == 1.0
    with pytest.raises(ValueError, match="binary_accuracy"):
        accuracy(np.zeros((3, 1)), np.zeros(3))
    assert binary_accuracy(np.array([[0.7], [0.2]]), np.array([[1.0], [1.0]])) == 0.5
    assert binary_accuracy(np.array([-1.0, 2.0]), np.array([0.0, 1.0]), threshold=0.0) == 1.0


# ---- checkpoints ----

def _train_a_bit(model, opt, steps=3):
    X = np.random.default_rng(5).standard_normal((16, 64))
    y = np.arange(16) % 10
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(Tensor(X)), y).backward()
        opt.step()


def test_checkpoint_roundtrip_with_optimizer_state(tmp_path):
    path = tmp_path / "ckpt.npz"
    a = mlp(0)
    opt_a = optim.Adam(a.parameters(), lr=0.01)
    _train_a_bit(a, opt_a)
    save_checkpoint(path, a, opt_a, epoch=3, note="after three steps")
    b = mlp(1)
    opt_b = optim.Adam(b.parameters(), lr=0.5)
    info = load_checkpoint(path, b, opt_b)
    assert info == {"epoch": 3, "note": "after three steps"}
    assert opt_b.lr == 0.01 and opt_b.betas == (0.9, 0.999)
    # continuing both gives identical weights
    _train_a_bit(a, opt_a, 2)
    _train_a_bit(b, opt_b, 2)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    assert [f for f in os.listdir(tmp_path)] == ["ckpt.npz"]  # no temporary file left behind


def test_truncated_or_corrupted_checkpoint_is_refused_and_model_unchanged(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, mlp(0))
    raw = path.read_bytes()
    model = mlp(1)
    before = model.state_dict()
    cases = {"truncated": raw[: len(raw) // 2], "empty": b"", "garbage": b"not a checkpoint at all"}
    flipped = bytearray(raw)
    flipped[len(raw) // 3] ^= 0xFF  # one byte inside the weights
    cases["corrupted"] = bytes(flipped)
    for name, data in cases.items():
        bad = tmp_path / f"{name}.npz"
        bad.write_bytes(data)
        with pytest.raises(CheckpointError, match="truncated or corrupted.*model was not changed"):
            load_checkpoint(bad, model)
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v, before[k], err_msg=f"{name}: {k}")


def test_checkpoint_of_another_model_lists_the_mismatch(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, mlp(0, hidden=16))
    model = mlp(1)
    before = model.state_dict()
    with pytest.raises(CheckpointError, match=r"0.weight: expected shape \(64, 32\), got \(64, 16\)"):
        load_checkpoint(path, model)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_a_crash_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, mlp(0))
    old = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, mlp(1))
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_fit_checkpoints_the_best_epoch(tmp_path, digits):
    path = tmp_path / "best.npz"
    model = mlp(0)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  DataLoader((digits.X_train, digits.y_train), 64), epochs=3,
                  val_data=(digits.X_test, digits.y_test), checkpoint=path, progress=False)
    fresh = mlp(3)
    info = load_checkpoint(path, fresh)
    assert info["epoch"] == history.best_epoch
    loss, _ = evaluate(fresh, nn.CrossEntropyLoss(), (digits.X_test, digits.y_test))
    assert loss == pytest.approx(info["loss"])

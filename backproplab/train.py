"""Training loops and checkpoints.

    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  DataLoader((X_train, y_train), 64, shuffle=True, rng=0), epochs=20,
                  val_data=(X_test, y_test), patience=5, checkpoint="best.npz")
    history.val_accuracy[-1]

``fit`` is the loop of the lessons (zero_grad, forward, loss, backward, step)
with the bookkeeping around it: loss and accuracy per epoch for training and
validation data, a progress bar, early stopping, checkpoints, and a clear stop
when the loss stops being a number.

Checkpoints are NumPy ``.npz`` files written atomically: the data go to a
temporary file in the same directory, which then replaces the target in one
``os.replace``, so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from . import backend
from .autodiff import no_grad
from .data.loader import DataLoader
from .optim.clip import clip_grad_norm_
from .tensor import Tensor

__all__ = [
    "fit", "evaluate", "accuracy", "binary_accuracy", "History", "NonFiniteLossError",
    "save_checkpoint", "load_checkpoint", "CheckpointError",
]


# ---- metrics ----

def _numpy(x):
    return backend.to_numpy(x.data if isinstance(x, Tensor) else x)


def accuracy(outputs, targets) -> float:
    """Share of rows whose largest output is the right class.

    outputs: (N, C) scores or logits, C >= 2; targets: labels (N,) or
    probabilities/one-hot (N, C) (the target class is then its argmax).
    """
    out, t = _numpy(outputs), _numpy(targets)
    if out.ndim != 2 or out.shape[1] < 2:
        raise ValueError(
            f"accuracy: expects class scores of shape (N, C) with C >= 2, got {out.shape}; "
            "for one output per example use binary_accuracy"
        )
    labels = t.argmax(axis=1) if t.ndim == 2 else t
    return float(np.mean(out.argmax(axis=1) == labels))


def binary_accuracy(outputs, targets, threshold=0.5) -> float:
    """Share of entries on the right side of ``threshold``: outputs > threshold
    against targets > 0.5 (use threshold=0 for logits, 0.5 for sigmoid outputs)."""
    out, t = _numpy(outputs), _numpy(targets)
    if out.shape != t.shape:
        raise ValueError(f"binary_accuracy: outputs {out.shape} and targets {t.shape} differ in shape")
    return float(np.mean((out > threshold) == (t > 0.5)))


# ---- the loop ----

class NonFiniteLossError(FloatingPointError):
    """The loss became nan or inf; ``.history`` holds what was recorded until then."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """Per-epoch records of ``fit``. ``train_metrics``/``val_metrics`` map a metric
    name to its list; ``train_accuracy``/``val_accuracy`` are the 'accuracy' lists."""

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_metrics: dict = field(default_factory=dict)
    val_metrics: dict = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_early: bool = False
    stop_reason: str | None = None
    seconds: float = 0.0

    @property
    def train_accuracy(self):
        return self.train_metrics.get("accuracy", [])

    @property
    def val_accuracy(self):
        return self.val_metrics.get("accuracy", [])

    @property
    def epochs(self):
        return len(self.train_loss)


def _as_metrics(metrics):
    if metrics is None:
        return {}
    if callable(metrics):
        return {getattr(metrics, "__name__", "metric"): metrics}
    return dict(metrics)


def _batches(data, batch_size=512):
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return DataLoader(tuple(data), batch_size=batch_size)
    raise TypeError(f"expected a DataLoader or a pair (X, y) of arrays, got {type(data).__name__}")


def evaluate(model, loss_fn, data, metrics=accuracy, batch_size=512):
    """(mean loss, {metric: value}) of ``model`` on ``data`` (a DataLoader or (X, y)),
    in eval mode and without recording a graph; the model's mode is restored."""
    metrics = _as_metrics(metrics)
    was_training = model.training
    model.eval()
    total, count, outs, targets = 0.0, 0, [], []
    try:
        with no_grad():
            for xb, yb in _batches(data, batch_size):
                out = model(xb)
                n = xb.shape[0]
                total += float(loss_fn(out, yb).item()) * n
                count += n
                if metrics:
                    outs.append(out.numpy())
                    targets.append(yb.numpy())
    finally:
        model.train(was_training)
    values = {}
    if metrics:
        o, t = np.concatenate(outs), np.concatenate(targets)
        values = {name: float(fn(o, t)) for name, fn in metrics.items()}
    return total / count, values


def _diverged(epoch, batch, step, loss, optimizer):
    return (
        f"the training loss became {loss} at epoch {epoch}, batch {batch} (step {step}); "
        f"training stopped. Things to check: lower the learning rate (now {optimizer.lr:g}), "
        "clip the gradients (optim.clip_grad_norm_), and look for nan/inf or unscaled "
        "values in the inputs (diagnostics.find_nonfinite names the first layer to go wrong)."
    )


def fit(model, loss_fn, optimizer, train_loader, epochs, val_data=None, metrics=accuracy,
        patience=None, min_delta=0.0, restore_best=False, checkpoint=None, scheduler=None,
        clip_norm=None, progress=True, on_nonfinite="raise"):
    """Train ``model`` for up to ``epochs`` passes over ``train_loader``; returns a History.

    loss_fn: ``loss_fn(outputs, targets)`` -> scalar Tensor (mean over the batch).
    val_data: a DataLoader or a pair (X, y), evaluated after every epoch.
    metrics: a function ``(outputs, targets) -> float`` (default ``accuracy``), a
        dict of them, or None. Training values are averaged over the epoch's
        batches, as the weights change during it.
    patience: stop when the monitored loss (validation if given, else training)
        has not improved by more than ``min_delta`` for this many epochs.
    restore_best: at the end, load the weights of the best epoch.
    checkpoint: a path; the model (and optimizer) are saved there whenever the
        monitored loss improves (``load_checkpoint`` restores them).
    scheduler: stepped once per epoch. clip_norm: clip the global gradient norm.
    progress: show a tqdm bar (notebook-aware); False for none.
    on_nonfinite: if the loss becomes nan/inf, 'raise' NonFiniteLossError (the
        default) or 'stop' (warn with the same message, return the history).
    """
    if on_nonfinite not in ("raise", "stop"):
        raise ValueError(f"fit: on_nonfinite must be 'raise' or 'stop', got {on_nonfinite!r}")
    metrics = _as_metrics(metrics)
    history = History(train_metrics={k: [] for k in metrics},
                      val_metrics={k: [] for k in metrics} if val_data is not None else {})
    bar = tqdm(range(1, epochs + 1), desc="epochs", disable=not progress, leave=True)
    best, best_state, waited, step = math.inf, None, 0, 0
    start = time.perf_counter()
    try:
        for epoch in bar:
            model.train()
            total, count = 0.0, 0
            sums = {k: 0.0 for k in metrics}
            for batch, (xb, yb) in enumerate(train_loader, start=1):
                step += 1
                optimizer.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                value = float(loss.item())
                if not math.isfinite(value):
                    message = _diverged(epoch, batch, step, value, optimizer)
                    history.stop_reason = message
                    if on_nonfinite == "raise":
                        raise NonFiniteLossError(message, history)
                    warnings.warn(message, RuntimeWarning, stacklevel=2)
                    return history
                loss.backward()
                if clip_norm is not None:
                    clip_grad_norm_(optimizer.params, clip_norm)
                optimizer.step()
                n = xb.shape[0]
                total += value * n
                count += n
                for k, fn in metrics.items():
                    sums[k] += fn(out.numpy(), yb.numpy()) * n
            history.train_loss.append(total / count)
            for k in metrics:
                history.train_metrics[k].append(sums[k] / count)
            monitored = history.train_loss[-1]
            if val_data is not None:
                val_loss, val_metrics = evaluate(model, loss_fn, val_data, metrics)
                history.val_loss.append(val_loss)
                for k, v in val_metrics.items():
                    history.val_metrics[k].append(v)
                monitored = val_loss
            if scheduler is not None:
                scheduler.step()
            bar.set_postfix(_postfix(history))
            if monitored < best - min_delta:
                best, waited, history.best_epoch = monitored, 0, epoch
                if restore_best:
                    best_state = model.state_dict()
                if checkpoint is not None:
                    save_checkpoint(checkpoint, model, optimizer, epoch=epoch, loss=monitored)
            else:
                waited += 1
                if patience is not None and waited >= patience:
                    history.stopped_early = True
                    history.stop_reason = (
                        f"early stopping after epoch {epoch}: no improvement for {patience} epochs "
                        f"(best epoch {history.best_epoch})"
                    )
                    break
    finally:
        bar.close()
        history.seconds = time.perf_counter() - start
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history


def _postfix(history):
    out = {"loss": f"{history.train_loss[-1]:.4f}"}
    if history.val_loss:
        out["val_loss"] = f"{history.val_loss[-1]:.4f}"
    if history.val_accuracy:
        out["val_acc"] = f"{history.val_accuracy[-1]:.3f}"
    elif history.train_accuracy:
        out["acc"] = f"{history.train_accuracy[-1]:.3f}"
    return out


# ---- checkpoints ----

class CheckpointError(ValueError):
    """A checkpoint file that cannot be read or does not fit the model."""


def _flatten_optimizer(optimizer):
    state = optimizer.state_dict()
    arrays = {}
    for i, s in enumerate(state.pop("state")):
        for k, v in s.items():
            arrays[f"optimizer/{i}/{k}"] = np.asarray(v)
    meta = {"class": type(optimizer).__name__, "n_params": len(optimizer.params), "scalars": state}
    return arrays, meta


def save_checkpoint(path, model, optimizer=None, **info):
    """Write the model's state (and the optimizer's) to ``path`` (.npz), atomically.

    ``info``: JSON-serialisable extras (epoch, loss, ...) returned by load_checkpoint.
    """
    path = os.fspath(path)
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    meta = {"format": "backproplab-checkpoint-1", "info": info}
    if optimizer is not None:
        opt_arrays, meta["optimizer"] = _flatten_optimizer(optimizer)
        arrays.update(opt_arrays)
    arrays["__meta__"] = np.array(json.dumps(meta))
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path, model, optimizer=None):
    """Restore what ``save_checkpoint`` wrote into ``model`` (and ``optimizer``);
    returns the saved ``info`` dict.

    The whole file is read and checked before anything is changed: a truncated
    or corrupted file, or one that does not fit the model, raises CheckpointError
    and leaves the model and optimizer as they were.
    """
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}  # reads every member: CRC errors surface here
        meta = json.loads(str(arrays.pop("__meta__")))
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated or corrupted ({type(err).__name__}: "
            f"{err}); the model was not changed"
        ) from None
    if meta.get("format") != "backproplab-checkpoint-1":
        raise CheckpointError(f"{path} is not a backproplab checkpoint; the model was not changed")
    model_state = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    opt_state = None
    if optimizer is not None:
        saved = meta.get("optimizer")
        if saved is None:
            raise CheckpointError(f"{path} holds no optimizer state; the model was not changed")
        if saved["class"] != type(optimizer).__name__ or saved["n_params"] != len(optimizer.params):
            raise CheckpointError(
                f"{path} holds the state of a {saved['class']} over {saved['n_params']} tensors, not of "
                f"this {type(optimizer).__name__} over {len(optimizer.params)}; the model was not changed"
            )
        per_param = [dict() for _ in optimizer.params]
        for k, v in arrays.items():
            if k.startswith("optimizer/"):
                _, i, name = k.split("/", 2)
                per_param[int(i)][name] = v if v.ndim else v.item()
        for i, (p, s) in enumerate(zip(optimizer.params, per_param)):
            for name, v in s.items():
                if hasattr(v, "shape") and tuple(v.shape) != p.shape:
                    raise CheckpointError(
                        f"{path}: optimizer state {name} of tensor {i} has shape {tuple(v.shape)}, the "
                        f"parameter has {p.shape}; the model was not changed"
                    )
        scalars = dict(saved["scalars"])
        if "betas" in scalars:
            scalars["betas"] = tuple(scalars["betas"])
        opt_state = dict(scalars, state=per_param)
    try:
        model.load_state_dict(model_state)
    except ValueError as err:
        raise CheckpointError(f"{path} does not fit the model: {err}") from None
    if optimizer is not None:
        optimizer.load_state_dict(opt_state)
    return meta.get("info", {})

"""A small training loop that knows nothing about VAEs: it minimizes the mean of loss_fn(model, x)["loss"].

Chapter 05 trains VAEs with it; `loss_fn(model, x)` returns a dict of per-example tensors (N,)
that holds "loss" (e.g. course_utils.objectives.negative_elbo). Data stay in memory, on the
device, and are shuffled with a seeded torch.Generator (no DataLoader: MNIST fits in memory).
"""
from __future__ import annotations

import math
import time
from typing import Callable

import torch
from tqdm.auto import tqdm

from . import config

LossFn = Callable[[torch.nn.Module, torch.Tensor], dict]


def _inputs(data, name: str = "data") -> torch.Tensor:
    """x from a tensor x (N, ...) or a tuple (x, y) (labels are ignored)."""
    x = data[0] if isinstance(data, (tuple, list)) else data
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor x (N, ...) or a tuple (x, y), got {type(x).__name__}")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name}: expected x of shape (N, ...) with N >= 1, got {tuple(x.shape)}")
    if not x.is_floating_point() and x.dtype != torch.long:
        raise TypeError(f"{name}: expected floating-point images, or a long tensor of code indices (chapter 07), "
                        f"got dtype {x.dtype} (images: use x.float() / 255)")
    return x


def _cast(x: torch.Tensor, device, dtype) -> torch.Tensor:
    """To the device; floating data also to the model's dtype (code indices stay long)."""
    return x.to(device, dtype) if x.is_floating_point() else x.to(device)


def _finite_data(x: torch.Tensor, name: str) -> torch.Tensor:
    """The one value check of the data, at the boundary: NaN or inf in x is named here, not deep in a loss."""
    if not x.is_floating_point():
        return x  # code indices: no NaN possible
    bad = ~torch.isfinite(x.flatten(1)).all(1)
    if bad.any():
        rows = bad.nonzero().flatten()[:5].tolist()
        raise ValueError(f"{name}: {int(bad.sum())} of {len(x)} examples hold NaN or infinite values "
                         f"(first rows {rows}); clean the data before training")
    return x


def _check_losses(losses, step: str, n: int | None = None) -> None:
    if not isinstance(losses, dict) or "loss" not in losses:
        raise TypeError(f"loss_fn must return a dict of per-example tensors with a 'loss' key ({step}); "
                        f"got {type(losses).__name__} {list(losses) if isinstance(losses, dict) else ''}")
    for key, value in losses.items():
        if not isinstance(value, torch.Tensor) or value.ndim != 1 or (n is not None and len(value) != n):
            expected = f"({n},), one value per example of the batch" if n is not None else "(N,)"
            raise ValueError(f"loss_fn()[{key!r}]: expected a per-example tensor of shape {expected} ({step}), "
                             f"got {tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__}")


def _non_finite(model, losses, where: str, err: Exception | None = None) -> FloatingPointError:
    keys = [k for k, v in (losses or {}).items() if not torch.isfinite(v).all()]
    params = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
    if keys:
        detail = f"keys {keys} hold NaN or inf"
    elif err is not None:
        detail = f"loss_fn raised {type(err).__name__}: {err}"
    else:
        detail = "every per-example value is finite, but their mean overflowed to inf (values too large)"
    if params:
        detail += f"; non-finite parameters: {params[:5]}"
    return FloatingPointError(f"non-finite loss at {where}: {detail}. Training stopped; "
                              "try a smaller lr, or check the data and the loss.")


@torch.no_grad()
def evaluate(model: torch.nn.Module, data, loss_fn: LossFn, batch_size: int = 1000) -> dict[str, float]:
    """Mean over the examples of every per-example value loss_fn returns: {key: float}. Chapter 05."""
    x = _inputs(data)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device, dtype = next(model.parameters()).device, next(model.parameters()).dtype
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    for start in range(0, len(x), batch_size):
        batch = _cast(x[start:start + batch_size], device, dtype)
        losses = loss_fn(model, batch)
        _check_losses(losses, "evaluate", len(batch))
        for key, value in losses.items():
            sums[key] = sums.get(key, 0) + value.detach().double().sum()
    model.train(was_training)
    return {key: float(total) / len(x) for key, total in sums.items()}


def _train_epoch(model, x, loss_fn, optimizer, batch_size, generator, epoch) -> dict[str, float]:
    sums: dict[str, torch.Tensor] = {}
    order = torch.randperm(len(x), generator=generator).to(x.device)  # shuffled indices (N,)
    for step, start in enumerate(range(0, len(x), batch_size)):
        where = f"epoch {epoch}, step {step}"
        losses = None
        try:
            batch = x[order[start:start + batch_size]]
            losses = loss_fn(model, batch)
            _check_losses(losses, where, len(batch))
            loss = losses["loss"].mean()  # the per-example losses are reduced here, by the mean
        except ValueError as err:
            if any(not torch.isfinite(p).all() for p in model.parameters()):
                raise _non_finite(model, losses, where, err) from err
            raise
        if not math.isfinite(loss.item()):  # fit's one value check per step
            raise _non_finite(model, losses, where)
        if not loss.requires_grad:
            raise ValueError(f"loss_fn(model, x)['loss'] has no autograd graph ({where}): it does not depend on "
                             "the model's parameters; was it computed under torch.no_grad() or .detach()ed?")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        for key, value in losses.items():
            sums[key] = sums.get(key, 0) + value.detach().sum()
    return {key: float(total) / len(x) for key, total in sums.items()}


def fit(model: torch.nn.Module, data, loss_fn: LossFn, *, epochs: int, batch_size: int = 128,
        lr: float = 1e-3, test_data=None, device: str | torch.device | None = None, seed: int = 0,
        progress: bool = True, log_every: int | None = None,
        on_epoch: Callable[[int, dict[str, list[float]]], None] | None = None) -> dict[str, list[float]]:
    """Train with Adam on mean(loss_fn(model, x)["loss"]); return per-epoch means of every key. Chapter 05.

    history[key][e] is the mean over the training examples during epoch e+1 (the model changes
    within the epoch); with test_data, history["test_" + key] is evaluated after the epoch.
    history["seconds"] is the wall time of each epoch (training and test evaluation).
    Seeds the global RNGs (the eps of the loss) and a generator for shuffling with `seed`.
    device=None picks config.device() (CUDA, Apple MPS or CPU); the data move there once.
    Adam is fused into one kernel where torch allows it (much faster steps on CPU).
    Raises FloatingPointError, naming the epoch, step and keys, as soon as a loss is NaN or inf.
    log_every=k prints one line of means every k epochs. on_epoch(epoch, history), if given, is called
    after each epoch (e.g. course_utils.display.plotting.LiveLossPlot() redraws the curves). The model trains on `device` and is moved
    back to the device it came from (usually the CPU) at the end, in train mode; each call starts
    a fresh Adam. If training stops early (an error, or Ctrl-C), the exception carries the epochs
    finished so far as `err.history` (the model keeps its trained weights).
    """
    _check_fit_arguments(epochs, batch_size, lr, log_every)
    if on_epoch is not None and not callable(on_epoch):
        raise TypeError(f"on_epoch: expected a callable (epoch, history) or None, got {type(on_epoch).__name__}")
    generator = config.seed_everything(seed)
    device = torch.device(device) if device is not None else config.device()
    home = next(model.parameters()).device
    dtype = next(model.parameters()).dtype  # float data are cast to the model's dtype (float64 arrays -> float32)
    x = _finite_data(_cast(_inputs(data), device, dtype), "data")
    x_test = _finite_data(_cast(_inputs(test_data, "test_data"), device, dtype), "test_data") if test_data is not None else None
    optimizer = _adam(model.to(device).train(), lr)
    history: dict[str, list[float]] = {}
    bar = tqdm(range(1, epochs + 1), desc="epoch", disable=not progress, leave=True)
    try:
        for epoch in bar:
            means = _epoch(model, x, x_test, loss_fn, optimizer, batch_size, generator, epoch)
            for key, value in means.items():
                history.setdefault(key, []).append(value)
            _report(bar, means, epoch, log_every)
            if on_epoch is not None:
                on_epoch(epoch, history)
    except BaseException as err:  # keep what was learned: the finished epochs travel with the exception
        try:
            err.history = history
        except AttributeError:  # a few built-in exceptions take no attributes
            pass
        if hasattr(err, "add_note"):  # Python 3.11+
            err.add_note(f"fit: {len(history.get('seconds', []))} finished epoch(s) are in err.history")
        raise
    finally:
        bar.close()
        model.to(home)
    return history


def _epoch(model, x, x_test, loss_fn, optimizer, batch_size, generator, epoch) -> dict[str, float]:
    """One pass over the shuffled training data, then the test means; with the epoch's wall time."""
    start = time.perf_counter()
    means = _train_epoch(model, x, loss_fn, optimizer, batch_size, generator, epoch)
    if x_test is not None:
        means.update({f"test_{k}": v for k, v in evaluate(model, x_test, loss_fn).items()})
    means["seconds"] = time.perf_counter() - start
    return means


def _adam(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam, fused into one kernel where this torch and device allow it (10x faster steps on CPU)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=lr)


def _check_fit_arguments(epochs, batch_size, lr, log_every) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr: expected a positive finite number, got {lr!r}")
    if log_every is not None and (not isinstance(log_every, int) or log_every < 1):
        raise ValueError(f"log_every must be None or a positive int, got {log_every!r}")


def _report(bar, means, epoch, log_every) -> None:
    shown = {k: v for k, v in means.items() if k != "seconds"}
    bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
    if log_every and epoch % log_every == 0:
        text = ", ".join(f"{k} {v:.4g}" for k, v in shown.items())
        tqdm.write(f"epoch {epoch}: {text} ({means['seconds']:.2f} s)")


def fit_stream(model: torch.nn.Module, sample: Callable[[int, torch.Generator], torch.Tensor], loss_fn: LossFn, *,
               steps: int, lr: float = 1e-3, device: str | torch.device | None = None, seed: int = 0,
               log_every: int = 100, on_log: Callable[[int, dict[str, list[float]]], None] | None = None,
               progress: bool = False) -> dict[str, list[float]]:
    """Train on batches drawn fresh each step, x = sample(step, generator), for data too large to hold. Chapter 06.

    Every `log_every` steps, history[key] gets the mean of each per-example value over those steps,
    history["step"] the step count and history["seconds"] the wall time of the window; then
    on_log(step, history) is called (e.g. to measure a disentanglement metric). Adam as in `fit`.
    """
    _check_fit_arguments(steps, 1, lr, log_every)
    if not callable(sample):
        raise TypeError(f"sample: expected a callable (step, generator) -> x, got {type(sample).__name__}")
    generator = config.seed_everything(seed)
    device = torch.device(device) if device is not None else config.device()
    home = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    optimizer = _adam(model.to(device).train(), lr)
    history: dict[str, list[float]] = {}
    sums: dict[str, float] = {}
    count, start = 0, time.perf_counter()
    try:
        for step in tqdm(range(1, steps + 1), desc="step", disable=not progress, leave=True):
            x = _cast(_inputs(sample(step, generator), "sample(step, generator)"), device, dtype)
            losses = loss_fn(model, x)
            _check_losses(losses, f"step {step}", len(x))
            loss = losses["loss"].mean()  # per-example losses reduced here, by the mean
            if not math.isfinite(loss.item()):
                raise _non_finite(model, losses, f"step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach().sum())
            count += len(x)
            if step % log_every == 0 or step == steps:
                for key, total in sums.items():
                    history.setdefault(key, []).append(total / count)
                history.setdefault("step", []).append(step)
                history.setdefault("seconds", []).append(time.perf_counter() - start)
                sums, count, start = {}, 0, time.perf_counter()
                if on_log is not None:
                    on_log(step, history)
    except BaseException as err:
        try:
            err.history = history
        except AttributeError:
            pass
        raise
    finally:
        model.to(home)
    return history

"""Neural Cleanse: reverse-engineer a minimal trigger per class, flag abnormally small ones.

For every class the detector optimises the smallest mask ``m`` (H, W) and pattern ``p``
(C, H, W) that send clean inputs to that class through ``(1 - m) * x + m * p``. A backdoor's
target class needs a far smaller mask than the others; the median-absolute-deviation
outlier test on the masks' L1 norms finds it. :func:`unlearn` then mitigates the backdoor
by fine-tuning on clean data where some inputs carry the reversed trigger but keep their
true label.

References
----------
Wang, Yao, Shan, Li, Viswanath, Zheng & Zhao, "Neural Cleanse: Identifying and Mitigating
Backdoor Attacks in Neural Networks", IEEE S&P 2019.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustbench.errors import InputError
from trustbench.models.torch import TorchModel

__all__ = ["NeuralCleanseResult", "ReversedTrigger", "mad_anomaly_index", "neural_cleanse",
           "reverse_trigger", "unlearn"]

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", nn.Module, TorchModel)
Forward = Callable[[torch.Tensor], torch.Tensor]

#: Consistency constant that makes the MAD estimate the standard deviation of a normal.
MAD_CONSISTENCY = 1.4826
#: A class whose anomaly index exceeds this (with a norm below the median) is flagged.
ANOMALY_THRESHOLD = 2.0
_COST_UP, _COST_DOWN = 1.5, 1.5**1.5  # the paper's code: down is up ** 1.5
_TANH_EPS = 1e-7  # keeps the reparametrised values strictly inside (0, 1) and atanh finite


@dataclass(frozen=True, eq=False)
class ReversedTrigger:
    """The smallest trigger found for ``target``: inputs become ``(1 - mask) * x + mask * pattern``.

    ``l1`` is ``mask.sum()``; ``success`` the share of the clean inputs it sends to
    ``target``; ``steps`` the optimisation steps run (fewer than asked after an early stop).
    """

    target: int
    mask: np.ndarray  # (H, W) in [0, 1]
    pattern: np.ndarray  # (C, H, W) in bounds
    l1: float
    success: float
    steps: int

    def apply(self, x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Stamp the trigger on (N, C, H, W) inputs; returns the same type as ``x``."""
        if torch.is_tensor(x):
            m = torch.as_tensor(self.mask, dtype=x.dtype, device=x.device)
            p = torch.as_tensor(self.pattern, dtype=x.dtype, device=x.device)
            return (1 - m) * x + m * p
        x = np.asarray(x)
        return ((1 - self.mask) * x + self.mask * self.pattern).astype(x.dtype, copy=False)


@dataclass(frozen=True, eq=False)
class NeuralCleanseResult:
    """Per-class trigger norms and the MAD outlier test over them.

    ``classes``, ``l1``, ``anomaly_index`` and ``triggers`` are aligned. ``flagged`` lists the
    classes below the median with an anomaly index above 2, smallest norm first.
    ``model_anomaly_index`` is the largest anomaly index below the median (0 if none): the
    paper calls a model backdoored when it exceeds 2.
    """

    classes: tuple[int, ...]
    l1: np.ndarray  # (K,)
    anomaly_index: np.ndarray  # (K,)
    flagged: list[int]
    triggers: tuple[ReversedTrigger, ...]
    model_anomaly_index: float
    median: float
    mad: float

    def trigger(self, target: int) -> ReversedTrigger:
        """Return the reversed trigger of class ``target``."""
        if target not in self.classes:
            raise InputError(f"no trigger was reversed for class {target!r}",
                             fix=f"use one of {list(self.classes)}")
        return self.triggers[self.classes.index(target)]


def mad_anomaly_index(norms: Sequence[float] | np.ndarray) -> np.ndarray:
    """``|norm - median| / (1.4826 * MAD)`` for each norm (``inf`` where MAD is 0 but it differs).

    References
    ----------
    Hampel, "The influence curve and its role in robust estimation", JASA 1974; as used by
    Wang et al., "Neural Cleanse", IEEE S&P 2019.
    """
    v = np.asarray(norms, dtype=np.float64)
    if v.ndim != 1 or len(v) == 0 or not np.isfinite(v).all():
        raise InputError(f"norms must be a non-empty 1-D list of finite numbers, got shape {v.shape}")
    dev = np.abs(v - np.median(v))
    mad = MAD_CONSISTENCY * np.median(dev)
    if mad == 0:
        return np.where(dev > 0, np.inf, 0.0)
    return dev / mad


def reverse_trigger(
    model: nn.Module | TorchModel,
    x: np.ndarray | torch.Tensor,
    target: int,
    *,
    steps: int = 300,
    lr: float = 0.1,
    init_cost: float = 1e-3,
    batch_size: int = 64,
    bounds: tuple[float, float] = (0.0, 1.0),
    patience: int = 5,
    threshold: float = 0.99,
    seed: int = 0,
) -> ReversedTrigger:
    """Find the smallest mask and pattern that send the clean inputs ``x`` to ``target``.

    Minimises ``cross_entropy(model((1 - m) * x + m * p), target) + cost * |m|_1`` with Adam
    (betas 0.5, 0.9) over ``m = tanh(a) / 2 + 0.5`` and ``p = lo + (hi - lo) * (tanh(b) / 2 +
    0.5)``, from a seeded uniform random start. One step is one shuffled pass over ``x`` in
    batches. The cost starts at 0 and is set to ``init_cost`` after ``patience`` steps with
    attack success >= ``threshold``; it is then multiplied by 1.5 after ``patience``
    successful steps and divided by 1.5^1.5 after ``patience`` unsuccessful ones. The
    smallest mask of a successful step is kept; the run stops early once the cost went both
    up and down and that mask shrank by < 1% for ``5 * patience`` steps.

    Parameters
    ----------
    model
        Maps (N, C, H, W) inputs to (N, K) logits; a TorchModel's normalisation is applied
        after the trigger, so the trigger lives in raw input space.
    x
        (N, C, H, W) clean inputs within ``bounds``; a few hundred are enough.
    target
        The class the trigger should cause.

    References
    ----------
    Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in Neural
    Networks", IEEE S&P 2019 (Sec. IV; the cost schedule of the authors' code).
    """
    module, forward = _unwrap(model)
    xt = _as_images(x, "x", module)
    _check_target(target, _n_classes(module, forward, xt))
    _check_positive(steps=steps, batch_size=batch_size, patience=patience, lr=lr,
                    init_cost=init_cost)
    if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):
        raise InputError(f"threshold must be in (0, 1], got {threshold!r}")
    if len(bounds) != 2 or not -math.inf < bounds[0] < bounds[1] < math.inf:
        raise InputError(f"bounds must be (lower, upper) with lower < upper, got {bounds!r}")
    lo, hi = float(bounds[0]), float(bounds[1])
    n, c, h, w = xt.shape
    gen = torch.Generator().manual_seed(int(seed))
    start = torch.rand((h * w + c * h * w,), generator=gen, dtype=torch.float64)
    raw = torch.atanh((start - 0.5) * (2 - _TANH_EPS)).to(xt)
    mask_w = raw[: h * w].view(h, w).clone().requires_grad_(True)  # (H, W)
    pattern_w = raw[h * w :].view(c, h, w).clone().requires_grad_(True)  # (C, H, W)
    opt = torch.optim.Adam([mask_w, pattern_w], lr=lr, betas=(0.5, 0.9))
    labels = torch.full((n,), int(target), dtype=torch.long, device=xt.device)

    def trigger() -> tuple[torch.Tensor, torch.Tensor]:
        p = (lo + (hi - lo) * _squash(pattern_w)).clamp(lo, hi)  # (C, H, W)
        return _squash(mask_w), p  # (H, W), (C, H, W)

    cost, set_count, up_count, down_count, up_flag, down_flag = 0.0, 0, 0, 0, False, False
    best: tuple[torch.Tensor, torch.Tensor] | None = None
    best_l1 = stop_best = math.inf
    stop_count, step = 0, 0
    with _eval_mode(module), torch.enable_grad():
        for step in range(1, steps + 1):
            perm = torch.randperm(n, generator=gen).to(xt.device)
            hits, regs = 0, []
            for i in range(0, n, batch_size):
                b = perm[i : i + batch_size]
                m, p = trigger()
                logits = forward((1 - m) * xt[b] + m * p)  # (B, K)
                reg = m.sum()
                loss = F.cross_entropy(logits, labels[b]) + cost * reg
                mask_w.grad, pattern_w.grad = torch.autograd.grad(loss, [mask_w, pattern_w])
                opt.step()
                hits += int((logits.detach().argmax(1) == target).sum())
                regs.append(reg.item())
            success, l1 = hits / n, float(np.mean(regs))
            if success >= threshold and l1 < best_l1:
                best, best_l1 = tuple(t.detach().clone() for t in trigger()), l1  # type: ignore[assignment]
            log.debug("class %d step %d: cost %.2e success %.3f l1 %.2f best %.2f",
                      target, step, cost, success, l1, best_l1)
            if best_l1 < math.inf:
                stop_count = stop_count + 1 if best_l1 >= 0.99 * stop_best else 0
            stop_best = min(stop_best, best_l1)
            if up_flag and down_flag and stop_count >= 5 * patience:
                break
            if cost == 0 and success >= threshold:
                set_count += 1
                if set_count >= patience:
                    cost, up_count, down_count, up_flag, down_flag = init_cost, 0, 0, False, False
            else:
                set_count = 0
            up_count, down_count = (up_count + 1, 0) if success >= threshold else (0, down_count + 1)
            if up_count >= patience:
                up_count, cost, up_flag = 0, cost * _COST_UP, True
            elif down_count >= patience:
                down_count, cost, down_flag = 0, cost / _COST_DOWN, True
        m, p = best if best is not None else tuple(t.detach() for t in trigger())
        with torch.no_grad():
            hits = sum(int((forward((1 - m) * xt[i : i + batch_size] + m * p).argmax(1) == target).sum())
                       for i in range(0, n, batch_size))
    mask, pattern = m.cpu().numpy().astype(np.float32), p.cpu().numpy().astype(np.float32)
    return ReversedTrigger(int(target), mask, pattern, float(mask.sum()), hits / n, step)


def neural_cleanse(
    model: nn.Module | TorchModel,
    x: np.ndarray | torch.Tensor,
    *,
    classes: Sequence[int] | None = None,
    steps: int = 300,
    lr: float = 0.1,
    init_cost: float = 1e-3,
    batch_size: int = 64,
    bounds: tuple[float, float] = (0.0, 1.0),
    patience: int = 5,
    threshold: float = 0.99,
    seed: int = 0,
) -> NeuralCleanseResult:
    """Reverse a trigger for every class (or ``classes``) and run the MAD outlier test.

    The options are :func:`reverse_trigger`'s, used for every class with the same seed.
    A class is flagged when its trigger's L1 norm is below the median and its anomaly index
    (:func:`mad_anomaly_index`) exceeds 2; large triggers are never flagged.

    References
    ----------
    Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in Neural
    Networks", IEEE S&P 2019 (Sec. IV-B, outlier detection).
    """
    module, forward = _unwrap(model)
    n_classes = _n_classes(module, forward, _as_images(x, "x", module))
    chosen = list(range(n_classes)) if classes is None else [int(k) for k in classes]
    for k in chosen:
        _check_target(k, n_classes)
    if len(set(chosen)) != len(chosen) or len(chosen) < 3:
        raise InputError(f"classes must be at least 3 distinct classes, got {chosen}",
                         fix="with 2 classes the MAD test can never flag one: scan more classes")
    triggers = tuple(reverse_trigger(model, x, k, steps=steps, lr=lr, init_cost=init_cost,
                                     batch_size=batch_size, bounds=bounds, patience=patience,
                                     threshold=threshold, seed=seed) for k in chosen)
    l1 = np.array([t.l1 for t in triggers])  # (K,)
    index = mad_anomaly_index(l1)  # (K,)
    median = float(np.median(l1))
    below = l1 < median
    flagged = sorted((k for k, b, a in zip(chosen, below, index, strict=True)
                      if b and a > ANOMALY_THRESHOLD), key=lambda k: l1[chosen.index(k)])
    return NeuralCleanseResult(
        classes=tuple(chosen), l1=l1, anomaly_index=index, flagged=flagged, triggers=triggers,
        model_anomaly_index=float(index[below].max()) if below.any() else 0.0, median=median,
        mad=float(MAD_CONSISTENCY * np.median(np.abs(l1 - median))))


def unlearn(
    model: ModelT,
    x_clean: np.ndarray | torch.Tensor,
    y_clean: np.ndarray | torch.Tensor,
    trigger: ReversedTrigger,
    *,
    fraction: float = 0.2,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> ModelT:
    """Fine-tune a copy of ``model`` so the reversed trigger no longer changes its output.

    A seeded ``fraction`` of the clean inputs gets ``trigger`` stamped on, keeping its true
    label; the copy is trained on that set with Adam for ``epochs`` and returned in eval
    mode. ``model`` is not modified; a TorchModel comes back as a TorchModel with the same
    normalisation around the fine-tuned module.

    References
    ----------
    Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in Neural
    Networks", IEEE S&P 2019 (Sec. VI-C, patching via unlearning).
    """
    module, _ = _unwrap(model)
    xt = _as_images(x_clean, "x_clean", module)
    y = torch.as_tensor(np.asarray(y_clean) if not torch.is_tensor(y_clean) else y_clean)
    if y.shape != (len(xt),) or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise InputError(f"y_clean must be {len(xt)} integer labels, got shape {tuple(y.shape)} "
                         f"of {y.dtype}")
    if trigger.pattern.shape != tuple(xt.shape[1:]):
        raise InputError(f"the trigger's pattern is {trigger.pattern.shape} but x_clean's inputs "
                         f"are {tuple(xt.shape[1:])}", fix="reverse the trigger on this model's inputs")
    if not 0 <= fraction <= 1:
        raise InputError(f"fraction must be in [0, 1], got {fraction!r}")
    _check_positive(epochs=epochs, batch_size=batch_size, lr=lr)
    y = y.long().to(xt.device)
    gen = torch.Generator().manual_seed(int(seed))
    stamped = torch.randperm(len(xt), generator=gen)[: round(fraction * len(xt))].to(xt.device)
    xt = xt.clone()
    xt[stamped] = trigger.apply(xt[stamped])  # (n_stamped, C, H, W), labels unchanged
    student = copy.deepcopy(module)
    forward: Forward = (lambda v: student(model.prepare(v))) if isinstance(model, TorchModel) else student
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    student.train()
    with torch.enable_grad():
        for _ in range(epochs):
            perm = torch.randperm(len(xt), generator=gen).to(xt.device)
            for i in range(0, len(xt), batch_size):
                b = perm[i : i + batch_size]
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(forward(xt[b]), y[b]).backward()
                opt.step()
    student.eval()
    if isinstance(model, TorchModel):
        return TorchModel(student, mean=None if model.mean is None else model.mean.tolist(),
                          std=None if model.std is None else model.std.tolist(),
                          preprocess=model.preprocess, batch_size=model.batch_size)
    return student


def _squash(w: torch.Tensor) -> torch.Tensor:
    # float32 rounding can put tanh(w) / 2 + 0.5 a hair outside [0, 1]: clamp it back
    return (torch.tanh(w) / (2 - _TANH_EPS) + 0.5).clamp(0.0, 1.0)


def _unwrap(model: nn.Module | TorchModel) -> tuple[nn.Module, Forward]:
    if isinstance(model, TorchModel):
        return model.module, lambda v: model.module(model.prepare(v))
    if isinstance(model, nn.Module):
        return model, model
    raise InputError(f"model must be a torch nn.Module or a trustbench TorchModel, got "
                     f"{type(model).__name__}", fix="Neural Cleanse needs gradients: use a torch model")


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    modules = list(module.modules())
    flags = [m.training for m in modules]
    module.eval()
    try:
        yield
    finally:
        for m, f in zip(modules, flags, strict=True):
            m.training = f


def _as_images(x: np.ndarray | torch.Tensor, name: str, module: nn.Module) -> torch.Tensor:
    p = next(module.parameters(), None)
    device, dtype = (p.device, p.dtype) if p is not None else (torch.device("cpu"), torch.float32)
    t = x.detach() if torch.is_tensor(x) else torch.from_numpy(np.asarray(x, dtype=np.float32))
    if t.ndim != 4 or len(t) == 0:
        raise InputError(f"{name} must be a non-empty (N, C, H, W) batch of images, got shape "
                         f"{tuple(t.shape)}", fix="add the channel axis: x[:, None] for grayscale")
    t = t.to(device=device, dtype=dtype)
    if not torch.isfinite(t).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return t


def _n_classes(module: nn.Module, forward: Forward, x: torch.Tensor) -> int:
    with _eval_mode(module), torch.no_grad():
        out = forward(x[:1])
    if not torch.is_tensor(out) or out.ndim != 2 or out.shape[0] != 1:
        raise InputError("the model must return (N, K) logits for (N, C, H, W) inputs, got "
                         f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}")
    return int(out.shape[1])


def _check_target(target: object, n_classes: int) -> None:
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < n_classes:
        raise InputError(f"target must be a class index in [0, {n_classes}), got {target!r}")


def _check_positive(**options: float) -> None:
    for name, v in options.items():
        integer = name in ("steps", "epochs", "batch_size", "patience")
        if (isinstance(v, bool) or not isinstance(v, int if integer else (int, float))
                or not 0 < v < math.inf):
            kind = "integer" if integer else "finite number"
            raise InputError(f"{name} must be a positive {kind}, got {v!r}")

"""Tiny synthetic data and models with known answers, for tests, examples and extensions.

Everything here is deterministic (seeded ``torch.Generator`` only, full-batch training on
CPU) and fast: a model trains in well under a second and is cached per process, and every
call returns a fresh module, so a test can never disturb another through shared state.

Inputs are in ``[0, 1]``, so ``Domain(lower=0.0, upper=1.0)`` is their valid domain.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from trustbench.domain import Norm
from trustbench.models.torch import TorchModel

__all__ = [
    "TINT",
    "MinChannel",
    "blob_centers",
    "nearest_centroid_distance",
    "toy_blobs",
    "toy_colour_digits",
    "toy_colour_images",
    "toy_digits",
    "toy_digits_mlp",
    "toy_linear_model",
    "toy_mlp",
]

#: Logit scale of :func:`toy_linear_model` (does not change its decisions).
_TEMPERATURE = 10.0


def blob_centers(*, n_features: int = 8, n_classes: int = 4) -> torch.Tensor:
    """(C, F) class centers, uniform in ``[0.25, 0.75]``; fixed for a given shape."""
    g = torch.Generator().manual_seed(1234 + 97 * n_features + n_classes)
    return 0.25 + 0.5 * torch.rand((n_classes, n_features), generator=g)


def toy_blobs(n: int = 200, *, n_features: int = 8, n_classes: int = 4, spread: float = 0.1,
              seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs around :func:`blob_centers`, clipped to ``[0, 1]``.

    Returns
    -------
    x
        (n, n_features) float32.
    y
        (n,) int64 class of the blob each point was drawn from (balanced).
    """
    g = torch.Generator().manual_seed(seed)
    centers = blob_centers(n_features=n_features, n_classes=n_classes)
    y = torch.arange(n) % n_classes  # (n,)
    x = centers[y] + spread * torch.randn((n, n_features), generator=g)  # (n, F)
    return x.clamp(0.0, 1.0), y


def toy_linear_model(*, n_features: int = 8, n_classes: int = 4) -> TorchModel:
    """Build the nearest-centroid classifier of :func:`toy_blobs`, as an ``nn.Linear``.

    ``logits_k = T * (x . c_k - ||c_k||^2 / 2)``: analytic (no training), and its exact
    distance to the decision boundary is :func:`nearest_centroid_distance`.
    """
    c = blob_centers(n_features=n_features, n_classes=n_classes)  # (C, F)
    layer = nn.Linear(n_features, n_classes)
    with torch.no_grad():
        layer.weight.copy_(_TEMPERATURE * c)
        layer.bias.copy_(-_TEMPERATURE * 0.5 * (c**2).sum(1))
    return TorchModel(layer, n_classes=n_classes)


def nearest_centroid_distance(x: torch.Tensor, y: torch.Tensor, *, norm: Norm,
                              n_classes: int = 4) -> torch.Tensor:
    """(N,) exact smallest ``norm`` perturbation that makes :func:`toy_linear_model` misclassify ``x``.

    The domain is unbounded; the size is negative where ``x`` is already misclassified.

    For the linear pair margin ``m_k(x) = x . (c_y - c_k) - (||c_y||^2 - ||c_k||^2) / 2`` the
    distance to its hyperplane is ``m_k / ||c_y - c_k||_*`` with the dual norm (L1 for L∞,
    L2 for L2); the answer is the minimum over ``k != y``.
    """
    c = blob_centers(n_features=x.shape[1], n_classes=n_classes)  # (C, F)
    diff = c[y][:, None, :] - c[None, :, :]  # (N, C, F): c_y - c_k
    sq = (c**2).sum(1)  # (C,)
    margin = (x[:, None, :] * diff).sum(2) - 0.5 * (sq[y][:, None] - sq[None, :])  # (N, C)
    dual = diff.abs().sum(2) if norm == "linf" else diff.norm(dim=2)  # (N, C)
    dist = margin / dual.clamp_min(1e-12)
    dist[torch.arange(len(y)), y] = float("inf")
    return dist.min(1).values


def _init(module: nn.Module, g: torch.Generator) -> None:
    """Seeded fan-in init, instead of torch's default that draws from the global RNG."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = 1.0 / m.in_features**0.5
                m.weight.copy_((2 * torch.rand(m.weight.shape, generator=g) - 1) * bound)
                m.bias.copy_((2 * torch.rand(m.bias.shape, generator=g) - 1) * bound)


def _fit(module: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int,
         lr: float) -> dict[str, torch.Tensor]:
    # A hand-written full-batch Adam: constructing any torch.optim optimizer imports
    # torch._dynamo, which costs seconds, more than all the training here.
    # One thread: the same weights on any machine (a GEMM's summation order can depend on
    # the thread count), and no slowdown from oversubscribed cores at this tiny size.
    params = list(module.parameters())
    m1 = [torch.zeros_like(p) for p in params]
    m2 = [torch.zeros_like(p) for p in params]
    b1, b2 = 0.9, 0.999
    module.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for t in range(1, steps + 1):
            grads = torch.autograd.grad(F.cross_entropy(module(x), y), params)
            with torch.no_grad():
                for p, g, a, b in zip(params, grads, m1, m2, strict=True):
                    a.mul_(b1).add_(g, alpha=1 - b1)
                    b.mul_(b2).addcmul_(g, g, value=1 - b2)
                    p.addcdiv_(a, (b / (1 - b2**t)).sqrt_().add_(1e-8), value=-lr / (1 - b1**t))
    finally:
        torch.set_num_threads(threads)
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _mlp(n_features: int, n_classes: int, hidden: int, batchnorm: bool) -> nn.Sequential:
    if batchnorm:
        return nn.Sequential(nn.Linear(n_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                             nn.Linear(hidden, n_classes))
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


@lru_cache(maxsize=32)
def _mlp_state(seed: int, n_features: int, n_classes: int, hidden: int,
               batchnorm: bool) -> dict[str, torch.Tensor]:
    module = _mlp(n_features, n_classes, hidden, batchnorm)
    _init(module, torch.Generator().manual_seed(seed))
    x, y = toy_blobs(512, n_features=n_features, n_classes=n_classes, seed=1000 + seed)
    return _fit(module, x, y, steps=300, lr=0.02)


def toy_mlp(seed: int = 0, *, n_features: int = 8, n_classes: int = 4, hidden: int = 32,
            batchnorm: bool = False) -> TorchModel:
    """Return a one-hidden-layer ReLU MLP trained on :func:`toy_blobs` (about 90% accurate).

    With ``batchnorm=True`` the module has a ``BatchNorm1d`` and is returned in ``train()``
    mode, so a test can check that attacks neither switch its mode nor move its running
    statistics.
    """
    module = _mlp(n_features, n_classes, hidden, batchnorm)
    module.load_state_dict(_mlp_state(seed, n_features, n_classes, hidden, batchnorm))
    module.train(batchnorm)
    return TorchModel(module, n_classes=n_classes)


@lru_cache(maxsize=2)
def _digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.as_tensor(data.data / 16.0, dtype=torch.float32).view(-1, 1, 8, 8)
    y = torch.as_tensor(data.target, dtype=torch.long)
    return (x[:1200], y[:1200]) if split == "train" else (x[1200:], y[1200:])


def toy_digits(*, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits as images in ``[0, 1]``.

    Returns ``x`` (N, 1, 8, 8) float32 and ``y`` (N,) int64; ``split="train"`` is the first
    1200 images, ``"test"`` the other 597.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    x, y = _digits(split)
    return x.clone(), y.clone()


@lru_cache(maxsize=4)
def _digits_state(seed: int) -> dict[str, torch.Tensor]:
    module = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    _init(module, torch.Generator().manual_seed(seed))
    x, y = _digits("train")
    return _fit(module, x, y, steps=300, lr=0.01)


def toy_digits_mlp(seed: int = 0) -> TorchModel:
    """Return a 64-64-10 ReLU MLP trained on the digits train split (about 95% test accuracy)."""
    module = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    module.load_state_dict(_digits_state(seed))
    module.eval()
    return TorchModel(module, n_classes=10)


#: The tint of :func:`toy_colour_digits`: HSV saturation 0.4 on every stroke.
TINT = (1.0, 0.8, 0.6)


class MinChannel(nn.Module):
    """Reads the achromatic part of a tinted digit (its smallest channel, rescaled).

    A grayscale model then classifies :func:`toy_colour_digits`; over-saturation blinds it.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the inner model on the smallest channel of ``x``, divided by ``TINT[2]``."""
        return self.inner(x.amin(1, keepdim=True) / TINT[2])  # (N, 1, H, W) in


def toy_colour_digits() -> tuple[torch.Tensor, torch.Tensor, TorchModel]:
    """Return a colour task whose model a saturation shift can hurt.

    The task is the test digits tinted with :data:`TINT`, and :func:`toy_digits_mlp` behind
    a :class:`MinChannel`.

    Returns ``x`` (597, 3, 8, 8) float32 in ``[0, 1]``, ``y`` (597,) int64 and the model.
    """
    x, y = toy_digits()
    tint = torch.tensor(TINT).view(1, 3, 1, 1)
    return x * tint, y, TorchModel(MinChannel(toy_digits_mlp().module), n_classes=10)


def toy_colour_images(n: int = 6, *, size: int = 32, seed: int = 5) -> torch.Tensor:
    """(n, 3, size, size) float32 smooth random colour images spanning ``[0, 1]``."""
    import numpy as np
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    x = ndimage.gaussian_filter(rng.random((n, 3, size, size)), sigma=(0, 0, 2, 2))
    x = (x - x.min()) / (x.max() - x.min())
    return torch.from_numpy(x.astype(np.float32))

"""The three benchmark setups: a model in eval mode, float32 points and their threat models.

(a) ``demo-cnn``: trustbench's demo CNN on the digits test split (540 points, 1×8×8).
(b) ``digits-mlp``: a wider MLP (64-512-512-10) on the same points, trained here, seeded.
(c) ``synth-cnn``: a three-convolution CNN on a synthetic 3×32×32, 10-class dataset
    (class templates, random shifts, a distractor template and pixel noise), trained here,
    seeded, so that the cost of one forward+backward pass resembles a small image model.

Everything is deterministic for a seed on one machine; no file is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Setup", "build_setups", "digits_test", "synthetic_images"]


@dataclass
class Setup:
    """One model with its points and its radii per norm."""

    name: str
    model: nn.Module
    x: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    y: torch.Tensor  # (N,) int64
    eps: dict[str, float]  # norm -> eps
    clean_accuracy: float = 0.0

    def head(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[:n].contiguous(), self.y[:n].contiguous()


def digits_test() -> tuple[torch.Tensor, torch.Tensor]:
    """The 540 digits test points: (540, 1, 8, 8) float32 in [0, 1] and (540,) labels."""
    from trustbench.data import load_builtin

    d = load_builtin("digits", split="test")
    return torch.from_numpy(np.ascontiguousarray(d.x)), torch.from_numpy(d.y).long()


def _digits_train() -> tuple[torch.Tensor, torch.Tensor]:
    from trustbench.data import load_builtin

    d = load_builtin("digits", split="train")
    return torch.from_numpy(np.ascontiguousarray(d.x)), torch.from_numpy(d.y).long()


class DigitsMLP(nn.Module):
    """64 -> 512 -> 512 -> 10 with ReLU."""

    def __init__(self, width: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.ReLU(),
                                 nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SynthCNN(nn.Module):
    """Three 3×3 convolutions (16-32-64 channels, each followed by a 2×2 max-pool) and a
    two-layer head: about 5.6 MFLOP per 3×32×32 image forward."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # (N, 16, 16, 16)
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (N, 32, 8, 8)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (N, 64, 4, 4)
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 16, 128), nn.ReLU(),
                                  nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def synthetic_images(n: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images (n, 3, 32, 32) in [0, 1] with labels (n,), 10 classes.

    Each class owns a smooth random colour template (8×8 noise upsampled to 32×32). An image
    is its class template at a random amplitude, shifted by up to 3 pixels, plus 0.5× a
    random other class's template (a distractor) and Gaussian pixel noise. The class
    templates come from a fixed generator, so every split shares them; ``seed`` draws the
    images.
    """
    templates_gen = torch.Generator().manual_seed(12345)
    templates = torch.rand((10, 3, 8, 8), generator=templates_gen) - 0.5  # (10, 3, 8, 8)
    templates = F.interpolate(templates, size=(32, 32), mode="bilinear",
                              align_corners=False)  # (10, 3, 32, 32)
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    other = (y + torch.randint(1, 10, (n,), generator=g)) % 10  # a different class
    amp = 0.6 + 0.4 * torch.rand((n, 1, 1, 1), generator=g)
    x = 0.5 + amp * templates[y] + 0.5 * templates[other]  # (n, 3, 32, 32)
    shifts = torch.randint(-3, 4, (n, 2), generator=g)
    x = torch.stack([torch.roll(x[i], shifts=(int(s[0]), int(s[1])), dims=(1, 2))
                     for i, s in enumerate(shifts)])
    x = x + 0.12 * torch.randn(x.shape, generator=g)
    return x.clamp(0.0, 1.0).float().contiguous(), y.long()


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
           seed: int, batch: int = 64) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            b = perm[i : i + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)  # attacks need input gradients only
    return model


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def build_setups(*, quick: bool = False, seed: int = 0) -> list[Setup]:
    """The three setups. ``quick`` trains the MLP and the synthetic CNN on less."""
    from trustbench.demo import load_demo_model

    x_dig, y_dig = digits_test()
    demo, _ = load_demo_model()
    demo.eval()
    for p in demo.parameters():
        p.requires_grad_(False)

    torch.manual_seed(seed)  # layer initialisation draws from the global generator
    xt, yt = _digits_train()
    mlp = _train(DigitsMLP(), xt, yt, epochs=15 if quick else 40, lr=1e-3, seed=seed)

    torch.manual_seed(seed)
    xs_train, ys_train = synthetic_images(1000 if quick else 3000, seed=seed + 1)
    xs_test, ys_test = synthetic_images(1000, seed=seed + 2)
    cnn = _train(SynthCNN(), xs_train, ys_train, epochs=3 if quick else 6, lr=1e-3, seed=seed)

    digits_eps = {"linf": 0.1, "l2": 1.0}
    image_eps = {"linf": 8 / 255, "l2": 0.5}
    setups = [
        Setup("demo-cnn", demo, x_dig, y_dig, digits_eps),
        Setup("digits-mlp", mlp, x_dig, y_dig, digits_eps),
        Setup("synth-cnn", cnn, xs_test, ys_test, image_eps),
    ]
    for s in setups:
        s.clean_accuracy = _accuracy(s.model, s.x, s.y)
    return setups

"""The demo model: a small CNN on the built-in ``digits`` data, trained once and cached."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch import nn

from trustbench.data import load_builtin

__all__ = ["DemoCNN", "cache_dir", "load_demo_model", "train_demo_model"]

log = logging.getLogger(__name__)


class DemoCNN(nn.Module):
    """Two 3×3 convolutions and two linear layers for 1×8×8 inputs in [0, 1]; 10 logits.

    Parameters
    ----------
    width
        Channels of the first convolution (the second has twice as many).
    """

    def __init__(self, width: int = 16, n_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),                # (N, w, 8, 8)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),        # (N, 2w, 8, 8)
            nn.MaxPool2d(2),                                             # (N, 2w, 4, 4)
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 16, 64), nn.ReLU(), nn.Linear(64, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, n_classes) logits of a batch of (N, 1, 8, 8) images."""
        return self.head(self.features(x))


def cache_dir() -> Path:
    """``$TRUSTBENCH_CACHE``, else ``$XDG_CACHE_HOME/trustbench``, else ``~/.cache/trustbench``."""
    if os.environ.get("TRUSTBENCH_CACHE"):
        return Path(os.environ["TRUSTBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trustbench"


def train_demo_model(*, epochs: int = 40, seed: int = 0, width: int = 16,
                     fraction: float = 1.0) -> DemoCNN:
    """Train :class:`DemoCNN` on the ``digits`` train split (Adam, full-batch-free minibatches).

    ``fraction`` < 1 trains on a seeded random part of the split: a deliberately weaker model,
    e.g. to see a regression gate fail. Deterministic for a given seed on one machine; takes a
    few seconds on 2 CPU cores.
    """
    gen = torch.Generator().manual_seed(seed)
    train = load_builtin("digits", split="train", seed=0)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction < 1:
        train = train.sample(max(10, round(fraction * len(train))), seed=seed)
    x = torch.from_numpy(train.x)
    y = torch.from_numpy(train.y)
    # Layer initialisation draws from torch's global generator: seed it inside a fork, so
    # the weights depend on ``seed`` alone and the caller's global RNG state is untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DemoCNN(width)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            b = perm[i : i + 64]
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            opt.step()
        log.debug("demo CNN epoch %d loss %.4f", epoch, loss.item())
    model.eval()
    return model


def load_demo_model(*, retrain: bool = False) -> tuple[DemoCNN, Path]:
    """Load the cached demo CNN (trained on first use); return the model and its weights file."""
    from safetensors.torch import load_file, save_file

    path = cache_dir() / "demo_cnn.safetensors"
    model = DemoCNN()
    if path.exists() and not retrain:
        try:
            model.load_state_dict(load_file(str(path)))
            model.eval()
            return model, path
        except Exception:  # a corrupt or stale cache: train again
            log.warning("cached demo model %s is unreadable; retraining", path)
    model = train_demo_model()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(model.state_dict(), str(tmp))
    os.replace(tmp, path)
    return model, path

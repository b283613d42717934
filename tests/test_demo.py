"""The demo CNN: trained from its seed alone, without touching the caller's RNG."""

from __future__ import annotations

import torch

from trustbench.demo import train_demo_model


def _tiny(seed: int) -> dict[str, torch.Tensor]:
    # seed and width unlike the demo's defaults: a global state left behind by another
    # training run cannot match by chance
    return train_demo_model(epochs=1, fraction=0.01, width=4, seed=seed).state_dict()


def test_training_leaves_the_global_rng_and_depends_on_the_seed_alone() -> None:
    state = torch.random.get_rng_state()
    first = _tiny(7)
    assert torch.equal(torch.random.get_rng_state(), state)
    with torch.random.fork_rng(devices=[]):
        torch.rand(3)  # move the global generator: the weights must not follow it
        again = _tiny(7)
    other = _tiny(8)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)

"""Training checkpoints, written atomically after every epoch.

They are read back only through ``torch.load(weights_only=True)`` (tensors and plain Python
values, never code).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trustbench.errors import InputError

__all__ = ["CHECKPOINT_NAME", "load_checkpoint", "save_checkpoint"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
_FORMAT = "trustbench-harden-checkpoint/1"


def save_checkpoint(path: Path, config: dict[str, Any], n_train: int, module: nn.Module,
                    opt: torch.optim.Optimizer, sched: Any, gen: torch.Generator,
                    state: dict[str, Any], best_state: dict[str, Any]) -> None:
    """Save a training checkpoint, replacing ``path`` atomically.

    It holds the model, optimizer, scheduler, generator and global RNG states, the loop's
    state and the best weights so far.
    """
    payload = {"format": _FORMAT, "config": config, "n_train": n_train,
               "state": state, "model": module.state_dict(), "best_model": best_state,
               "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
               "generator": gen.get_state(), "torch_rng": torch.get_rng_state()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-", suffix=".pt")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)  # atomic: a crash leaves the previous checkpoint intact
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, config: dict[str, Any], n_train: int, module: nn.Module,
                    opt: torch.optim.Optimizer, sched: Any,
                    gen: torch.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restore everything :func:`save_checkpoint` wrote into the given objects.

    This includes the global RNG: call inside ``torch.random.fork_rng``. Returns the loop's
    state and the best weights. InputError if the checkpoint was made with other settings
    or data.
    """
    try:
        ck = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        raise InputError(f"{path}: not a readable checkpoint ({str(e).splitlines()[0][:160]})",
                         fix="delete it and start without --resume") from None
    if not isinstance(ck, dict) or ck.get("format") != _FORMAT:
        raise InputError(f"{path}: not a trustbench harden checkpoint")
    old = ck["config"]
    changed = sorted(k for k in config if _canon(old.get(k)) != _canon(config[k]))
    if changed or ck["n_train"] != n_train:
        what = ", ".join(f"{k}: {old.get(k)!r} -> {config[k]!r}" for k in changed) or \
            f"training rows: {ck['n_train']} -> {n_train}"
        raise InputError(f"{path}: the checkpoint was made with other settings ({what})",
                         fix="resume with the same settings and data (only --epochs and "
                         "--patience may change), or start without --resume")
    module.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    sched.load_state_dict(ck["scheduler"])
    gen.set_state(ck["generator"])
    torch.set_rng_state(ck["torch_rng"])
    log.info("resuming %s from epoch %d", path, ck["state"]["epoch"])
    return ck["state"], ck["best_model"]


def _canon(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v

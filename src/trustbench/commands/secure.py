"""``trustbench secure``: check a model (and its training data) for a backdoor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from trustbench.commands._console import console, keep_on_interrupt
from trustbench.commands._output import card_writers, show_card

__all__ = ["secure"]


def secure(
    data: Annotated[str, typer.Option(help="Clean held-out data: 'digits', "
                                      "'breast_cancer' or a .npz/.csv/.parquet file.")],
    model: Annotated[str | None, typer.Option(
        help="Model file (TorchScript, .pt + --arch, ONNX, skops, ...) or "
        "package.module:attribute.")] = None,
    simulate: Annotated[bool, typer.Option(
        "--simulate", help="Instead of checking --model: poison --train (default: the "
        "dataset's train split) with a BadNets patch, train --arch (default: the demo CNN) on "
        "it, and score every detector and mitigation against the known truth.")] = False,
    rate: Annotated[float, typer.Option(help="--simulate: share of training rows poisoned.")
                    ] = 0.05,
    train: Annotated[str | None, typer.Option(
        help="The data the model was trained on (same forms as --data): spectral signatures "
        "and activation clustering look for poisoned rows in it.")] = None,
    target: Annotated[str | None, typer.Option(help="Label column of a table.")] = None,
    arch: Annotated[str | None, typer.Option(
        help="package.module:Class of the nn.Module a state_dict belongs to.")] = None,
    arch_kwargs: Annotated[str | None, typer.Option(
        help="JSON object of constructor arguments for --arch.")] = None,
    layer: Annotated[str | None, typer.Option(
        help="Layer whose output the training-set detectors use (default: the "
        "penultimate, the input of the last nn.Linear).")] = None,
    eps: Annotated[float, typer.Option(
        help="Spectral signatures' bound on the poisoned share of a class.")] = 0.1,
    frr: Annotated[float, typer.Option(
        help="STRIP's false rejection rate on clean inputs.")] = 0.01,
    steps: Annotated[int, typer.Option(
        help="Neural Cleanse's optimisation steps per class.", min=10)] = 150,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for scorecard.json and report.html.")
                   ] = Path("secure-report"),
    trust_pickle: Annotated[bool, typer.Option(
        "--trust-pickle", help="Allow pickle/joblib model files (they can run arbitrary code; "
        "'trustbench inspect' says what they hold).")] = False,
) -> None:
    """Check a model for a backdoor: inspection, STRIP, Neural Cleanse, poisoned rows.

    The model file is inspected; STRIP and Neural Cleanse run on the clean --data; with
    --train, spectral signatures and activation clustering look for poisoned rows in it.

    Exit 1 when Neural Cleanse finds a class with an outlying small trigger or the model file
    is unsafe; 0 otherwise.
    """
    from trustbench._files import OutputFolder
    from trustbench.data import load_data
    from trustbench.errors import InputError
    from trustbench.models.loading import load_model
    from trustbench.security.secure import secure_scan

    if not 0 < eps < 1:
        raise InputError(f"--eps must be in (0, 1), got {eps}")
    if not 0 < frr < 0.5:
        raise InputError(f"--frr must be in (0, 0.5), got {frr}")
    if not 0 < rate < 1:
        raise InputError(f"--rate must be in (0, 1), got {rate}")
    if (model is None) == (not simulate):
        raise InputError("give --model (a model to check) or --simulate (a simulated "
                         "backdoor), not both and not neither")
    clean = load_data(data, target=target, split="test", seed=seed)
    training = None if train is None else load_data(train, target=target, split="train",
                                                    seed=seed)
    if simulate and training is None:
        training = load_data(data, target=target, split="train", seed=seed)
    loaded = None if model is None else load_model(model, arch=arch, arch_kwargs=arch_kwargs,
                                                   trust_pickle=trust_pickle)
    with OutputFolder(out, owned=["scorecard.json", "report.html"]) as folder:
        keep_on_interrupt(f"nothing of this check was written; {out} is as it was")
        with console.status("secure") as status:
            if simulate:
                card = _simulate(clean, training, arch, arch_kwargs, rate, steps, eps, seed,
                                 lambda name: status.update(f"secure: {name}"))
            else:
                card = secure_scan(loaded, clean, train=training,
                                   model_path=model if Path(str(model)).is_file() else None,
                                   layer=layer, eps=eps, frr=frr, nc_steps=steps, seed=seed,
                                   step=lambda name: status.update(f"secure: {name}"))
        written = folder.commit(card_writers(card), rescue="scorecard.json")
    show_card(card, written)
    if card.verdict == "fail":
        raise typer.Exit(1)


def _simulate(clean: Any, training: Any, arch: str | None, arch_kwargs: str | None,
              rate: float, steps: int, eps: float, seed: int, step: Any) -> Any:
    """Run :func:`~trustbench.security.simulate.simulate_backdoor` for the command."""
    import torch

    from trustbench.models.arch import build_arch
    from trustbench.security.simulate import simulate_backdoor

    ref = arch or "trustbench.demo:DemoCNN"

    def make() -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_arch(ref, arch_kwargs, what="--arch", trusted=True)

    return simulate_backdoor(make, training.x, training.y, clean.x, clean.y, rate=rate,
                             eps=eps, nc_steps=steps, seed=seed, step=step).card

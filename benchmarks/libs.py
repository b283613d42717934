"""One attack specification, three libraries: trustbench, torchattacks and ART.

Each ``make_*`` returns a :class:`Runner` whose ``run(x, y)`` returns ``x_adv`` (a float32
tensor) and, where the library reports them, its own counts. Setting up (wrapping the model,
building the attack object) happens outside the timed call; the timed call is what a user
of that library runs to get robust accuracy: for the reference libraries it includes one
no-grad forward pass over ``x_adv`` (trustbench re-checks its result inside ``run``).

All three use the same ``nn.Module`` in eval mode, the same float32 tensors, all points as
one batch, and for random starts a seed set right before the call (torchattacks and ART
draw from torch's and numpy's global generators; trustbench from its own seeded one).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["LIBRARIES", "Runner", "Spec", "make_runner", "trustbench_has"]

LIBRARIES = ("trustbench", "torchattacks", "art")


@dataclass(frozen=True)
class Spec:
    """A threat model and an attack, in library-neutral words.

    ``attack`` is one of ``fgsm``, ``pgd``, ``apgd-ce``, ``standard``; ``steps`` is the
    number of gradient steps k (1 for FGSM; unused for ``standard``).
    """

    attack: str
    norm: str  # "linf" | "l2"
    eps: float
    steps: int = 1
    step_size: float | None = None
    early_stop: bool = True  # trustbench only; the reference libraries keep all points
    n_classes: int = 10
    seed: int = 0

    @property
    def label(self) -> str:
        name = {"fgsm": "FGSM", "pgd": f"PGD-{self.steps}", "apgd-ce": f"APGD-CE-{self.steps}",
                "standard": "standard ensemble"}[self.attack]
        return f"{name} {'L∞' if self.norm == 'linf' else 'L2'} eps={self.eps:.4g}"


@dataclass
class Runner:
    library: str
    variant: str  # e.g. "early stop" / "all points kept"
    run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    reported: dict[str, Any] = field(default_factory=dict)  # last run's own counts
    note: str = ""


def trustbench_has(name: str) -> bool:
    """Whether trustbench's registry has ``name`` and it imports cleanly right now."""
    try:
        from trustbench.attacks import REGISTRY
    except Exception:
        return False
    return name in REGISTRY


def _accepts(cls: type, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


def _predict_once(model: nn.Module, x_adv: torch.Tensor) -> torch.Tensor:
    """The user's one forward pass to learn robust accuracy (reference libraries)."""
    with torch.inference_mode():
        model(x_adv).argmax(1)
    return x_adv


# -- trustbench ------------------------------------------------------------------------
def _make_trustbench(spec: Spec, model: nn.Module, n: int) -> Runner:
    from trustbench.attacks import REGISTRY
    from trustbench.domain import Domain
    from trustbench.models.torch import TorchModel

    cls = REGISTRY[spec.attack]
    params: dict[str, Any] = {"eps": spec.eps, "norm": spec.norm, "seed": spec.seed}
    if spec.attack in ("pgd", "apgd-ce") and _accepts(cls, "steps"):
        params["steps"] = spec.steps
    if spec.attack == "pgd":
        params.update(step_size=spec.step_size, random_start=True, restarts=1,
                      early_stop=spec.early_stop)
    if spec.attack == "apgd-ce" and _accepts(cls, "restarts"):
        params["restarts"] = 1
    attack = cls(**params)
    wrapped = TorchModel(model, n_classes=spec.n_classes)
    domain = Domain(lower=0.0, upper=1.0)
    variant = ""
    if spec.attack == "pgd":
        variant = "early stop (default)" if spec.early_stop else "all points kept"
    runner = Runner("trustbench", variant, run=lambda x, y: x, note=repr(attack))

    def run(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        res = attack.run(wrapped, x, y, domain=domain, batch_size=n)
        runner.reported = {"grad_evals": res.grad_evals, "queries": res.queries,
                           "robust_accuracy": res.robust_accuracy}
        return res.x_adv

    runner.run = run
    return runner


# -- torchattacks ------------------------------------------------------------------------
def _make_torchattacks(spec: Spec, model: nn.Module, n: int) -> Runner | None:
    import torchattacks as ta

    norm = "Linf" if spec.norm == "linf" else "L2"
    if spec.attack == "fgsm":
        if spec.norm != "linf":
            return None  # torchattacks has no L2 FGSM
        atk = ta.FGSM(model, eps=spec.eps)
    elif spec.attack == "pgd":
        cls = ta.PGD if spec.norm == "linf" else ta.PGDL2
        atk = cls(model, eps=spec.eps, alpha=spec.step_size, steps=spec.steps,
                  random_start=True)
    elif spec.attack == "apgd-ce":
        atk = ta.APGD(model, norm=norm, eps=spec.eps, steps=spec.steps, n_restarts=1,
                      seed=spec.seed, loss="ce")
    elif spec.attack == "standard":
        atk = ta.AutoAttack(model, norm=norm, eps=spec.eps, version="standard",
                            n_classes=spec.n_classes, seed=spec.seed)
    else:
        return None

    def run(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(spec.seed)  # torchattacks draws random starts from torch's global RNG
        return _predict_once(model, atk(x, y))

    return Runner("torchattacks", "all points kept" if spec.attack == "pgd" else "", run,
                  note=type(atk).__name__)


# -- ART ---------------------------------------------------------------------------------
def art_classifier(model: nn.Module, x: torch.Tensor, n_classes: int) -> Any:
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(),
                             input_shape=tuple(x.shape[1:]), nb_classes=n_classes,
                             clip_values=(0.0, 1.0), channels_first=True, device_type="cpu")


def _make_art(spec: Spec, model: nn.Module, n: int, x: torch.Tensor) -> Runner | None:
    from art.attacks import evasion

    clf = art_classifier(model, x, spec.n_classes)
    norm = np.inf if spec.norm == "linf" else 2
    if spec.attack == "fgsm":
        atk = evasion.FastGradientMethod(clf, norm=norm, eps=spec.eps, batch_size=n)
    elif spec.attack == "pgd":
        atk = evasion.ProjectedGradientDescent(clf, norm=norm, eps=spec.eps,
                                               eps_step=spec.step_size, max_iter=spec.steps,
                                               num_random_init=1, batch_size=n, verbose=False)
    elif spec.attack == "apgd-ce":
        # eps_step is APGD's initial step; 2*eps as in Croce & Hein (2020)
        atk = evasion.AutoProjectedGradientDescent(clf, norm=norm, eps=spec.eps,
                                                   eps_step=2 * spec.eps, max_iter=spec.steps,
                                                   nb_random_init=1, batch_size=n,
                                                   loss_type="cross_entropy", verbose=False)
    elif spec.attack == "standard":
        # ART's default list: APGD-CE and APGD-DLR (5 restarts each), DeepFool, Square
        atk = evasion.AutoAttack(clf, norm=norm, eps=spec.eps, eps_step=2 * spec.eps,
                                 batch_size=n)
    else:
        return None

    def run(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        np.random.seed(spec.seed)  # noqa: NPY002  (ART draws from numpy's global RNG)
        torch.manual_seed(spec.seed)
        x_adv = atk.generate(x.numpy(), y.numpy())
        return _predict_once(model, torch.from_numpy(np.asarray(x_adv, dtype=np.float32)))

    return Runner("art", "all points kept" if spec.attack == "pgd" else "", run,
                  note=type(atk).__name__)


def make_runner(library: str, spec: Spec, model: nn.Module, x: torch.Tensor) -> Runner | None:
    """The runner of ``spec`` in ``library`` for all of ``x`` as one batch, or ``None`` if
    that library has no such attack (or, for trustbench, it is not registered yet)."""
    n = len(x)
    if library == "trustbench":
        return _make_trustbench(spec, model, n) if trustbench_has(spec.attack) else None
    if library == "torchattacks":
        return _make_torchattacks(spec, model, n)
    if library == "art":
        return _make_art(spec, model, n, x)
    raise ValueError(f"unknown library {library!r}")

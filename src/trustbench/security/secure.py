"""``trustbench secure``'s work: a model (and its training data) checked for backdoors.

:func:`secure_scan` runs what applies to the model it is given and says what it skipped:

* the model file's inspection (:mod:`trustbench.security.files`), when it is a file;
* STRIP on clean held-out data (half fits the threshold, half is checked: about ``frr``
  should be flagged; many more means inputs that carry a trigger) — any model that gives
  probabilities;
* Neural Cleanse on the clean data — a PyTorch model on images (N, C, H, W);
* with the training set: spectral signatures and activation clustering on the
  penultimate representations — a PyTorch model.

Findings ``security.backdoor.*`` (and ``security.inspect``), tagged MEASURE 2.7, MANAGE 3.2
and GOVERN 6.1. Without the truth, detection recall cannot be measured: the training-set
findings list the flagged rows instead (``evidence["rows"]``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.scorecard import Scorecard

__all__ = ["secure_scan"]


def _torch_module(model: Any) -> Any:
    """Return the model's ``nn.Module``, or None for a model that is not PyTorch."""
    from trustbench.security.features import as_module

    try:
        return as_module(model)[0]
    except InputError:
        return None


def secure_scan(model: Any, data: Any, *, train: Any = None, model_path: str | Path | None = None,
                layer: str | None = None, eps: float = 0.1, frr: float = 0.01,
                strip_n: int = 50, nc_steps: int = 150, nc_images: int = 128, seed: int = 0,
                step: Callable[[str], None] | None = None) -> Scorecard:
    """Check ``model`` for a backdoor on clean ``data`` (and ``train``, its training set).

    Parameters
    ----------
    model
        A trustbench Model (``load_model``), an ``nn.Module`` or anything with
        ``predict_proba``.
    data, train
        :class:`~trustbench.data.Dataset` objects (``x``, ``y``): clean held-out data, and
        the data the model was trained on.
    model_path
        The model's file, for the inspection.
    layer, eps
        Representation layer (default: the penultimate); spectral signatures' bound on
        the poisoned share of a class.
    frr, strip_n
        STRIP's clean false-rejection rate and blends per input.
    nc_steps, nc_images
        Neural Cleanse's optimisation steps per class and clean images used.
    step
        Called with the name of each part as it starts (progress).
    """
    import torch

    from trustbench.security.backdoor import backdoor_card

    x = np.asarray(data.x)
    if len(x) < 40:
        raise InputError(f"--data has {len(x)} rows; STRIP and Neural Cleanse need at least 40 "
                         "clean held-out rows", fix="give a larger held-out set")
    say = step or (lambda _name: None)
    not_measured: list[str] = []
    findings = []
    if model_path is not None and Path(model_path).is_file():
        from trustbench.security.files.findings import inspection_finding
        from trustbench.security.files.inspect import inspect_file

        say("inspect")
        findings.append(inspection_finding(inspect_file(model_path)))
    order = np.random.default_rng(seed).permutation(len(x))
    hold, probe = order[: len(x) // 2], order[len(x) // 2:]
    from trustbench.security.detect.strip import STRIP

    say("STRIP")
    bounds = (float(np.min(x)), float(np.max(x)))
    strip = STRIP(model, n=strip_n, frr=frr, bounds=bounds, seed=seed).fit(x[hold])
    module = _torch_module(model)
    cleanse = None
    if module is not None and x.ndim == 4:
        from trustbench.security.detect.neural_cleanse import neural_cleanse

        say("Neural Cleanse")
        cleanse = neural_cleanse(model, x[hold][:nc_images], steps=nc_steps, bounds=bounds,
                                 seed=seed)
    else:
        not_measured.append("Neural Cleanse: it needs a PyTorch model on images (N, C, H, W)")
    spectral = clustering = None
    scripted = isinstance(module, torch.jit.ScriptModule)
    if train is not None and module is not None and not scripted:
        from trustbench.security.detect.activation_clustering import activation_clustering
        from trustbench.security.detect.spectral import spectral_signatures
        from trustbench.security.features import representations

        say("representations")
        feats = representations(model, np.asarray(train.x), layer=layer)
        say("spectral signatures")
        spectral = spectral_signatures(feats, np.asarray(train.y), eps=eps)
        say("activation clustering")
        clustering = activation_clustering(feats, np.asarray(train.y), seed=seed)
    elif train is None:
        not_measured.append("spectral signatures and activation clustering: pass --train, the "
                            "data the model was trained on")
    else:
        not_measured.append("spectral signatures and activation clustering: they need a "
                            "PyTorch model's representations (a TorchScript model runs no "
                            "Python hooks: pass its weights with --arch)")
    card = backdoor_card(spectral=spectral, clustering=clustering, strip=strip,
                         strip_inputs=x[probe], cleanse=cleanse)
    for f in card.findings:
        if f.id in ("security.backdoor.spectral", "security.backdoor.activation_clustering"):
            res = spectral if f.id.endswith("spectral") else clustering
            f.evidence["rows"] = np.flatnonzero(res.flagged).tolist()
    return Scorecard(findings + card.findings, provenance={"command": "secure", "seed": seed},
                     not_measured=not_measured)

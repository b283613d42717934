"""Out-of-distribution detection: does the model's confidence drop on inputs unlike its data.

Sets (all seeded by ``ScanConfig.seed``, as many points as evaluated, at most
:data:`MAX_OOD_POINTS`):

- far OOD: ``uniform_noise`` over the valid domain; ``gaussian_noise`` around the data's
  per-feature mean with its per-feature standard deviation (clipped to the domain); and a
  natural other data set -- ``natural_images`` (patches of scikit-learn's bundled
  ``china.jpg`` and ``flower.jpg``, downscaled, cropped and grayscaled to the input shape)
  for image data, ``permuted_features`` (each column of the evaluated data permuted
  independently: the marginals are kept, the joint distribution is broken) otherwise.
- near OOD: the shift check's inputs at the largest severity (``ShiftResults.shifted``).

``ood.detection`` is ``"warn"`` when the max-softmax AUROC on some far-OOD set is below
:data:`FAR_AUROC_WARN` = 0.7.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from trustbench import plotspec
from trustbench.checks.base import CheckContext
from trustbench.checks.calibration import class_scores, to_probabilities
from trustbench.checks.products import ShiftResults
from trustbench.domain import Domain
from trustbench.findings import Finding, Metric
from trustbench.metrics.ood import energy_score, fpr_at_tpr, max_softmax_score, ood_auroc
from trustbench.nist import Tags

__all__ = ["FAR_AUROC_WARN", "MAX_OOD_POINTS", "OOD", "far_ood_sets", "natural_image_patches",
           "ood_detection"]

#: Far-OOD AUROC of the max-softmax score below which ``ood.detection`` warns.
FAR_AUROC_WARN = 0.7
#: At most this many points per OOD set.
MAX_OOD_POINTS = 2000

# Knowing the limits of where the model generalises (MEASURE 2.5) and whether it can flag
# inputs it should not answer, i.e. fail safely (MEASURE 2.6), in deployment-like
# conditions (MEASURE 2.3).
OOD = Tags(("valid and reliable", "safe"), ("MEASURE 2.5", "MEASURE 2.6", "MEASURE 2.3"))

_LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R BT.601 grayscale weights


@lru_cache(maxsize=1)
def _sample_images() -> torch.Tensor:
    from sklearn.datasets import load_sample_images  # bundled with scikit-learn: no download

    imgs = np.stack(load_sample_images().images)  # (2, 427, 640, 3) uint8
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0  # (2, 3, 427, 640)


def natural_image_patches(shape: tuple[int, ...], n_samples: int, *,
                          seed: int = 0) -> np.ndarray:
    """(n_samples, *shape) float32 patches of natural photographs in [0, 1].

    ``shape`` is one example's ``(C, H, W)`` or ``(H, W)``; 3 channels stay RGB, any other
    number gets the grayscale image in every channel. The two photographs are downscaled
    (antialiased) so their short side is 1 to 8 patch heights, then cropped at random.
    """
    if len(shape) not in (2, 3):
        raise ValueError(f"image shape must be (C, H, W) or (H, W), got {shape}")
    c, h, w = (1, *shape) if len(shape) == 2 else shape
    rng = np.random.default_rng(seed)
    imgs = _sample_images()  # (2, 3, H0, W0)
    if c != 3:
        imgs = (imgs * _LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True).expand(-1, c, -1, -1)
    h0, w0 = imgs.shape[2:]
    f_min = max(h / h0, w / w0)
    scales = sorted({min(max(f_min * k, f_min), max(1.0, f_min)) for k in (1, 1.5, 2, 3, 4, 6, 8)})
    level = rng.integers(0, len(scales), size=n_samples)
    out = torch.empty((n_samples, c, h, w))
    for i, f in enumerate(scales):
        pick = np.flatnonzero(level == i)
        if not len(pick):
            continue
        size = (max(h, round(h0 * f)), max(w, round(w0 * f)))
        img = F.interpolate(imgs, size=size, mode="bilinear", antialias=True,
                            align_corners=False).clamp(0, 1)  # (2, C, h_f, w_f)
        m = len(pick)
        which = torch.from_numpy(rng.integers(0, 2, size=m))
        top = torch.from_numpy(rng.integers(0, size[0] - h + 1, size=m))
        left = torch.from_numpy(rng.integers(0, size[1] - w + 1, size=m))
        rows = (top[:, None] + torch.arange(h))[:, None, :, None]  # (m, 1, H, 1)
        cols = (left[:, None] + torch.arange(w))[:, None, None, :]  # (m, 1, 1, W)
        out[torch.from_numpy(pick)] = img[which[:, None, None, None],
                                          torch.arange(c)[None, :, None, None], rows, cols]
    out = out if len(shape) == 3 else out[:, 0]
    return out.numpy().astype(np.float32)


def _bounds(domain: Domain, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (example-shaped) finite bounds: the domain's, else the data's range."""
    shape = x.shape[1:]
    lo = np.broadcast_to(torch.as_tensor(domain.lower).numpy(), shape).astype(np.float64)
    hi = np.broadcast_to(torch.as_tensor(domain.upper).numpy(), shape).astype(np.float64)
    lo = np.where(np.isfinite(lo), lo, x.min(0))
    hi = np.where(np.isfinite(hi), hi, x.max(0))
    return lo, hi


def _respect_features(x_ood: np.ndarray, x: np.ndarray, domain: Domain, lo: np.ndarray,
                      hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Put integer features on their grid and draw the others from the data's own values.

    Immutable and categorical features are drawn from the data's own values, so a
    model's encoders never see impossible categories.
    """
    if domain.integer is not None:
        integer = np.broadcast_to(domain.integer.numpy().astype(bool), x.shape[1:])
        step = (np.ones(integer.shape) if domain.integer_step is None
                else np.broadcast_to(domain.integer_step.numpy().astype(np.float64), integer.shape))
        step = np.where(step > 0, step, 1.0)
        anchor = x.min(0)  # a data value lies on the integer grid; the bounds may not
        first = anchor + np.ceil((lo - anchor) / step - 1e-9) * step  # grid points in bounds
        last = anchor + np.floor((hi - anchor) / step + 1e-9) * step
        snapped = np.clip(anchor + np.round((x_ood - anchor) / step) * step, first, last)
        x_ood = np.where(integer, snapped, x_ood)
    if domain.mutable is not None:
        fixed = ~domain.mutable.numpy().astype(bool)
        if fixed.any():
            flat = x.reshape(len(x), -1)
            idx = rng.integers(0, len(x), size=(len(x_ood), flat.shape[1]))  # (n, F)
            drawn = flat[idx, np.arange(flat.shape[1])].reshape(x_ood.shape)
            x_ood = np.where(fixed, drawn, x_ood)
    return x_ood


def far_ood_sets(x: np.ndarray, domain: Domain, *, image: bool, n_samples: int,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Return the far-OOD sets for in-distribution inputs ``x`` (N, ...).

    ``uniform_noise``, ``gaussian_noise`` and ``natural_images`` (``image=True``) or
    ``permuted_features``, each (n_samples, ...) float32 inside ``domain``.
    """
    rng = np.random.default_rng([seed, 0x00D])
    x = np.asarray(x, dtype=np.float64)
    lo, hi = _bounds(domain, x)
    shape = (n_samples, *x.shape[1:])
    uniform = rng.uniform(size=shape) * (hi - lo) + lo
    gauss = np.clip(x.mean(0) + x.std(0) * rng.standard_normal(shape), lo, hi)
    sets = {"uniform_noise": _respect_features(uniform, x, domain, lo, hi, rng),
            "gaussian_noise": _respect_features(gauss, x, domain, lo, hi, rng)}
    if image:
        patches = natural_image_patches(x.shape[1:], n_samples, seed=int(rng.integers(2**31)))
        sets["natural_images"] = lo + patches * (hi - lo)
    else:
        rows = x[rng.choice(len(x), size=n_samples, replace=n_samples > len(x))]
        sets["permuted_features"] = rng.permuted(rows.reshape(n_samples, -1), axis=0).reshape(
            shape)  # each column shuffled on its own
    return {k: v.astype(np.float32) for k, v in sets.items()}


def _detector_scores(ctx: CheckContext, x: torch.Tensor) -> dict[str, np.ndarray]:
    s, inputs = class_scores(ctx.model, x)
    out = {"msp": max_softmax_score(to_probabilities(s, inputs))}
    if inputs == "logits":
        out["energy"] = energy_score(s)
    return out


def _subsample(x: Any, n: int, rng: np.random.Generator) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)
    if len(x) > n:
        x = x[torch.from_numpy(np.sort(rng.choice(len(x), size=n, replace=False)))]
    return x


def ood_detection(ctx: CheckContext, shifts: ShiftResults | None = None) -> list[Finding]:
    """Measure how well the model's confidence separates its data from OOD sets.

    AUROC and FPR at 95% TPR of each detector (max-softmax; energy when the model gives
    logits) on each far- and near-OOD set, as one ``ood.detection`` finding.

    ``shifts`` is the shift step's product: its ``shifted`` inputs (``{shift name: x at the
    largest severity}``, in the units of ``ctx.x``) are the near-OOD sets.
    """
    n = min(len(ctx.y), MAX_OOD_POINTS)
    x = ctx.x.numpy()
    image = (ctx.dataset.schema.modality == "image") if ctx.dataset is not None else x.ndim >= 3
    sets: dict[str, tuple[str, torch.Tensor]] = {
        name: ("far", torch.from_numpy(v))
        for name, v in far_ood_sets(x, ctx.domain, image=image, n_samples=n,
                                    seed=ctx.config.seed).items()}
    shifted = dict(shifts.shifted) if shifts is not None else {}
    rng = np.random.default_rng([ctx.config.seed, 0x5A1F])
    for name, xs in shifted.items():
        sets[f"shift:{name}"] = ("near", _subsample(xs, n, rng))
    scores_in = _detector_scores(ctx, ctx.x)
    rows: list[dict[str, Any]] = []
    metrics: dict[str, Metric] = {}
    for set_name, (kind, xs) in sets.items():
        for det, s_out in _detector_scores(ctx, xs).items():
            auroc = ood_auroc(scores_in[det], s_out)
            fpr = fpr_at_tpr(scores_in[det], s_out)
            rows.append({"set": set_name, "kind": kind, "detector": det, "auroc": auroc,
                         "fpr_at_95_tpr": fpr, "n_out": len(s_out)})
            metrics[f"auroc.{det}.{set_name}"] = Metric(auroc, unit="fraction")
            metrics[f"fpr95.{det}.{set_name}"] = Metric(fpr, unit="fraction")
    far_msp = [r for r in rows if r["kind"] == "far" and r["detector"] == "msp"]
    hardest = min(far_msp, key=lambda r: r["auroc"])
    metrics = {"min_far_auroc_msp": Metric(hardest["auroc"], unit="fraction")} | metrics
    warn = hardest["auroc"] < FAR_AUROC_WARN
    notes = []
    if "energy" not in scores_in:
        notes.append("Energy score not measured: the model returns probabilities only, and "
                     "the energy of log-probabilities is 0 for every input.")
    if not shifted:
        notes.append("No near-OOD sets: the shift check did not provide shifted inputs.")
    labels = [f"{r['set']} ({r['detector']})" for r in rows]
    return [Finding(
        id="ood.detection",
        title=f"OOD detection: max-softmax AUROC {hardest['auroc']:.2f} on the hardest far-OOD "
        f"set ({hardest['set']}), FPR@95%TPR {hardest['fpr_at_95_tpr']:.0%}",
        severity="warn" if warn else "info",
        metrics=metrics,
        tags=OOD,
        detail=(f"Max-softmax AUROC below {FAR_AUROC_WARN:g} on {hardest['set']}: the model is "
                "nearly as confident on these inputs as on its own data (below 0.5: more "
                "confident), so its confidence cannot flag them; add an OOD detector or input "
                "validation. " if warn else "")
        + "AUROC: chance that an in-distribution input scores higher than an OOD one (1 is "
        "perfect, 0.5 chance). FPR@95%TPR: share of OOD inputs accepted at the threshold that "
        "keeps 95% of in-distribution inputs. In-distribution is the positive class. "
        + " ".join(notes),
        evidence={"rows": rows, "n_in": len(ctx.y), "n_out": n, "seed": ctx.config.seed,
                  "detectors": list(scores_in), "auroc_warn_threshold": FAR_AUROC_WARN,
                  "natural_set": "natural_images" if image else "permuted_features",
                  "notes": notes,
                  "plots": [plotspec.bars("OOD detection AUROC", labels,
                                          [r["auroc"] for r in rows], value_label="AUROC",
                                          reference=0.5, reference_label="chance"),
                            plotspec.bars("OOD detection FPR at 95% TPR", labels,
                                          [r["fpr_at_95_tpr"] for r in rows],
                                          value_label="FPR@95%TPR")]},
    )]

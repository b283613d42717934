"""Compression trade-off report: what distillation and int8 quantization cost.

The costs are in size, latency, accuracy, robustness and calibration, one variant per column
of one Scorecard.

Robust accuracy of the int8 variant is measured three ways and a point counts as robust
only if all fail: the white-box attacks with the float model's gradients (transfer, every
success re-checked on the int8 model), the float model's own adversarial examples replayed
on the int8 model, and the black-box Square attack querying the int8 model directly.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trustbench import plotspec
from trustbench._version import __version__
from trustbench.attacks.registry import attack_class, check_attack_params, get_attack
from trustbench.data.dataset import Dataset
from trustbench.domain import Norm
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.harden.distill import default_student, distill
from trustbench.harden.measure import latency_per_example, save_float, save_int8
from trustbench.harden.quantize import QuantizedModel, prediction_agreement, quantize_int8
from trustbench.metrics import wilson_interval
from trustbench.metrics.calibration import expected_calibration_error
from trustbench.models.base import Model
from trustbench.models.torch import TorchModel
from trustbench.nist import Tags
from trustbench.scorecard import Scorecard

__all__ = ["VARIANTS", "Variant", "compress_report"]

log = logging.getLogger(__name__)

VARIANTS = ("original", "distilled", "int8")
TRADEOFF_TAGS = Tags(("valid and reliable", "secure and resilient"),
                     ("MEASURE 2.3", "MEASURE 2.7", "MEASURE 2.6"))


@dataclass
class Variant:
    """One model of the comparison and the file it was saved to."""

    name: str
    model: Model
    path: Path
    notes: list[str] = field(default_factory=list)
    arch: str | None = None
    arch_kwargs: dict[str, Any] | None = None


def compress_report(
    module: nn.Module,
    train: Dataset,
    test: Dataset,
    *,
    out_dir: str | os.PathLike[str],
    eps: float = 0.1,
    norm: Norm = "linf",
    attacks: Sequence[str] = ("standard",),
    attack_params: dict[str, dict[str, Any]] | None = None,
    n: int | None = None,
    variants: Sequence[str] = VARIANTS,
    student: nn.Module | None = None,
    student_arch: tuple[str, dict[str, Any]] | None = None,
    distill_method: str = "rslad",
    distill_epochs: int = 10,
    quantize_mode: str = "auto",
    n_calibration: int = 256,
    repeats: int = 20,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Scorecard:
    """Build the variants, measure each, and return a Scorecard of the trade-off.

    Parameters
    ----------
    module
        The float model (``nn.Module`` returning logits on raw inputs).
    train
        Training data: distillation and the int8 calibration sample.
    test
        Evaluation data (``n`` rows of it, seeded, if ``n`` is given).
    out_dir
        Each variant is saved under ``out_dir/variants/`` (its size is that file's).
    attacks
        Registered attack names for robust accuracy; ``square`` is added when neither it nor
        ``standard`` (which contains it) is listed, so every variant also faces a black-box
        attack.
    attack_params
        Extra parameters per attack name, e.g. ``{"square": {"n_queries": 100}}``.
    variants
        Any of ``original``, ``distilled``, ``int8``.
    student, student_arch
        The distillation student (default: :func:`~trustbench.harden.distill.default_student`)
        and its ``(package.module:Class, kwargs)`` reference, recorded in the evidence.
    progress
        Called with a short description as each step starts.

    Returns a Scorecard with one ``compress.<variant>`` finding per variant and a
    ``compress.tradeoff`` finding holding the table and the Pareto plots.
    """
    from trustbench.checks.base import ScanConfig
    from trustbench.scan import prepare

    t0 = time.perf_counter()
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or "original" not in variants:
        raise InputError(f"variants must include 'original' and be among {VARIANTS}, got "
                         f"{list(variants)}")
    names = list(attacks)
    for name in names:
        attack_class(name)
    if "square" not in names and "standard" not in names:
        names.append("square")
    params = check_attack_params(attack_params)  # the scan's check: types, ranges, names
    out = Path(out_dir)
    say = progress or (lambda s: None)
    module = module.eval()
    base = TorchModel(module)
    base, ds, ctx = prepare(base, test, ScanConfig(eps=[eps], norm=norm, n=n, seed=seed))
    built = [Variant("original", base, save_float(module, out / "variants" / "original.safetensors"))]
    if "distilled" in variants:
        say(f"distilling ({distill_method}, {distill_epochs} epochs)")
        ref: tuple[str, dict[str, Any]] | None = student_arch
        if student is None:
            student, arch, kwargs = default_student(module)
            ref = (arch, kwargs)
        student = distill(module, train, student=student, method=distill_method,  # type: ignore[arg-type]
                          eps=eps, norm=norm, epochs=distill_epochs, seed=seed)
        built.append(Variant("distilled", TorchModel(student),
                             save_float(student, out / "variants" / "distilled.safetensors"),
                             [f"{distill_method} distillation, {distill_epochs} epochs"],
                             *(ref or (None, None))))
    if "int8" in variants:
        say("quantizing to int8")
        calib = torch.from_numpy(train.sample(n_calibration, seed=seed).x)
        q = quantize_int8(module, calib, mode=quantize_mode)  # type: ignore[arg-type]
        qm = QuantizedModel(q, module)
        notes = [f"{q.mode} int8 quantization, {q.engine} engine", *q.notes,
                 "robust accuracy: white-box attacks use the float model's gradients (transfer), "
                 "the float model's adversarial examples are replayed, and Square queries the "
                 "int8 model directly"]
        built.append(Variant("int8", qm, save_int8(q.module, out / "variants" / "int8.pt"),
                             notes))
    x, y = ctx.x, ctx.y
    x_raw = torch.from_numpy(ds.x)
    fooled_float: dict[str, torch.Tensor] = {}
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for v in built:
        say(f"measuring {v.name}")
        attacked = ctx.model if v.name == "original" else _like(ctx.model, v.model, x)
        pred = attacked.scores(x).argmax(1)
        fooled = pred != y
        for name in names:
            res = get_attack(name, **(params.get(name, {})
                                      | {"eps": eps, "norm": norm, "seed": seed})).run(
                attacked, x, y, domain=ctx.domain, clean_pred=pred)
            fooled |= res.fooled
            if v.name == "original":
                fooled_float[name] = res.x_adv
            elif v.name == "int8" and name in fooled_float:  # replay the float model's
                fooled |= attacked.scores(fooled_float[name]).argmax(1) != y
        probs = torch.softmax(attacked.scores(x), 1).numpy()
        clean = float((pred == y).float().mean())
        robust = float((~fooled).float().mean())
        k_clean, k_rob, m = int((pred == y).sum()), int((~fooled).sum()), len(y)
        row = {"variant": v.name, "size_bytes": v.path.stat().st_size,
               "latency_ms_batch1": 1e3 * latency_per_example(v.model, x_raw, batch_size=1,
                                                              repeats=repeats),
               "latency_ms_batch64": 1e3 * latency_per_example(v.model, x_raw, batch_size=64,
                                                               repeats=max(3, repeats // 4)),
               "clean_accuracy": clean, "robust_accuracy": robust,
               "ece": expected_calibration_error(y.numpy(), probs)}
        metrics = {
            "size_bytes": Metric(row["size_bytes"], unit="bytes"),
            "latency_ms_batch1": Metric(row["latency_ms_batch1"], unit="ms per example"),
            "latency_ms_batch64": Metric(row["latency_ms_batch64"], unit="ms per example"),
            "clean_accuracy": Metric(clean, wilson_interval(k_clean, m), "fraction"),
            "robust_accuracy": Metric(robust, wilson_interval(k_rob, m), "fraction"),
            "ece": Metric(row["ece"], unit="fraction"),
        }
        severity = "info"
        detail = "; ".join(v.notes)
        if v.name == "int8":
            agree = prediction_agreement(ctx.model, attacked, x)
            row["agreement_with_float"] = agree
            metrics["agreement_with_float"] = Metric(agree, wilson_interval(
                round(agree * m), m), "fraction")
            drop = rows[0]["clean_accuracy"] - clean
            if robust > rows[0]["robust_accuracy"]:
                detail += ("; its robust accuracy is above the float model's: the transfer "
                           "attack is weaker than a white-box one, so read this as an upper "
                           "bound, not as robustness gained by quantizing")
            if agree < 0.98 or drop > 0.01:
                severity = "warn"
                detail += (f"; int8 predictions agree with float on {agree:.1%} of points and "
                           f"clean accuracy changes by {-drop:+.1%}: check the calibration data")
        rows.append(row)
        findings.append(Finding(
            f"compress.{v.name}",
            f"{v.name}: {row['size_bytes'] / 1024:.0f} KiB, clean {clean:.1%}, robust {robust:.1%} "
            f"at {norm} eps={eps:g}", severity, metrics, TRADEOFF_TAGS, detail,
            {"file": str(v.path), "attacks": names, "eps": eps, "norm": norm,
             "eps_units": ctx.units, "n": m, "arch": v.arch, "arch_kwargs": v.arch_kwargs,
             "model": v.model.description}))
    findings.append(_tradeoff(rows, eps, norm))
    provenance = {
        "model": {"description": base.description, "fingerprint": base.fingerprint(),
                  "n_classes": base.n_classes},
        "data": {"name": ds.name, "fingerprint": ds.fingerprint(), "n": len(ds),
                 "n_source": len(test), "schema": ds.schema.to_dict(), "notes": ds.notes},
        "config": {"eps": [eps], "norm": norm, "eps_units": ctx.units, "attacks": names,
                   "attack_params": params, "variants": list(variants),
                   "distill_method": distill_method, "distill_epochs": distill_epochs,
                   "quantize_mode": quantize_mode, "repeats": repeats, "n": n},
        "seed": seed,
        "versions": {"trustbench": __version__, "python": platform.python_version(),
                     "torch": torch.__version__, "numpy": np.__version__,
                     "platform": platform.platform()},
        "timings_seconds": {"total": round(time.perf_counter() - t0, 3)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nist_ai_rmf": "findings are tagged as evidence toward AI RMF 1.0 subcategories; "
        "no compliance is claimed",
    }
    return Scorecard(findings, provenance, [
        "latency on this machine's CPU only (other hardware and int8 kernels differ)"])


def _like(attack_model: Model, model: Model, x: torch.Tensor) -> Model:
    """``model`` seen the way the scan sees the original (range-scaled for tabular data)."""
    from trustbench.models.rescaled import RangeScaled
    from trustbench.models.watched import Watched

    if isinstance(attack_model, Watched):  # the scan's watch over the model it prepared
        attack_model = attack_model.inner
    if isinstance(attack_model, RangeScaled):
        model = RangeScaled(model, attack_model.lower.numpy(), attack_model.span.numpy())
    model.check_input(x)
    return model


def _pareto(rows: list[dict[str, Any]]) -> list[bool]:
    """Not dominated on (size, batch-1 latency) lower and (robust, clean accuracy) higher."""
    def key(r: dict[str, Any]) -> tuple[float, ...]:
        return (-r["size_bytes"], -r["latency_ms_batch1"], r["robust_accuracy"],
                r["clean_accuracy"])

    keys = [key(r) for r in rows]
    return [not any(all(o >= s for o, s in zip(other, mine, strict=True)) and other != mine
                    for other in keys) for mine in keys]


def _tradeoff(rows: list[dict[str, Any]], eps: float, norm: str) -> Finding:
    for r, p in zip(rows, _pareto(rows), strict=True):
        r["pareto_optimal"] = p
    columns = ["variant", "size_bytes", "latency_ms_batch1", "latency_ms_batch64",
               "clean_accuracy", "robust_accuracy", "ece", "agreement_with_float",
               "pareto_optimal"]
    table = {"columns": columns, "rows": [[r.get(c) for c in columns] for r in rows]}
    y_label = f"robust accuracy ({norm} eps={eps:g})"
    plots = [
        plotspec.lines("Robust accuracy against size on disk",
                       [{"label": r["variant"], "x": [r["size_bytes"] / 1024],
                         "y": [r["robust_accuracy"]]} for r in rows],
                       x_label="size on disk (KiB)", y_label=y_label, y_range=(0.0, 1.0)),
        plotspec.lines("Robust accuracy against CPU latency (batch of 1)",
                       [{"label": r["variant"], "x": [r["latency_ms_batch1"]],
                         "y": [r["robust_accuracy"]]} for r in rows],
                       x_label="latency per example, batch of 1 (ms)", y_label=y_label,
                       y_range=(0.0, 1.0)),
    ]
    metrics = {f"{r['variant']}.{k}": Metric(r[k], unit=u) for r in rows
               for k, u in (("clean_accuracy", "fraction"), ("robust_accuracy", "fraction"),
                            ("size_bytes", "bytes"), ("latency_ms_batch1", "ms per example"))}
    best = [r["variant"] for r in rows if r["pareto_optimal"]]
    return Finding(
        "compress.tradeoff",
        f"Compression trade-off over {len(rows)} variants; Pareto-optimal: {', '.join(best)}",
        "info", metrics, TRADEOFF_TAGS,
        "Each variant on the same evaluation points and attacks. Pareto-optimal: no other "
        "variant is at least as small, fast, robust and accurate and better in one of them.",
        {"table": table, "plots": plots})

"""Post-training int8 quantization, an agreement check, and a Model for attacking the result.

Static quantization (FX graph mode, calibrated on sample inputs) covers convolutions and
linear layers; dynamic quantization (``quantize_dynamic``) covers linear layers only and
needs no calibration. ``mode="auto"`` tries static and falls back to dynamic with a note.

Quantized modules have no gradients. :class:`QuantizedModel` therefore answers ``scores``
with the int8 model and ``logits`` with the float model it came from: white-box attacks on
it are *transfer* attacks (the float model's gradients), and every success is re-checked on
the int8 model. Black-box attacks (``square``) query the int8 model directly.

``torch.ao.quantization`` warns that it is deprecated in favour of ``torchao`` (torch 2.13
still ships it and it works); those known warnings are silenced locally here, and only here,
so that callers running with warnings as errors are not broken by them.
"""

from __future__ import annotations

import copy
import hashlib
import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from trustbench.errors import InputError
from trustbench.models.base import Capabilities, Model
from trustbench.models.torch import TorchModel

__all__ = ["QuantizationResult", "QuantizedModel", "prediction_agreement", "quantize_int8"]

log = logging.getLogger(__name__)

#: Backends to try, best first, among ``torch.backends.quantized.supported_engines``.
PREFERRED_ENGINES = ("x86", "fbgemm", "onednn", "qnnpack")

_KNOWN_WARNINGS = (
    (DeprecationWarning, r"torch\.ao\.quantization is deprecated"),
    (UserWarning, r"Please use quant_min and quant_max"),
    (UserWarning, r"torch\.quantize_per_tensor, torch\.quantize_per_channel"),
    (UserWarning, r".*quantized tensor creation functions.*deprecated"),
)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch.ao.quantization's known deprecation warnings, nothing else."""
    with warnings.catch_warnings():
        for category, message in _KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


@contextmanager
def _engine(name: str) -> Iterator[None]:
    old = torch.backends.quantized.engine
    if old != name:
        torch.backends.quantized.engine = name
    try:
        yield
    finally:
        if torch.backends.quantized.engine != old:
            torch.backends.quantized.engine = old


def pick_engine(engine: str | None = None) -> str:
    """``engine`` if supported, else the best supported CPU backend; InputError if none."""
    supported = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    if engine is not None:
        if engine not in supported:
            raise InputError(f"quantization engine {engine!r} is not supported by this torch "
                             f"build", fix=f"use one of {', '.join(supported)}")
        return engine
    for e in PREFERRED_ENGINES:
        if e in supported:
            return e
    raise InputError("this torch build supports no quantized CPU engine",
                     fix="install a torch build with fbgemm/x86 or qnnpack")


@dataclass
class QuantizationResult:
    """An int8 module and how it was made.

    Attributes
    ----------
    module
        The quantized module (CPU; float inputs and outputs).
    mode
        ``"static"`` or ``"dynamic"``.
    engine
        The quantized backend it was prepared for and runs with.
    notes
        What a reader should know (fallbacks, what was not quantized).
    """

    module: nn.Module
    mode: str
    engine: str
    notes: list[str] = field(default_factory=list)


def quantize_int8(
    module: nn.Module,
    calibration_x: torch.Tensor | np.ndarray | None = None,
    *,
    mode: Literal["auto", "static", "dynamic"] = "auto",
    engine: str | None = None,
) -> QuantizationResult:
    """Post-training int8 quantization of a float ``module`` (which is not modified).

    Parameters
    ----------
    module
        Float ``nn.Module`` (or a TorchModel's module, without its normalisation: fold
        ``mean``/``std`` into the module first).
    calibration_x
        (N, ...) representative inputs for static quantization's observers (a few hundred
        training rows).
    mode
        ``"static"`` (FX graph mode: convolutions and linear layers, calibrated),
        ``"dynamic"`` (linear layers only) or ``"auto"`` (static, else dynamic with a note).
    engine
        Quantized backend; the best of ``torch.backends.quantized.supported_engines``.

    References
    ----------
    Jacob et al., "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference", CVPR 2018.
    """
    if isinstance(module, TorchModel):
        if module.mean is not None or module.std is not None or module.preprocess is not None:
            raise InputError("quantize_int8: the TorchModel normalises its inputs outside the "
                             "module", fix="put the normalisation inside the nn.Module")
        module = module.module
    if mode not in ("auto", "static", "dynamic"):
        raise InputError(f"mode must be 'auto', 'static' or 'dynamic', got {mode!r}")
    eng = pick_engine(engine)
    float_module = copy.deepcopy(module).cpu().eval()
    notes: list[str] = []
    if mode in ("auto", "static"):
        if calibration_x is None:
            if mode == "static":
                raise InputError("static quantization needs calibration_x (sample inputs)")
            notes.append("no calibration data: dynamic quantization (linear layers only)")
        else:
            x = torch.as_tensor(np.asarray(calibration_x) if not torch.is_tensor(calibration_x)
                                else calibration_x, dtype=torch.float32)
            try:
                q = _static(float_module, x, eng)
                return QuantizationResult(q, "static", eng, notes)
            except Exception as e:  # FX cannot trace every module: say so and fall back
                if mode == "static":
                    raise InputError(f"static quantization failed ({type(e).__name__}: "
                                     f"{str(e).splitlines()[0][:200]})",
                                     fix="use mode='dynamic'") from None
                notes.append(f"static quantization failed ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:120]}); fell back to dynamic "
                             "quantization of linear layers only")
                log.warning(notes[-1])
    with _quiet(), _engine(eng):
        from torch.ao.quantization import quantize_dynamic

        q = quantize_dynamic(float_module, {nn.Linear}, dtype=torch.qint8)
    if not any(isinstance(m, nn.Linear) for m in float_module.modules()):
        notes.append("the module has no linear layers: dynamic quantization changed nothing")
    elif any(isinstance(m, nn.modules.conv._ConvNd) for m in float_module.modules()):
        notes.append("convolutions stay float32 under dynamic quantization")
    return QuantizationResult(q, "dynamic", eng, notes)


def _static(module: nn.Module, x: torch.Tensor, engine: str) -> nn.Module:
    with _quiet(), _engine(engine):
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        prepared = prepare_fx(module, get_default_qconfig_mapping(engine), (x[:1],))
        with torch.no_grad():
            for i in range(0, len(x), 256):
                prepared(x[i : i + 256])
        return convert_fx(prepared)


def prediction_agreement(reference: nn.Module | Model, other: nn.Module | Model,
                         x: torch.Tensor | np.ndarray) -> float:
    """Fraction of the rows of ``x`` on which both models predict the same top-1 class."""
    xt = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)
    a = _predict(reference, xt)
    b = _predict(other, xt)
    return float((a == b).float().mean()) if len(xt) else float("nan")


def _predict(m: nn.Module | Model, x: torch.Tensor) -> torch.Tensor:
    if isinstance(m, Model):
        return m.scores(x).argmax(1)
    return TorchModel(m).scores(x).argmax(1)


class QuantizedModel(Model):
    """An int8 module seen by trustbench.

    Outputs come from the int8 model, gradients from the float model it was quantized from
    (attacks that need gradients become transfer attacks; their successes are re-checked on
    the int8 model by the attack base class).

    Parameters
    ----------
    quantized
        A :class:`QuantizationResult` (or a quantized module, with ``engine``).
    float_module
        The float module it came from.
    """

    capabilities = Capabilities(differentiable=True, outputs="logits")

    def __init__(self, quantized: QuantizationResult | nn.Module, float_module: nn.Module, *,
                 engine: str | None = None, batch_size: int = 512) -> None:
        super().__init__()
        if isinstance(quantized, QuantizationResult):
            self.module, self.mode, self.engine = quantized.module, quantized.mode, quantized.engine
        else:
            self.module, self.mode, self.engine = quantized, "int8", pick_engine(engine)
        self.float_model = TorchModel(float_module)
        self.batch_size = batch_size

    @property
    def description(self) -> str:
        """The model in a few words: its int8 mode and the float module that gives gradients."""
        return (f"QuantizedModel(int8 {self.mode}, gradients from float "
                f"{type(self.float_model.module).__name__})")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the *float* model's differentiable logits (the int8 model has no gradients)."""
        return self.float_model.logits(x)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) scores of the int8 model, in batches of ``batch_size``, without gradients."""
        out = []
        with torch.inference_mode(), _engine(self.engine), _quiet():
            for i in range(0, len(x), self.batch_size):
                out.append(self.module(x[i : i + self.batch_size].float()).float())
        if not out:
            return torch.zeros((0, self._n_classes or 0))
        return torch.cat(out)

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        return self.scores(torch.from_numpy(x)).numpy()

    def fingerprint(self) -> str:
        """Return the SHA-256 of the int8 module's saved state_dict."""
        buf = io.BytesIO()
        with _quiet():
            torch.save(self.module.state_dict(), buf)
        return "sha256:" + hashlib.sha256(buf.getvalue()).hexdigest()

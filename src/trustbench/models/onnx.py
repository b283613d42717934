"""ONNX adapter through onnxruntime (optional extra ``trustbench[onnx]``); black-box.

External data (tensors kept in other files) must stay inside the model's folder: that is
checked before onnxruntime opens anything, and the fingerprint covers those files too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from trustbench.errors import InputError
from trustbench.extras import require_extra
from trustbench.models._onnx_external import external_data_files
from trustbench.models.base import Capabilities, Model

__all__ = ["OnnxModel"]


class OnnxModel(Model):
    """Run an ``.onnx`` classifier with onnxruntime on the CPU.

    The output used is the first float tensor of shape (N, C). If its rows are not
    probabilities already (non-negative, summing to 1) a softmax is applied.

    Parameters
    ----------
    path
        The ``.onnx`` file. Its external-data files, if any, must be inside its folder.
    """

    capabilities = Capabilities(differentiable=False, outputs="probabilities")

    def __init__(self, path: str | Path, *, batch_size: int = 1024) -> None:
        ort = require_extra("onnxruntime", "onnx", what="loading an .onnx model")
        super().__init__()
        self.path = Path(path)
        self.external_data = external_data_files(self.path)  # refuses paths out of the folder
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:
            raise InputError(f"{self.path}: onnxruntime cannot load it ({str(e)[:200]})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.batch_size = batch_size
        self._output_index: int | None = None
        self._needs_softmax: bool | None = None

    @property
    def description(self) -> str:
        """``OnnxModel(<file name>)``."""
        return f"OnnxModel({self.path.name})"

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        outs = self.session.run(None, {self.input_name: x.astype(np.float32, copy=False)})
        if self._output_index is None:
            for i, o in enumerate(outs):
                a = np.asarray(o) if not isinstance(o, list) else None
                if a is not None and a.ndim == 2 and a.dtype.kind == "f" and len(a) == len(x):
                    self._output_index = i
                    break
            else:
                raise InputError(
                    f"{self.path}: no output is a float array of shape (n_inputs, n_classes)",
                    fix="export the model with class scores as an output (for skl2onnx: "
                    "options={'zipmap': False})",
                )
        p = np.asarray(outs[self._output_index], dtype=np.float32)
        if self._needs_softmax is None:  # decided once, so every batch is treated alike
            self._needs_softmax = not (p.min() >= 0 and np.allclose(p.sum(1), 1, atol=1e-3))
        if self._needs_softmax:
            p = p - p.max(1, keepdims=True)
            p = np.exp(p)
            p /= p.sum(1, keepdims=True)
        return p

    def fingerprint(self) -> str:
        """SHA-256 of the ``.onnx`` file, then of each external-data file (name and bytes)."""
        h = hashlib.sha256(self.path.read_bytes())
        folder = self.path.parent.resolve()
        for f in self.external_data:
            h.update(b"\0" + f.relative_to(folder).as_posix().encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        return "sha256:" + h.hexdigest()

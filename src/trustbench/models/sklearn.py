"""scikit-learn adapter: estimators and Pipelines with ``predict_proba`` (black-box)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.models.base import Capabilities, Model

__all__ = ["SklearnModel", "fitted_columns"]


def fitted_columns(estimator: Any) -> list[str] | None:
    """Return the column names ``estimator`` was fitted on, as text.

    These are scikit-learn's ``feature_names_in_``, or ``None`` when it was fitted on an
    array (or is no estimator).
    """
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(c) for c in names]


class SklearnModel(Model):
    """Wrap a fitted scikit-learn classifier (or Pipeline) that has ``predict_proba``.

    Parameters
    ----------
    estimator
        Fitted; its ``classes_`` give the label of each probability column.
    to_input
        Optional function from the float array the attacks see to what the estimator
        takes (e.g. a DataFrame with the original column names and categories). The
        loaders set it from the data's schema when the estimator was fitted on a frame.
    """

    capabilities = Capabilities(differentiable=False, outputs="probabilities")

    def __init__(
        self,
        estimator: Any,
        *,
        to_input: Callable[[np.ndarray], Any] | None = None,
        batch_size: int = 4096,
    ) -> None:
        if not hasattr(estimator, "predict_proba"):
            raise InputError(
                f"{type(estimator).__name__} has no predict_proba",
                fix="use a probabilistic classifier, or wrap it, e.g. "
                "CalibratedClassifierCV(estimator)",
            )
        classes = getattr(estimator, "classes_", None)
        if classes is None:
            raise InputError(
                f"{type(estimator).__name__} is not fitted (it has no classes_)",
                fix="fit the estimator before scanning it",
            )
        super().__init__(n_classes=len(classes))
        self.estimator = estimator
        self.classes = np.asarray(classes)
        self.to_input = to_input
        self.batch_size = batch_size

    @property
    def description(self) -> str:
        """``SklearnModel(<the estimator's class name>)``."""
        return f"SklearnModel({type(self.estimator).__name__})"

    def _scores_numpy(self, x: np.ndarray) -> np.ndarray:
        x2 = x.reshape(len(x), -1)
        inp = self.to_input(x2) if self.to_input is not None else x2
        return np.asarray(self.estimator.predict_proba(inp), dtype=np.float32)

    def fingerprint(self) -> str:
        """Return a joblib hash of the fitted estimator; see :meth:`Model.fingerprint`."""
        import pickle

        import joblib

        # A pickle round trip normalises array memory layouts (fit can leave broadcast
        # strides that a saved copy does not have), so equal weights hash equally.
        return "joblib:" + joblib.hash(pickle.loads(pickle.dumps(self.estimator)))

"""Security: what a model file would run before anything loads it, and backdoors.

* :func:`inspect_file` / :func:`inspect_path` — read pickle-based and other model files
  without loading them: every import a pickle makes and how it is used, judged by an
  allow-list (:mod:`trustbench.security.files`).
* :func:`inspection_card` — the reports as Findings in a Scorecard.
* Poisoning and backdoors: :mod:`.poison` (simulation), :mod:`.detect` (spectral
  signatures, activation clustering, STRIP, Neural Cleanse), :mod:`.mitigate`,
  :mod:`.simulate` (the whole cycle against a known truth) and :mod:`.secure` (what
  ``trustbench secure`` runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package

if TYPE_CHECKING:
    from trustbench.security.files.findings import inspection_card
    from trustbench.security.files.inspect import FileReport, inspect_file, inspect_path

_EXPORTS = {
    "FileReport": "trustbench.security.files.inspect",
    "inspect_file": "trustbench.security.files.inspect",
    "inspect_path": "trustbench.security.files.inspect",
    "inspection_card": "trustbench.security.files.findings",
}
__all__ = ["FileReport", "inspect_file", "inspect_path", "inspection_card"]

_lazy_package(__name__, _EXPORTS)

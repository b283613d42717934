"""``transformers``, the ``[align]`` extra, imported where it is needed and nowhere else."""

from __future__ import annotations

from types import ModuleType

from trustbench.extras import require_extra

__all__ = ["transformers"]


def transformers(what: str = "trustbench align") -> ModuleType:
    """Return the ``transformers`` module, or raise the InputError naming ``trustbench[align]``."""
    module = require_extra("transformers", "align", what=what)
    module.logging.set_verbosity_error()  # its config warnings are not the user's business
    module.logging.disable_progress_bar()  # trustbench draws its own progress
    return module

"""Run the docstring examples under ``src/trustbench`` as doctests (it is a testpath).

Not ``--doctest-modules``: that would import every file of ``tests/`` as a plain module
too, and its several ``conftest.py`` then clash by name. This hook collects doctests from
the package's modules only; pytest collects no ``test_*`` functions there, as no file in
``src/`` matches ``python_files``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_PACKAGE = Path(__file__).parent / "src" / "trustbench"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if (file_path.suffix != ".py" or not file_path.is_relative_to(_PACKAGE)
            or "migrations" in file_path.relative_to(_PACKAGE).parts  # Alembic runs those
            or parent.config.option.doctestmodules):  # --doctest-modules collects them itself
        return None
    doctest = parent.config.pluginmanager.getplugin("doctest")
    return doctest.DoctestModule.from_parent(parent, path=file_path)

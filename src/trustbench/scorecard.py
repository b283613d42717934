"""Scorecard: the findings of one run plus its provenance. JSON is its canonical form."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustbench.errors import InputError, read_json
from trustbench.findings import Finding

__all__ = ["SCHEMA_VERSION", "Scorecard"]

#: Version of the JSON layout, documented in docs/scorecard.md. A reader accepts the same
#: major version; minor versions only add fields.
SCHEMA_VERSION = "1.0"


@dataclass
class Scorecard:
    """Everything one run found, and what it would take to reproduce it.

    Parameters
    ----------
    findings
        In the order the checks produced them.
    provenance
        Model and data fingerprints, config, seed, library versions, timings.
    not_measured
        What this run did not evaluate (AI RMF MEASURE 1.1 asks reports to say so).
    """

    findings: list[Finding] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    not_measured: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``"fail"``, ``"warn"`` or ``"pass"``: the worst severity among the findings."""
        severities = {f.severity for f in self.findings}
        if "fail" in severities:
            return "fail"
        return "warn" if "warn" in severities else "pass"

    def get(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": "trustbench",
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "not_measured": list(self.not_measured),
            "provenance": self.provenance,
        }

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically: a crash mid-write never leaves a truncated scorecard behind."""
        from trustbench._files import write_text_atomic

        text = json.dumps(self.to_dict(), indent=2, allow_nan=False, default=_jsonable) + "\n"
        return write_text_atomic(text, path, prefix="scorecard")

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "scorecard") -> Scorecard:
        version = str(d.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise InputError(
                f"{source}: schema_version {version or '(missing)'} is not readable by this "
                f"trustbench (reads {SCHEMA_VERSION.split('.')[0]}.x)",
                fix="re-create the scorecard with this version of trustbench",
            )
        try:
            return cls(
                findings=[Finding.from_dict(f) for f in d["findings"]],
                provenance=d.get("provenance", {}),
                not_measured=list(d.get("not_measured", [])),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{source}: malformed scorecard ({e})") from None

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Scorecard:
        return cls.from_dict(read_json(path, what="scorecard"), source=str(path))


def _jsonable(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")

"""NIST AI RMF 1.0 tags for findings.

trustbench never claims compliance with the AI RMF (NIST AI 100-1): it tags each finding
as *evidence toward* subcategories, stored as data so reports can group by them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CHARACTERISTICS", "FUNCTIONS", "Tags"]

FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")

CHARACTERISTICS = (
    "valid and reliable",
    "safe",
    "secure and resilient",
    "accountable and transparent",
    "explainable and interpretable",
    "privacy-enhanced",
    "fair with harmful bias managed",
)


@dataclass(frozen=True)
class Tags:
    """AI RMF characteristics and subcategories a finding is evidence toward.

    Parameters
    ----------
    characteristics
        Trustworthy characteristics, from :data:`CHARACTERISTICS`.
    subcategories
        Primary subcategory ids first, e.g. ``("MEASURE 2.7", "MEASURE 2.6")``.
    """

    characteristics: tuple[str, ...]
    subcategories: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for c in self.characteristics:
            if c not in CHARACTERISTICS:
                raise ValueError(f"unknown AI RMF characteristic {c!r}; use one of {CHARACTERISTICS}")
        for s in self.subcategories:
            if s.split(" ")[0] not in FUNCTIONS:
                raise ValueError(f"subcategory {s!r} must start with one of {FUNCTIONS}")

    @property
    def functions(self) -> tuple[str, ...]:
        """The AI RMF functions of the subcategories (e.g. ``MEASURE``), in order of first use."""
        seen: list[str] = []
        for s in self.subcategories:
            f = s.split(" ")[0]
            if f not in seen:
                seen.append(f)
        return tuple(seen)

    def to_dict(self) -> dict:
        """Return the functions, characteristics and subcategories as a JSON-ready dict."""
        return {
            "functions": list(self.functions),
            "characteristics": list(self.characteristics),
            "subcategories": list(self.subcategories),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Tags:
        """Rebuild tags from :meth:`to_dict` output (the functions follow from the subcategories)."""
        return cls(tuple(d.get("characteristics", ())), tuple(d.get("subcategories", ())))


# The suggested tags of ../shared/NIST_AI_RMF.md, by kind of result.
ACCURACY = Tags(("valid and reliable",), ("MEASURE 2.3", "MEASURE 2.5", "MEASURE 2.1"))
ROBUSTNESS = Tags(("secure and resilient", "safe"), ("MEASURE 2.7", "MEASURE 2.6", "MEASURE 1.1"))
VALIDITY = Tags(("valid and reliable",), ("MEASURE 2.13", "MEASURE 2.7"))
PROVENANCE = Tags(("accountable and transparent",), ("MEASURE 2.1", "MEASURE 2.8", "MEASURE 1.3"))
GATE = Tags(("valid and reliable",), ("MANAGE 1.1", "MAP 1.5"))

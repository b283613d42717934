"""Scorecard: the findings of one run plus its provenance. JSON is its canonical form."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustbench.errors import InputError, read_json
from trustbench.findings import Finding

__all__ = ["NON_FINITE_ID", "NOT_AUDITED", "SCHEMA_VERSION", "NotMeasured", "Scorecard"]

#: Id of the finding that lists result fields whose NaN/inf values were written as null.
NON_FINITE_ID = "scorecard.non_finite"

#: Version of the JSON layout, documented in docs/scorecard.md. A reader accepts the same
#: major version; minor versions only add fields.
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True, eq=False)
class NotMeasured(str):
    """One thing a run did not measure, and why: a record that *is* its sentence.

    It is a ``str`` (today's sentence, e.g. ``"calibration (ECE, reliability) (disabled)"``)
    so every reader of :attr:`Scorecard.not_measured` (the renderers, ``"; ".join``, JSON)
    keeps working, and it carries the fields code decides by, so nothing parses the
    sentence. A scorecard read back from JSON holds plain strings (schema 1.0 stores the
    sentences only).

    Parameters
    ----------
    check
        What was not measured, in words; for records that code looks for, a stable name
        (``NOT_AUDITED.check``).
    reason
        Why, in words: ``"disabled"``, ``"the time budget ran out first"``.
    text
        The sentence; default ``f"{check} ({reason})"``.
    out_of_time
        The time budget cut it (the ``budget.exhausted`` finding lists these).

    Examples
    --------
    >>> nm = NotMeasured("calibration (ECE, reliability)", "disabled")
    >>> str(nm), nm.check, nm == "calibration (ECE, reliability) (disabled)"
    ('calibration (ECE, reliability) (disabled)', 'calibration (ECE, reliability)', True)
    """

    check: str
    reason: str
    text: str = ""
    out_of_time: bool = False

    def __new__(cls, check: str, reason: str, text: str = "",
                out_of_time: bool = False) -> NotMeasured:
        """Make the string ``text``, or ``"check (reason)"`` when ``text`` is empty."""
        return super().__new__(cls, text or f"{check} ({reason})")

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", str.__str__(self))

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy (a str subclass's default
        return (type(self), (self.check, self.reason, self.text, self.out_of_time))  # fails)


#: What every scan leaves to ``trustbench audit``; dropped (by its ``check``) once an
#: audit's caveats are applied (:func:`trustbench.audit.apply_caveats`).
NOT_AUDITED = NotMeasured("data quality, leakage and label errors of the evaluation set",
                          "run 'trustbench audit'")


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
        What this run did not evaluate (AI RMF MEASURE 1.1 asks reports to say so): the
        scan's :class:`NotMeasured` records (each is its sentence), or plain strings (a
        scorecard read back from JSON). The JSON holds the sentences.
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
        """Return the first finding with id ``finding_id``, else None."""
        return next((f for f in self.findings if f.id == finding_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Return the scorecard as a JSON-ready dict, with its schema version and verdict."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": "trustbench",
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "not_measured": [str(s) for s in self.not_measured],
            "provenance": self.provenance,
        }

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically: a crash mid-write never leaves a truncated scorecard behind.

        JSON has no NaN or infinity: such values anywhere in the findings or the provenance
        are written as ``null``, and a ``scorecard.non_finite`` finding says where they were
        (see :meth:`flag_non_finite`), so a result is never lost to the JSON writer.
        """
        from trustbench._files import write_text_atomic

        self.flag_non_finite()
        d = _finite(self.to_dict(), "", [])
        text = json.dumps(d, indent=2, allow_nan=False, default=json_default) + "\n"
        return write_text_atomic(text, path, prefix="scorecard")

    def flag_non_finite(self) -> Finding | None:
        """Add (once) a warning that lists the fields holding NaN or infinite values.

        Metric values that are undefined (NaN: e.g. a success rate with no point to attack)
        are normal and already written as ``null``; this covers evidence and provenance,
        where NaN means the input or the model produced something that is not a number.
        """
        from trustbench import nist

        if self.get(NON_FINITE_ID) is not None:
            return None
        where: list[str] = []
        for f in self.findings:
            _finite(f.evidence, f"{f.id}.evidence", where)
        _finite(self.provenance, "provenance", where)
        if not where:
            return None
        finding = Finding(
            NON_FINITE_ID, f"{len(where)} result field(s) held NaN or infinite values", "warn",
            tags=nist.VALIDITY,
            detail="JSON cannot hold NaN or infinity, so these fields are written as null: "
            + ", ".join(where[:20]) + (f" and {len(where) - 20} more" if len(where) > 20 else "")
            + ". They come from the input (e.g. NaN bounds or features) or from the model "
            "(scores that are not numbers); the numbers derived from them are not reliable.",
            evidence={"fields": where[:200]})
        self.findings.append(finding)
        return finding

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "scorecard") -> Scorecard:
        """Read a scorecard; every field is checked for its type first.

        A malformed file is thus an InputError naming the field, never an error from deep
        inside a reader.
        """
        if not isinstance(d, dict):
            raise InputError(f"{source}: a scorecard is a JSON object, got {_kind(d)}",
                             fix="pass a scorecard.json written by trustbench")
        version = str(d.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise InputError(
                f"{source}: schema_version {version or '(missing)'} is not readable by this "
                f"trustbench (reads {SCHEMA_VERSION.split('.')[0]}.x)",
                fix="re-create the scorecard with this version of trustbench",
            )
        _check_shape(d, source)
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
        """Read a scorecard from the JSON file at ``path``; see :meth:`from_dict`."""
        return cls.from_dict(read_json(path, what="scorecard"), source=str(path))


def _kind(v: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    return names.get(type(v), type(v).__name__)


def _bad(source: str, field: str, expected: str, got: Any) -> InputError:
    return InputError(f"{source}: malformed scorecard: field {field} must be {expected}, got "
                      f"{_kind(got)}",
                      fix="pass a scorecard.json written by trustbench (this one was changed "
                      "or damaged)")


def _check_shape(d: dict[str, Any], source: str) -> None:
    """Check the types every reader of a scorecard relies on, once at the boundary."""
    findings = d.get("findings")
    if not isinstance(findings, list):
        raise _bad(source, "findings", "a list", findings)
    nm = d.get("not_measured", [])
    if not isinstance(nm, list) or not all(isinstance(x, str) for x in nm):
        raise _bad(source, "not_measured", "a list of strings", nm)
    prov = d.get("provenance", {})
    if not isinstance(prov, dict):
        raise _bad(source, "provenance", "an object", prov)
    for key in ("model", "data", "config", "runtime", "versions", "timings_seconds"):
        if key in prov and not isinstance(prov[key], dict):
            raise _bad(source, f"provenance.{key}", "an object", prov[key])
    for key in ("model", "data"):
        fp = prov.get(key, {}).get("fingerprint")
        if fp is not None and not isinstance(fp, str):
            raise _bad(source, f"provenance.{key}.fingerprint", "a string", fp)
    for i, f in enumerate(findings):
        where = f"findings[{i}]"
        if not isinstance(f, dict):
            raise _bad(source, where, "an object", f)
        for key in ("id", "title"):
            if not isinstance(f.get(key), str):
                raise _bad(source, f"{where}.{key}", "a string", f.get(key))
        where = f"findings[{i}] ({f['id'][:60]})"
        if f.get("severity") not in ("info", "warn", "fail"):
            raise InputError(f"{source}: malformed scorecard: field {where}.severity is "
                             f"{str(f.get('severity'))[:40]!r}",
                             fix="use info, warn or fail")
        if not isinstance(f.get("detail", ""), str):
            raise _bad(source, f"{where}.detail", "a string", f.get("detail"))
        for key in ("metrics", "tags", "evidence"):
            if not isinstance(f.get(key, {}), dict):
                raise _bad(source, f"{where}.{key}", "an object", f.get(key))
        for key in ("characteristics", "subcategories"):
            v = f.get("tags", {}).get(key, [])
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise _bad(source, f"{where}.tags.{key}", "a list of strings", v)
        for name, m in f.get("metrics", {}).items():
            _check_metric(m, source, f"{where}.metrics.{name}")


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _check_metric(m: Any, source: str, where: str) -> None:
    if not isinstance(m, dict):
        raise _bad(source, where, "an object with value, ci95 and unit", m)
    if not _is_number(m.get("value")):
        raise _bad(source, f"{where}.value", "a number or null", m.get("value"))
    ci = m.get("ci95")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(map(_is_number, ci))):
        raise _bad(source, f"{where}.ci95", "a list of two numbers", ci)
    if not isinstance(m.get("unit", ""), str):
        raise _bad(source, f"{where}.unit", "a string", m.get("unit"))


def _finite(o: Any, where: str, found: list[str]) -> Any:
    """``o`` with every NaN/inf float (Python, numpy scalar or array) replaced by ``None``.

    The dotted path of each one is appended to ``found``.
    """
    import numpy as np

    if isinstance(o, np.ndarray):
        o = o.tolist()
    elif isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float):
        if math.isfinite(o):
            return o
        found.append(where or "(value)")
        return None
    if isinstance(o, dict):
        return {k: _finite(v, f"{where}.{k}" if where else str(k), found) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        n = len(found)
        out = [_finite(v, f"{where}[{i}]", found) for i, v in enumerate(o)]
        if len(found) - n > 1:  # one entry per list, not one per element
            del found[n + 1:]
            found[n] = f"{where}[...]"
        return out
    return o


def json_default(o: Any) -> Any:
    """``json.dumps`` default for the numpy values and paths findings may hold."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")

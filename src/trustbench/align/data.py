"""Preference data: read and check it, split it by prompt, find leaks, measure agreement.

A preference file is JSON Lines, one comparison per line::

    {"prompt": "...", "chosen": "...", "rejected": "...", "annotator": "a7", "group": "en",
     "margin": 1.5, "id": "p-0017"}

``prompt``, ``chosen`` and ``rejected`` are required non-empty strings; ``annotator`` and
``group`` optional strings, ``margin`` an optional finite number, ``id`` an optional string
or integer, unique in the file. Anything wrong is one :class:`~trustbench.errors.InputError`
naming the file, the line, the field and the fix.

* :func:`split_preferences` — a seeded split in which every prompt's comparisons land on
  one side (a prompt on both sides leaks its answers into the test set);
* :func:`leakage_report` — exact duplicates, contradictions (the same pair preferred both
  ways) and what the test side shares with the training side;
* :func:`annotator_agreement` — where several annotators judged the same pair: Cohen's
  kappa per pair of annotators (and their mean) and Krippendorff's alpha (nominal) over all.

References
----------
Cohen, "A coefficient of agreement for nominal scales", Educational and Psychological
Measurement 20 (1960).
Krippendorff, "Computing Krippendorff's alpha-reliability" (2011), and "Content Analysis",
3rd ed., Sage (2013), ch. 12.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trustbench.align._jsonl import fail, json_rows, read_text, text_field
from trustbench.errors import InputError

__all__ = ["Agreement", "Leakage", "Preference", "annotator_agreement", "cohen_kappa",
           "krippendorff_alpha", "leakage_report", "read_demonstrations", "read_preferences",
           "read_prompts", "split_preferences"]

_REQUIRED = ("prompt", "chosen", "rejected")
_FIELDS = (*_REQUIRED, "annotator", "group", "margin", "id")


@dataclass(frozen=True)
class Preference:
    """One comparison: ``chosen`` was preferred to ``rejected`` as an answer to ``prompt``."""

    prompt: str
    chosen: str
    rejected: str
    annotator: str | None = None
    group: str | None = None
    margin: float | None = None
    id: str | None = None
    line: int = 0

    @property
    def pair(self) -> tuple[str, str, str]:
        """The prompt and the two responses in a fixed order (for matching judgements)."""
        a, b = sorted((self.chosen, self.rejected))
        return self.prompt, a, b


def read_preferences(path: str | Path) -> list[Preference]:
    """Read a preference JSONL file, checking every line (blank lines are skipped)."""
    where = str(path)
    text = read_text(path, fix="pass a preference file (JSON Lines)")
    out: list[Preference] = []
    ids: dict[str, int] = {}
    for n, row in json_rows(where, text):
        for field in _REQUIRED:
            text_field(row, field, where, n)
        if row["chosen"] == row["rejected"]:
            raise fail(where, n, "'chosen' and 'rejected' are the same text",
                       "drop the line, or give two different responses")
        for field in ("annotator", "group"):
            if row.get(field) is not None and not isinstance(row[field], str):
                raise fail(where, n, f"field {field!r} is {json.dumps(row[field])[:40]}, not a "
                           "string", f"give {field!r} as a string, or leave it out")
        margin = row.get("margin")
        if margin is not None and (isinstance(margin, bool) or not isinstance(margin, int | float)
                                   or not math.isfinite(margin)):
            raise fail(where, n, f"field 'margin' is {json.dumps(margin)[:40]}, not a finite "
                       "number", "give 'margin' as a number, or leave it out")
        pid = row.get("id")
        if pid is not None:
            if isinstance(pid, bool) or not isinstance(pid, str | int):
                raise fail(where, n, f"field 'id' is {json.dumps(pid)[:40]}",
                           "give 'id' as a string or an integer")
            pid = str(pid)
            if pid in ids:
                raise fail(where, n, f"id {pid!r} is also on line {ids[pid]}",
                           "give every comparison its own id")
            ids[pid] = n
        unknown = sorted(set(row) - set(_FIELDS))
        if unknown:
            raise fail(where, n, f"unknown field {unknown[0]!r}",
                       f"use only {', '.join(_FIELDS)}")
        out.append(Preference(row["prompt"], row["chosen"], row["rejected"],
                              row.get("annotator"), row.get("group"),
                              None if margin is None else float(margin), pid, n))
    if not out:
        raise InputError(f"{where}: holds no comparisons",
                         fix='write one {"prompt", "chosen", "rejected"} object per line')
    return out


def read_prompts(path: str | Path) -> list[str]:
    """Read the ``prompt`` of every line of a JSONL file (other fields are not used).

    A preference or pairs file serves as a prompts file; repeated prompts are kept once.
    """
    where = str(path)
    text = read_text(path, fix="pass a JSONL file with a 'prompt' on every line")
    prompts = [text_field(row, "prompt", where, n)
               for n, row in json_rows(where, text, example='{"prompt": ...}')]
    if not prompts:
        raise InputError(f"{where}: holds no prompts", fix='write one {"prompt": ...} per line')
    return list(dict.fromkeys(prompts))


def read_demonstrations(path: str | Path) -> tuple[list[str], list[str]]:
    """Read SFT data: JSONL with ``prompt`` and ``response`` on every line."""
    where = str(path)
    text = read_text(path, fix="pass a JSONL file of prompts and responses")
    prompts, responses = [], []
    for n, row in json_rows(where, text, example='{"prompt": ..., "response": ...}'):
        prompts.append(text_field(row, "prompt", where, n))
        responses.append(text_field(row, "response", where, n))
        unknown = sorted(set(row) - {"prompt", "response", "id"})
        if unknown:
            raise fail(where, n, f"unknown field {unknown[0]!r}", "use only prompt, response, id")
    if not prompts:
        raise InputError(f"{where}: holds no demonstrations",
                         fix='write one {"prompt": ..., "response": ...} per line')
    return prompts, responses


def _prompt_key(prompt: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()[:8], "big")


def split_preferences(prefs: Sequence[Preference], *, test_fraction: float = 0.2,
                      seed: int = 0) -> tuple[list[Preference], list[Preference]]:
    """Split by prompt: a seeded ``test_fraction`` of the prompts goes to the test side.

    The choice depends only on each prompt's text and the seed (not on the file's order),
    and every comparison of a prompt lands on the same side.
    """
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
    prompts = sorted({p.prompt for p in prefs}, key=lambda s: _prompt_key(s, seed))
    if len(prompts) < 2:
        raise InputError("one prompt only: a split by prompt needs two or more")
    k = min(len(prompts) - 1, max(1, round(test_fraction * len(prompts))))
    test_prompts = set(prompts[:k])
    return ([p for p in prefs if p.prompt not in test_prompts],
            [p for p in prefs if p.prompt in test_prompts])


@dataclass(frozen=True)
class Leakage:
    """Duplicates and contradictions per side, and what the test side shares with train."""

    duplicates: dict[str, int]  # side -> comparisons that repeat an earlier one exactly
    contradictions: dict[str, int]  # side -> pairs preferred both ways
    shared_prompts: int
    shared_pairs: int
    examples: list[str]


def leakage_report(train: Sequence[Preference],
                   test: Sequence[Preference] = ()) -> Leakage:
    """Count exact duplicates, contradictions and train/test overlap (with line examples)."""
    dup, contra, examples = {}, {}, []
    for side, rows in (("train", train), ("test", test)):
        seen: dict[tuple[str, str, str], Preference] = {}
        pairs: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        d = 0
        for p in rows:
            key = (p.prompt, p.chosen, p.rejected)
            if key in seen and (p.annotator is None or p.annotator == seen[key].annotator):
                d += 1
                if len(examples) < 5:
                    examples.append(f"{side}: line {p.line} repeats line {seen[key].line}")
            seen.setdefault(key, p)
            pairs[p.pair].add(p.chosen)
        dup[side], contra[side] = d, sum(len(v) > 1 for v in pairs.values())
    train_prompts = {p.prompt for p in train}
    train_pairs = {p.pair for p in train}
    return Leakage(dup, contra, len({p.prompt for p in test} & train_prompts),
                   len({p.pair for p in test} & train_pairs), examples)


@dataclass(frozen=True)
class Agreement:
    """Agreement where several annotators judged the same pair."""

    items: int  # pairs judged by two or more annotators
    alpha: float  # Krippendorff's alpha, nominal
    kappa: dict[tuple[str, str], tuple[float, int]]  # (a, b) -> (Cohen's kappa, shared pairs)

    @property
    def mean_kappa(self) -> float:
        """The mean of the pairwise kappas (NaN without any pair of annotators)."""
        vals = [k for k, _ in self.kappa.values() if math.isfinite(k)]
        return float(np.mean(vals)) if vals else float("nan")


def _judgements(prefs: Iterable[Preference]) -> dict[tuple[str, str, str], dict[str, int]]:
    """Pair -> {annotator: which of its two responses they chose, 0 or 1}.

    Which response is "0" is drawn per pair from a hash of its text, as a page shows the two
    in random order: an order tied to the content (sorted text, or chosen first) would make
    one label mean "the better one" and leave chance agreement near 1, and kappa undefined.
    """
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    for p in prefs:
        if p.annotator is not None:
            flip = hashlib.sha256("\0".join(p.pair).encode()).digest()[0] & 1
            out[p.pair][p.annotator] = int(p.chosen == p.pair[1]) ^ flip
    return {k: v for k, v in out.items() if len(v) >= 2}


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Return Cohen's kappa of two raters' labels of the same items (NaN if undefined)."""
    n = len(a)
    if n == 0 or n != len(b):
        return float("nan")
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / n**2
    return float("nan") if pe == 1 else (po - pe) / (1 - pe)


def krippendorff_alpha(units: Sequence[Sequence[Any]]) -> float:
    """Return Krippendorff's alpha (nominal) of units, each the labels its raters gave."""
    units = [u for u in units if len(u) >= 2]
    values: Counter[Any] = Counter()
    observed = 0.0
    for u in units:
        m = len(u)
        c = Counter(u)
        values.update(c)
        observed += sum(c[x] * (m - c[x]) for x in c) / (m - 1)  # disagreeing ordered pairs
    n = sum(values.values())
    if n <= 1:
        return float("nan")
    expected = sum(values[x] * (n - values[x]) for x in values) / (n - 1)
    return float("nan") if expected == 0 else 1 - observed / expected


def annotator_agreement(prefs: Sequence[Preference]) -> Agreement:
    """Cohen's kappa per pair of annotators and Krippendorff's alpha over shared pairs."""
    judged = _judgements(prefs)
    alpha = krippendorff_alpha([list(v.values()) for v in judged.values()])
    by_pair: dict[tuple[str, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for votes in judged.values():
        for a, b in itertools.combinations(sorted(votes), 2):
            by_pair[(a, b)][0].append(votes[a])
            by_pair[(a, b)][1].append(votes[b])
    kappa = {k: (cohen_kappa(x, y), len(x)) for k, (x, y) in by_pair.items()}
    return Agreement(len(judged), alpha, kappa)

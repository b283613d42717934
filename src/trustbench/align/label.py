"""Label preference pairs by hand on a local page: the better response, a tie, or skip.

``trustbench align label --pairs pairs.jsonl --out prefs.jsonl`` reads the pairs with
:func:`read_pairs`, opens a :class:`LabelSession` on the out file and serves the page on
loopback with :func:`serve_labels`. The page shows a prompt and its two responses side by
side, in an order drawn per pair from a hash of ``(seed, id)`` (random-looking, the same
after a restart); the person picks by mouse or keys (1/←, 2/→, 3/t, s).

Files. A pairs file is JSON Lines with ``prompt`` and two responses, ``a`` and ``b`` (or
``chosen`` and ``rejected``, so a preference file can be labelled again), and optional
``id`` and ``group``. Every decided choice is appended to the out file in the preference
format of :mod:`trustbench.align.data` (``prompt, chosen, rejected, id``, and ``annotator``
and ``group`` when known), so :func:`~trustbench.align.data.read_preferences` reads it as
it is; that reader allows no other field, so ties and skips, which prefer nothing, go to a
sidecar, :func:`undecided_path` (``prefs.undecided.jsonl``): the pair as ``prompt, a, b``
with ``choice`` ("tie" or "skip") -- itself a pairs file, to label the skipped ones later.

Durability. A choice is one ``os.write`` of one whole line on a file opened with
``O_APPEND``, then ``os.fsync``, before the page is answered: a crash loses at most the
choice being made. A partial last line (a crash mid-write) is cut off when the next session
opens the file; pairs already in either file are done, and labelling resumes at the first
pair that is not. One session at a time may write an out file (an advisory lock).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trustbench.align._jsonl import fail, json_rows, read_text, text_field
from trustbench.align._label_log import append_line, load_log, lock_file, open_append
from trustbench.align._label_server import LabelServer, serve_labels, start_label_server
from trustbench.errors import InputError, TrustbenchError

__all__ = ["CHOICES", "AlreadyLabelledError", "LabelServer", "LabelSession", "Pair", "Progress",
           "Task", "pair_id", "read_pairs", "serve_labels", "start_label_server", "undecided_path"]

log = logging.getLogger(__name__)

#: What a person can answer: the left or right response is better, a tie, or skip the pair.
CHOICES = ("left", "right", "tie", "skip")
_PAIR_FIELDS = ("prompt", "a", "b", "chosen", "rejected", "id", "group",
                "annotator", "margin", "choice")  # a preference file's, and the sidecar's


@dataclass(frozen=True)
class Pair:
    """A prompt and two responses to compare; ``line`` is where it was read (0 if not read)."""

    id: str
    prompt: str
    a: str
    b: str
    group: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Progress:
    """How far a session is: ``done`` of ``total`` pairs, as preferences, ties and skips."""

    done: int
    total: int
    chosen: int
    tie: int
    skip: int


@dataclass(frozen=True)
class Task:
    """The next pair to label, its responses in display order, and the progress so far."""

    pair: Pair
    left: str
    right: str
    progress: Progress


class AlreadyLabelledError(InputError):
    """The pair was labelled already (in this session, an earlier one, or another tab)."""


def pair_id(prompt: str, a: str, b: str) -> str:
    """Return the id of a pair that has none: a hash of the prompt and both responses.

    The responses' order does not matter, so a pair and its preference get the same id:

    >>> pair_id("2+2?", "4", "5") == pair_id("2+2?", "5", "4")
    True
    """
    x, y = sorted((a, b))
    return "h" + hashlib.sha256("\0".join((prompt, x, y)).encode()).hexdigest()[:16]


def undecided_path(out_path: str | os.PathLike[str]) -> Path:
    """Return the sidecar of ties and skips next to ``out_path`` (``p.jsonl -> p.undecided.jsonl``)."""
    out = Path(out_path)
    return out.with_name(f"{out.stem}.undecided{out.suffix}" if out.suffix else f"{out.name}.undecided")


def read_pairs(path: str | os.PathLike[str]) -> list[Pair]:
    """Read a pairs JSONL file, checking every line (blank lines are skipped).

    A preference file's ``annotator`` and ``margin``, and the sidecar's ``choice``, may be
    there and are not used.
    """
    path = Path(path)
    text = read_text(path, fix="pass the pairs file to label")
    where, pairs, seen = str(path), [], {}
    for n, row in json_rows(path, text, example='{"prompt": ..., "a": ..., "b": ...}'):
        names = ("chosen", "rejected") if "a" not in row and "b" not in row and (
            "chosen" in row or "rejected" in row) else ("a", "b")
        if names == ("a", "b") and ("chosen" in row or "rejected" in row):
            raise fail(where, n, "both 'a'/'b' and 'chosen'/'rejected'",
                       "give the two responses as 'a' and 'b', or as 'chosen' and 'rejected'")
        prompt, a, b = (text_field(row, f, where, n) for f in ("prompt", *names))
        if a == b:
            raise fail(where, n, f"{names[0]!r} and {names[1]!r} are the same text",
                       "drop the line, or give two different responses")
        group = row.get("group")
        if group is not None and not isinstance(group, str):
            raise fail(where, n, f"field 'group' is {json.dumps(group)[:40]}, not a string",
                       "give 'group' as a string, or leave it out")
        unknown = sorted(set(row) - set(_PAIR_FIELDS))
        if unknown:
            raise fail(where, n, f"unknown field {unknown[0]!r}",
                       "use only prompt, a, b (or chosen, rejected), id and group")
        pid = row.get("id")
        if pid is None:
            pid, same = pair_id(prompt, a, b), "the same prompt and responses as"
        elif isinstance(pid, bool) or not isinstance(pid, str | int) or pid == "":
            raise fail(where, n, f"field 'id' is {json.dumps(pid)[:40]}",
                       "give 'id' as a non-empty string or an integer, or leave it out")
        else:
            pid, same = str(pid), f"id {pid!r} is also on"
        if pid in seen:
            raise fail(where, n, f"{same} line {seen[pid]}", "give every pair its own id, "
                       "or drop the repeated line")
        seen[pid] = n
        pairs.append(Pair(pid, prompt, a, b, group, n))
    if not pairs:
        raise InputError(f"{where}: holds no pairs",
                         fix='write one {"prompt": ..., "a": ..., "b": ...} object per line')
    return pairs


def _logged_id(row: dict[str, Any], responses: tuple[str, str], where: Path, n: int) -> str:
    if row.get("id") is not None:
        return str(row["id"])
    texts = [row.get(f) for f in ("prompt", *responses)]
    if not all(isinstance(t, str) for t in texts):
        raise fail(str(where), n, f"no 'id', and no prompt, {responses[0]}, {responses[1]} "
                   "to tell which pair it labels", "repair or delete that line")
    return pair_id(*texts)


class LabelSession:
    """The choices of one person over a list of pairs, kept in ``out_path`` as they are made.

    Parameters
    ----------
    pairs
        The pairs to label, in the order to show them (ids unique).
    out_path
        The preference file to append decided choices to; ties and skips go to
        :func:`undecided_path`. Pairs either file already holds are done (resume).
    annotator
        Written on every line when given.
    seed
        Draws each pair's left/right order, with the pair's id.
    """

    def __init__(self, pairs: Iterable[Pair], out_path: str | os.PathLike[str], *,
                 annotator: str | None = None, seed: int = 0) -> None:
        self.pairs = list(pairs)
        self.out_path = Path(out_path)
        self.annotator = annotator
        self.seed = seed
        self._by_id = {p.id: p for p in self.pairs}
        if not self.pairs or len(self._by_id) < len(self.pairs):
            raise InputError(f"{len(self.pairs)} pairs with {len(self._by_id)} distinct ids",
                             fix="give at least one pair, each with its own id")
        self._lock = threading.Lock()
        self._cursor = 0
        self._state: dict[str, str] = {}  # id -> "chosen" | "tie" | "skip"
        self._fd = open_append(self.out_path)
        self._side_fd: int | None = None
        try:
            lock_file(self._fd, self.out_path)
            side = undecided_path(self.out_path)
            for n, row in load_log(side, None):
                choice = row.get("choice")
                if choice not in ("tie", "skip"):
                    raise fail(str(side), n, f"'choice' is {json.dumps(choice)[:40]}",
                               "give 'choice' as \"tie\" or \"skip\"")
                self._state[_logged_id(row, ("a", "b"), side, n)] = choice
            for n, row in load_log(self.out_path, self._fd):
                self._state[_logged_id(row, ("chosen", "rejected"), self.out_path, n)] = "chosen"
        except BaseException:
            self.close()
            raise
        other = len(set(self._state) - set(self._by_id))
        if other:
            log.info("%s: %d labelled pairs are not among these pairs", self.out_path, other)
        self._counts = Counter(v for k, v in self._state.items() if k in self._by_id)

    def order(self, pair: Pair) -> tuple[str, str]:
        """Return ``(left, right)``: the pair's responses in the order the page shows them."""
        flip = hashlib.sha256(f"{self.seed}\0{pair.id}".encode()).digest()[0] & 1
        return (pair.b, pair.a) if flip else (pair.a, pair.b)

    def progress(self) -> Progress:
        """Return how many pairs are done, and how."""
        c = self._counts
        return Progress(sum(c.values()), len(self.pairs), c["chosen"], c["tie"], c["skip"])

    def next(self) -> Task | None:
        """Return the first pair not labelled yet, in display order, or None when all are."""
        with self._lock:
            while self._cursor < len(self.pairs) and self.pairs[self._cursor].id in self._state:
                self._cursor += 1
            if self._cursor == len(self.pairs):
                return None
            pair = self.pairs[self._cursor]
            return Task(pair, *self.order(pair), self.progress())

    def record(self, pair_id: str | int, choice: str) -> Progress:
        """Append the choice for a pair (one line, fsynced) and return the new progress."""
        if choice not in CHOICES:
            raise InputError(f"choice {str(choice)[:40]!r} is not one of {', '.join(CHOICES)}",
                             fix="answer left, right, tie or skip")
        pair = self._by_id.get(str(pair_id))
        if pair is None:
            raise InputError(f"no pair with id {str(pair_id)[:80]!r} in this session",
                             fix="label the pair the page shows (GET /api/next)")
        extra = {k: v for k, v in (("annotator", self.annotator), ("group", pair.group)) if v}
        with self._lock:
            if self._fd < 0:
                raise TrustbenchError(f"{self.out_path}: the labelling session is closed")
            if pair.id in self._state:
                raise AlreadyLabelledError(f"pair {pair.id!r} is already labelled "
                                           f"({self._state[pair.id]})", fix="label the next pair")
            if choice in ("left", "right"):
                left, right = self.order(pair)
                better, worse = (left, right) if choice == "left" else (right, left)
                row, state = {"prompt": pair.prompt, "chosen": better, "rejected": worse,
                              "id": pair.id, **extra}, "chosen"
                path, fd = self.out_path, self._fd
            else:
                row, state = {"id": pair.id, "choice": choice, "prompt": pair.prompt,
                              "a": pair.a, "b": pair.b, **extra}, choice
                path = undecided_path(self.out_path)
                if self._side_fd is None:
                    self._side_fd = open_append(path)
                fd = self._side_fd
            try:  # ASCII JSON: no raw U+2028 for a reader that splits lines on it
                append_line(fd, (json.dumps(row) + "\n").encode())
            except OSError as e:
                raise TrustbenchError(f"{path}: the choice for pair {pair.id!r} could not be "
                                      f"saved ({e.strerror or e}); free space or fix the "
                                      "file's permissions, then choose again") from None
            self._state[pair.id] = state
            self._counts[state] += 1
            return self.progress()

    def close(self) -> None:
        """Close the files (and release the lock); later records fail."""
        for name in ("_fd", "_side_fd"):
            fd = getattr(self, name, None)
            if fd is not None and fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def __enter__(self) -> LabelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

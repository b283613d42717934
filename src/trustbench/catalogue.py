"""Catalogues: what each family's finding ids mean to the reports and the gate.

A family (the scan's checks, the audit, harden/compress, the gate itself, ...) declares one
:class:`Catalogue` next to its checks and registers it with :func:`register_catalogue` when
its package is imported. The renderers in ``report/`` and the gate in ``gate/`` know no
family by name: they ask this module which section a finding belongs to, which numbers are
headlines, what a ``--fail-on`` alias stands for and which way a metric improves.

A scorecard read from JSON is rendered in a process that may never have imported a family,
so the first lookup imports the modules in ``KNOWN_CATALOGUES``; that list, here and
nowhere else, is the one place that names the built-in families. A new family adds its
module to it (or registers its catalogue itself before rendering).

Everything here is plain, frozen, picklable data; this module imports nothing of trustbench.
"""

from __future__ import annotations

import importlib
import string
from dataclasses import dataclass

__all__ = ["KNOWN_CATALOGUES", "TERMINAL_ROLES", "Alias", "AliasPattern", "Catalogue", "Headline", "Section",
           "alias_names", "alias_patterns", "catalogues", "direction", "family_of",
           "gate_alias", "headlines", "in_comparison_summary", "in_gate_figure", "manifest_ids",
           "matches", "owned_prefixes", "register_catalogue", "section", "section_of",
           "sections", "terminal_role"]

#: Modules that declare the built-in families' catalogues, imported on the first lookup.
KNOWN_CATALOGUES = ("trustbench.checks.catalogue", "trustbench.audit.catalogue",
                    "trustbench.harden.catalogue", "trustbench.gate.catalogue",
                    "trustbench.monitor.catalogue", "trustbench.security.catalogue",
                    "trustbench.align.catalogue", "trustbench.select.catalogue")
_DIRECTIONS = ("higher", "lower", "")
#: Roles a finding can have in the terminal summary (see ``report/terminal.py``).
TERMINAL_ROLES = ("table", "summary", "checks", "hidden", "result")


def matches(pattern: str, text: str) -> bool:
    """``pattern`` is ``text`` itself, ``"*"``, ``"prefix*"`` or ``"*suffix"``.

    >>> matches("robustness.worst.*", "robustness.worst.linf.0.1"), matches("*_gap", "ece")
    (True, False)
    """
    if pattern == text or pattern == "*":
        return True
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return pattern.startswith("*") and text.endswith(pattern[1:])


@dataclass(frozen=True)
class Section:
    """A report section: findings whose id starts with one of ``prefixes``.

    The section takes its place in page order by ``order``; ``view`` names a special layout
    of the renderers (``"attack_curves"``: the robustness curves and table) and ``reference``
    a ``(finding id, metric)`` drawn as a reference line in that layout.
    """

    anchor: str
    title: str
    order: int
    prefixes: tuple[str, ...]
    view: str = ""
    reference: tuple[str, str] | None = None


@dataclass(frozen=True)
class Headline:
    """A headline number of a report.

    The headline is the first finding matching ``finding`` (an id or a ``prefix*`` pattern)
    that has one of ``metrics``.

    With ``per`` (an evidence key) there is one headline per value of that key, the finding
    with the largest ``largest`` evidence value. ``label`` and ``suffix`` are
    :meth:`str.format` templates over the finding's evidence (``suffix`` is added only when
    every field it names is non-empty). ``unit`` overrides the metric's unit (``""`` shows
    an AUROC as a score, not a percentage); ``terminal`` also prints it in the terminal
    summary. ``better`` is the metric's direction.
    """

    label: str
    finding: str
    metrics: tuple[str, ...]
    order: int
    better: str = "higher"
    per: str = ""
    largest: str = ""
    suffix: str = ""
    unit: str | None = None
    terminal: bool = False

    def suffix_fields(self) -> tuple[str, ...]:
        """Return the names of the fields that the ``suffix`` template uses."""
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.suffix) if f)


@dataclass(frozen=True)
class Alias:
    """A ``--fail-on`` metric name.

    ``name`` stands for ``key`` (``FINDING_ID:METRIC``; the id may end in ``*``), which
    improves in direction ``better``.
    """

    name: str
    key: str
    better: str = ""


@dataclass(frozen=True)
class AliasPattern:
    """A family of ``--fail-on`` aliases.

    Names starting with ``prefix`` must match ``regex``; its named groups fill the ``key``
    template (groups in ``numbers`` are read as floats, missing groups take ``defaults``).
    ``forms`` and ``fix`` are shown in errors.
    """

    prefix: str
    regex: str
    key: str
    forms: tuple[str, ...]
    fix: str
    numbers: tuple[str, ...] = ()
    defaults: tuple[tuple[str, str], ...] = ()
    better: str = ""


@dataclass(frozen=True)
class Catalogue:
    """Everything the reports and the gate need to know about one family's findings.

    Parameters
    ----------
    family : str
        The family's name; registering a catalogue of the same name replaces it.
    prefixes : tuple of str
        The finding ids the family owns: ``"name."`` prefixes or exact ids.
    sections : tuple of Section
        Report sections (HTML, Markdown); findings in no section go to "Other findings".
    headlines : tuple of Headline
        Key numbers of the reports, in the order of their ``order``.
    gate_figure : tuple of (str, str)
        ``(finding pattern, metric)`` drawn in the gate's comparison figure.
    comparison_summary : tuple of (str, str)
        ``(finding pattern, metric pattern)`` that ``trustbench compare`` shows without
        ``--all``; the metric pattern ``"*"`` means every metric with a known direction.
    aliases, alias_patterns : tuple
        ``--fail-on`` metric names (:class:`Alias`, :class:`AliasPattern`).
    terminal : tuple of (str, str)
        ``(id prefix, role)``: how the terminal summary shows a finding, one of
        ``TERMINAL_ROLES``; the longest matching prefix wins, and findings with no role are
        shown only when they warn or fail.
    manifest : str
        The id of the family's run-manifest finding (not a measurement; never compared).
    """

    family: str
    prefixes: tuple[str, ...]
    sections: tuple[Section, ...] = ()
    headlines: tuple[Headline, ...] = ()
    gate_figure: tuple[tuple[str, str], ...] = ()
    comparison_summary: tuple[tuple[str, str], ...] = ()
    aliases: tuple[Alias, ...] = ()
    alias_patterns: tuple[AliasPattern, ...] = ()
    terminal: tuple[tuple[str, str], ...] = ()
    manifest: str = ""

    def owns(self, finding_id: str) -> bool:
        """Whether ``finding_id`` is one of this family's ids."""
        return any(finding_id == p or (p.endswith(".") and finding_id.startswith(p))
                   for p in self.prefixes)


_REGISTRY: dict[str, Catalogue] = {}
_loaded = False


def register_catalogue(cat: Catalogue) -> Catalogue:
    """Register (or replace, by family name) a family's catalogue; returns it."""
    if not isinstance(cat, Catalogue):
        raise TypeError(f"register_catalogue: expected a Catalogue, got {type(cat).__name__}")
    bad = [h.better for h in cat.headlines] + [a.better for a in cat.aliases]
    bad += [p.better for p in cat.alias_patterns]
    if any(b not in _DIRECTIONS for b in bad):
        raise ValueError(f"catalogue {cat.family!r}: a direction is not one of {_DIRECTIONS}")
    if any(role not in TERMINAL_ROLES for _, role in cat.terminal):
        raise ValueError(f"catalogue {cat.family!r}: a terminal role is not one of "
                         f"{TERMINAL_ROLES}")
    _REGISTRY[cat.family] = cat
    return cat


def catalogues() -> tuple[Catalogue, ...]:
    """Every registered catalogue (the built-in ones are imported on the first call)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for name in KNOWN_CATALOGUES:
            importlib.import_module(name)
    return tuple(_REGISTRY.values())


def sections() -> list[Section]:
    """Every report section, in page order."""
    return sorted((s for c in catalogues() for s in c.sections), key=lambda s: s.order)


def section(anchor: str) -> Section | None:
    """Return the report section whose anchor is ``anchor``, else None."""
    return next((s for s in sections() if s.anchor == anchor), None)


def section_of(finding_id: str) -> str | None:
    """Return the anchor of the first section (in page order) whose prefixes match, else None."""
    return next((s.anchor for s in sections() if finding_id.startswith(s.prefixes)), None)


def headlines() -> list[Headline]:
    """Every headline, in report order."""
    return sorted((h for c in catalogues() for h in c.headlines), key=lambda h: h.order)


def in_gate_figure(finding_id: str, metric: str) -> bool:
    """Whether the gate's comparison figure shows this metric."""
    return any(matches(fp, finding_id) and metric == m
               for c in catalogues() for fp, m in c.gate_figure)


def in_comparison_summary(finding_id: str, metric: str, *, better: str) -> bool:
    """Whether ``trustbench compare`` shows this metric without ``--all``.

    ``better`` is the direction in which the metric improves, ``""`` when unknown.
    """
    return any(matches(fp, finding_id) and (bool(better) if mp == "*" else matches(mp, metric))
               for c in catalogues() for fp, mp in c.comparison_summary)


def gate_alias(name: str) -> Alias | None:
    """Return the ``--fail-on`` alias called ``name``, if a family declares one."""
    return next((a for c in catalogues() for a in c.aliases if a.name == name), None)


def alias_names() -> list[str]:
    """Return the names of every family's ``--fail-on`` aliases, sorted."""
    return sorted(a.name for c in catalogues() for a in c.aliases)


def alias_patterns() -> list[AliasPattern]:
    """Return every family's ``--fail-on`` alias patterns."""
    return [p for c in catalogues() for p in c.alias_patterns]


def terminal_role(finding_id: str) -> str:
    """Return the finding's role in the terminal summary (longest matching prefix), or ``""``."""
    best = ("", "")
    for c in catalogues():
        for prefix, role in c.terminal:
            if finding_id.startswith(prefix) and len(prefix) > len(best[0]):
                best = (prefix, role)
    return best[1]


def direction(metric: str) -> str:
    """Return the direction in which ``metric`` improves, as a catalogue declares it.

    The result is ``"higher"`` or ``"lower"`` when a catalogue declares the metric's
    direction (as a headline or an alias; ``accuracy@3`` is an ``accuracy``), else ``""``.
    """
    name = metric.split("@")[0]
    for c in catalogues():
        for h in c.headlines:
            if name in h.metrics and h.better:
                return h.better
        for a in c.aliases:
            if a.key.rpartition(":")[2] == name and a.better:
                return a.better
        for p in c.alias_patterns:
            if p.key.rpartition(":")[2] == name and p.better:
                return p.better
    return ""


def family_of(finding_id: str) -> str | None:
    """Return the name of the family that owns ``finding_id``, else None."""
    return next((c.family for c in catalogues() if c.owns(finding_id)), None)


def owned_prefixes() -> list[str]:
    """Every family's id prefixes and exact ids."""
    return [p for c in catalogues() for p in c.prefixes]


def manifest_ids() -> set[str]:
    """Return the ids of the families' run-manifest findings."""
    return {c.manifest for c in catalogues() if c.manifest}

"""A dataset card (datasheet) from an audit's scorecard, in Markdown and JSON.

The sections and questions are those of Gebru et al.'s datasheets. What the audit measured
(sizes, columns, fingerprints, missing values, balance, representation, known issues with
counts) is filled in; what only the dataset's owner knows (motivation, collection, consent,
licence, maintenance) is left as a clearly marked ``TODO (dataset owner)``.

References
----------
Gebru et al., "Datasheets for Datasets", Communications of the ACM 64(12), 2021.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trustbench._files import write_text_atomic
from trustbench.scorecard import Scorecard

__all__ = ["TODO", "card_texts", "dataset_card", "render_card", "write_card"]

TODO = "> TODO (dataset owner): "

_QUESTIONS: dict[str, list[str]] = {
    "Motivation": ["For what purpose was the dataset created? Was there a specific task in mind?",
                   "Who created the dataset, on behalf of which entity, and who funded it?"],
    "Collection Process": [
        "How was the data acquired (observed, reported, derived), and over what time frame?",
        "What sampling strategy was used, and who was involved in collecting it?",
        "If it relates to people: were they notified, did they consent, and can they revoke "
        "consent? Was a data protection impact analysis conducted?"],
    "Preprocessing/cleaning/labeling": [
        "What preprocessing, cleaning or labelling was done, by whom, and with which "
        "instructions? Is the raw data saved?"],
    "Uses": ["What tasks has the dataset been used for, and what should it not be used for?",
             "Could its composition or collection harm people or groups if used as is?"],
    "Distribution": ["How is the dataset distributed, under which licence or terms of use?",
                     "Do export controls or other regulatory restrictions apply?"],
    "Maintenance": ["Who maintains the dataset, and how can they be contacted?",
                    "Will it be updated (corrections, new rows, removals), how often, and how "
                    "will users learn of it?"],
}


def dataset_card(card: Scorecard) -> dict[str, Any]:
    """Return the card as a JSON-ready dict: measured facts and the questions left to a person."""
    p = card.provenance
    if p.get("kind") != "audit":
        from trustbench.errors import InputError

        raise InputError("a dataset card needs an audit's scorecard (trustbench audit), not a "
                         "scan's")
    issues = [{"id": f.id, "severity": f.severity, "title": f.title}
              for f in card.findings if f.severity in ("warn", "fail")]
    by_prefix: dict[str, list[dict[str, Any]]] = {}
    for f in card.findings:
        by_prefix.setdefault(f.id.split(".")[1] if f.id.startswith("audit.") else f.id,
                             []).append({"id": f.id, "title": f.title, "severity": f.severity,
                                         "metrics": {k: m.to_dict() for k, m in f.metrics.items()}})
    return {
        "title": f"Dataset card: {p['data']['train']['name']}",
        "generated": {"by": f"trustbench {p.get('versions', {}).get('trustbench', '')} audit",
                      "created": p.get("created"), "verdict": card.verdict},
        "motivation": {"todo": _QUESTIONS["Motivation"]},
        "composition": {
            "splits": p["data"], "roles": p["roles"], "columns": p["columns"],
            "classes": p["classes"],
            "missing": by_prefix.get("missing", []), "balance": by_prefix.get("imbalance", []),
            "representation": by_prefix.get("representation", []) + by_prefix.get("label_rate", []),
            "todo": ["Does the dataset contain data that might be considered confidential or "
                     "sensitive (health, finances, protected attributes)? Which columns?",
                     "Is any information missing from rows on purpose (redaction)?"]},
        "collection_process": {"todo": _QUESTIONS["Collection Process"],
                               "time_span": next(({"column": c["name"], "first": c["first"],
                                                   "last": c["last"]} for c in p["columns"]
                                                  if c["role"] == "time" and "first" in c), None)},
        "preprocessing_cleaning_labeling": {
            "label_errors": by_prefix.get("label_errors", []),
            "duplicates": by_prefix.get("duplicates", []),
            "leakage": by_prefix.get("leakage", []) + by_prefix.get("test_flags", []),
            "todo": _QUESTIONS["Preprocessing/cleaning/labeling"]},
        "uses": {"fairness": by_prefix.get("fairness", []), "todo": _QUESTIONS["Uses"]},
        "distribution": {"fingerprints": {k: v["sha256"] for k, v in p["data"].items()},
                         "todo": _QUESTIONS["Distribution"]},
        "maintenance": {"todo": _QUESTIONS["Maintenance"],
                        "reaudit": "trustbench audit " + _command(p)},
        "known_issues": issues,
        "not_measured": list(card.not_measured),
    }


def _command(p: dict[str, Any]) -> str:
    r = p["roles"]
    parts = [f"--data {p['data']['train']['source']}"]
    if "test" in p["data"]:
        parts.append(f"--test {p['data']['test']['source']}")
    parts.append(f"--target {r['target']}")
    parts += [f"--group {g}" for g in r.get("groups", [])]
    parts += [f"--{k} {r[k]}" for k in ("id", "time") if r.get(k)]
    return " ".join(parts)


def _todo(questions: list[str]) -> list[str]:
    out = []
    for q in questions:  # a blank line between quotes keeps them separate paragraphs
        out += [f"{TODO}{q}", ""]
    return out


def render_card(d: dict[str, Any]) -> str:
    """Render the card as Markdown, one section per datasheet heading."""
    comp = d["composition"]
    lines = [f"# {d['title']}", "",
             f"Generated by {d['generated']['by']} on {d['generated']['created']} "
             f"(verdict: **{d['generated']['verdict']}**). Measured facts are filled in; "
             "lines marked `TODO (dataset owner)` need a person who knows the data.", "",
             "## Motivation", "", *_todo(d["motivation"]["todo"]),
             "## Composition", ""]
    for split, s in comp["splits"].items():
        lines.append(f"- **{split}**: {s['rows']:,} rows × {s['columns']} columns ({s['name']})")
    r = comp["roles"]
    lines += [f"- **Label**: `{r['target']}`; **groups**: {', '.join(r['groups']) or 'none given'}"
              f"; **id**: {r['id'] or 'none'}; **time**: {r['time'] or 'none'}", "",
              "### Label distribution", "", "| class | train | test |", "|---|---:|---:|"]
    lines += [f"| {c} | {v['train']:,} | {v['test']:,} |" for c, v in comp["classes"].items()]
    lines += ["", "### Columns (train and test rows together)", "",
              "Counted over every row. Distinct values marked ~ are estimated (beyond 16,384 of "
              "them, from hashes); top values of a column with more than 1,000 values are "
              "lower bounds (Misra-Gries).", "",
              "| column | role | kind | missing | distinct | range / top values |",
              "|---|---|---|---:|---:|---|"]
    for c in comp["columns"][:200]:
        rng = (f"{c['min']:.4g} .. {c['max']:.4g}" if "min" in c else
               ", ".join(list(c.get("top_values", {}))[:3]))
        lines.append(f"| `{c['name']}` | {c['role']} | {c['kind']} | "
                     f"{c['missing_fraction']:.1%} | "
                     f"{'~' if c.get('distinct_estimated') else ''}{c['distinct']:,} | {_md(rng)} |")
    if len(comp["columns"]) > 200:
        lines.append(f"| ... {len(comp['columns']) - 200} more columns (see card.json) | | | | | |")
    lines += ["", "### Missing values, balance and representation", ""]
    for f in comp["missing"] + comp["balance"] + comp["representation"]:
        lines.append(f"- [{f['severity']}] {_md(f['title'])} (`{f['id']}`)")
    lines += ["", *_todo(comp["todo"]), "## Collection Process", ""]
    span = d["collection_process"].get("time_span")
    if span:
        lines += [f"- Rows span {span['first']} .. {span['last']} (column `{span['column']}`)", ""]
    lines += [*_todo(d["collection_process"]["todo"]),
              "## Preprocessing/cleaning/labeling", ""]
    pre = d["preprocessing_cleaning_labeling"]
    for f in pre["label_errors"] + pre["duplicates"] + pre["leakage"]:
        lines.append(f"- [{f['severity']}] {_md(f['title'])} (`{f['id']}`)")
    lines += ["", *_todo(pre["todo"]), "## Uses", ""]
    for f in d["uses"]["fairness"]:
        lines.append(f"- [{f['severity']}] {_md(f['title'])} (`{f['id']}`)")
    lines += ["", *_todo(d["uses"]["todo"]), "## Distribution", ""]
    lines += [f"- {k}: `{v}`" for k, v in d["distribution"]["fingerprints"].items()]
    lines += ["", *_todo(d["distribution"]["todo"]), "## Maintenance", "",
              *_todo(d["maintenance"]["todo"]),
              f"Re-run the audit after every change: `{d['maintenance']['reaudit']}`", "",
              "## Known issues", ""]
    lines += [f"- **{i['severity']}** {_md(i['title'])} (`{i['id']}`)" for i in d["known_issues"]]
    if not d["known_issues"]:
        lines.append("None found by the audit's checks.")
    lines += ["", "## Not measured", ""] + [f"- {_md(s)}" for s in d["not_measured"]]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def card_texts(card: Scorecard) -> tuple[str, str]:
    """Return the dataset card of an audit scorecard as ``(markdown, json)`` text."""
    d = dataset_card(card)
    return render_card(d), json.dumps(d, indent=2, default=str) + "\n"


def write_card(card: Scorecard, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``path`` (Markdown) and the same name with ``.json``; returns both paths."""
    md_text, json_text = card_texts(card)
    md = Path(path)
    js = md.with_suffix(".json")
    write_text_atomic(md_text, md, prefix="card")
    write_text_atomic(json_text, js, prefix="card")
    return md, js

"""Pieces of the HTML report that read one part of a Scorecard.

These are the robustness curves and table, the AI RMF view, provenance, and compact
evidence. Every string is escaped here.
"""

from __future__ import annotations

import html
import json
from typing import Any

from trustbench import plotspec
from trustbench.domain import norm_label
from trustbench.findings import Finding, Metric
from trustbench.nist import CHARACTERISTICS
from trustbench.report._common import fmt_ci, fmt_value, jsonable

MAX_LIST, MAX_STR, MAX_JSON = 20, 300, 6000


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


# --- robustness -------------------------------------------------------------------------

def _attack_point(f: Finding) -> tuple[str, str, float] | None:
    """``(attack, norm, eps)`` of a robustness finding, from its evidence or else its id."""
    ev = f.evidence
    parts = f.id.split(".", 3)  # robustness.<attack>.<norm>.<eps>; eps may hold a dot
    attack = "worst case" if len(parts) > 2 and parts[1] == "worst" else ev.get("attack")
    norm, eps = ev.get("norm"), ev.get("eps")
    if len(parts) == 4:
        attack = attack or parts[1]
        norm = norm or parts[2]
        if eps is None:
            try:
                eps = float(parts[3])
            except ValueError:
                return None
    if not attack or norm is None or not isinstance(eps, (int, float)) or isinstance(eps, bool):
        return None
    if "robust_accuracy" not in f.metrics:
        return None
    return str(attack), str(norm), float(eps)


def robustness_grid(findings: list[Finding]
                    ) -> dict[str, dict[str, dict[float, Metric]]]:
    """Norm -> attack -> eps -> robust accuracy; the worst case last within each norm."""
    grid: dict[str, dict[str, dict[float, Metric]]] = {}
    for f in findings:
        point = _attack_point(f)
        if point is not None:
            attack, norm, eps = point
            grid.setdefault(norm, {}).setdefault(attack, {})[eps] = f.metrics["robust_accuracy"]
    for norm, rows in grid.items():
        if "worst case" in rows:
            rows["worst case"] = rows.pop("worst case")
        grid[norm] = rows
    return grid


def robustness_curves(findings: list[Finding], clean: Metric | None, units: str
                      ) -> list[dict[str, Any]]:
    """One lines spec per norm: robust accuracy against eps per attack and the worst case.

    The 95% intervals are drawn as bands; clean accuracy (eps = 0) starts every curve.
    """
    specs = []
    for norm, rows in robustness_grid(findings).items():
        series = []
        for attack, by_eps in rows.items():
            pts = sorted(by_eps.items())
            if clean is not None and (not pts or pts[0][0] > 0):
                pts.insert(0, (0.0, clean))
            ci = [m.ci or (float("nan"), float("nan")) for _, m in pts]
            series.append({"label": attack, "x": [e for e, _ in pts], "y": [m.value for _, m in pts],
                           "lo": [c[0] for c in ci], "hi": [c[1] for c in ci]})
        unit_text = f" ({units} units)" if units else ""
        specs.append(plotspec.lines(
            f"Robust accuracy against {norm_label(norm)} eps{unit_text}; bands: 95% intervals",
            series, x_label=f"eps ({norm_label(norm)}{', ' + units if units else ''})",
            y_label="robust accuracy", y_range=(0.0, 1.0)))
    return specs


def robustness_table(findings: list[Finding]) -> str:
    parts = []
    for norm, rows in robustness_grid(findings).items():
        eps_values = sorted({e for by_eps in rows.values() for e in by_eps})
        head = "".join(f'<th class="num">eps={e:g}</th>' for e in eps_values)
        body = []
        for attack, by_eps in rows.items():
            cells = []
            for e in eps_values:
                m = by_eps.get(e)
                ci = fmt_ci(m) if m is not None else ""
                cells.append('<td class="num">' + (esc(fmt_value(m.value, m.unit)) if m else "–")
                             + (f'<br><span class="ci">{esc(ci)}</span>' if ci else "") + "</td>")
            name = f"<strong>{esc(attack)}</strong>" if attack == "worst case" else esc(attack)
            body.append(f"<tr><td>{name}</td>{''.join(cells)}</tr>")
        parts.append(f"<table class=\"robust\"><caption>Robust accuracy, {esc(norm_label(norm))}"
                     f" (95% interval below)</caption><thead><tr><th>attack</th>{head}</tr></thead>"
                     f"<tbody>{''.join(body)}</tbody></table>")
    return "".join(parts)


# --- metrics and evidence ---------------------------------------------------------------

def metrics_table(metrics: dict[str, Metric]) -> str:
    if not metrics:
        return ""
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td class=\"num\">{esc(fmt_value(m.value, m.unit))}</td>"
        f"<td class=\"num\">{esc(fmt_ci(m))}</td><td>{esc(m.unit)}</td></tr>"
        for name, m in metrics.items())
    return ('<table class="metrics"><thead><tr><th>metric</th><th class="num">value</th>'
            f'<th class="num">95% CI</th><th>unit</th></tr></thead><tbody>{rows}</tbody></table>')


def trim(obj: Any, depth: int = 0) -> Any:
    """Return a compact copy for display: long lists and strings cut, packed bit arrays named."""
    if depth > 6:
        return "…"
    if isinstance(obj, dict):
        if obj.get("encoding") == "packbits-base64":
            return f"<{obj.get('n', '?')} per-point outcomes, packed>"
        return {str(k): trim(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [trim(v, depth + 1) for v in obj[:MAX_LIST]]
        if len(obj) > MAX_LIST:
            out.append(f"… {len(obj) - MAX_LIST} more")
        return out
    if isinstance(obj, str) and len(obj) > MAX_STR:
        return obj[:MAX_STR] + f"… ({len(obj)} characters)"
    return obj


def compact_json(obj: Any, *, indent: int | None = 1) -> str:
    text = json.dumps(trim(obj), indent=indent, ensure_ascii=False, default=jsonable)
    return text if len(text) <= MAX_JSON else text[:MAX_JSON] + "\n… (cut)"


def data_table(table: Any) -> str:
    """``evidence["table"] = {"columns": [...], "rows": [[...], ...]}`` as an HTML table."""
    if not (isinstance(table, dict) and isinstance(table.get("columns"), list)
            and isinstance(table.get("rows"), list)):
        return ""
    cols = table["columns"]

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f'<td class="num">{esc(f"{v:.4g}")}</td>'
        if isinstance(v, (int, bool)) or v is None:
            return f'<td class="num">{esc("–" if v is None else v)}</td>'
        return f"<td>{esc(v)}</td>"

    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(cell(v) for v in r[: len(cols)]) + "</tr>"
                   for r in table["rows"][:MAX_LIST] if isinstance(r, list))
    return f'<table class="metrics"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def evidence_block(evidence: dict[str, Any]) -> str:
    table = data_table(evidence.get("table"))
    rest = {k: v for k, v in evidence.items() if k != "plots" and not (k == "table" and table)}
    if not rest:
        return table
    return table + (f'<details class="evidence"><summary>Evidence ({len(rest)} '
            f'field{"s" if len(rest) != 1 else ""})</summary>'
            f"<pre>{esc(compact_json(rest))}</pre></details>")


def kv_table(d: dict[str, Any]) -> str:
    rows = []
    for k, v in d.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            cell = esc("–" if v is None else v)
        elif isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v):
            cell = esc(", ".join(map(str, v[:MAX_LIST])) + (" …" if len(v) > MAX_LIST else ""))
        else:
            cell = f"<code>{esc(compact_json(v, indent=None))}</code>"
        rows.append(f"<tr><th>{esc(k)}</th><td>{cell}</td></tr>")
    return f'<table class="kv"><tbody>{"".join(rows)}</tbody></table>' if rows else ""


# --- AI RMF view and provenance ---------------------------------------------------------

def nist_view(findings: list[Finding], anchors: dict[str, str], note: str) -> str:
    """Render the findings grouped by trustworthy characteristic.

    Each group shows the functions and subcategories its findings are evidence toward; warn
    and fail findings are linked.
    """
    chars = list(CHARACTERISTICS) + sorted({c for f in findings for c in f.tags.characteristics}
                                           - set(CHARACTERISTICS))
    rows = []
    for c in [*chars, None]:
        tagged = [f for f in findings if (c in f.tags.characteristics if c
                                          else not f.tags.characteristics)]
        if not tagged:
            continue
        funcs = sorted({fn for f in tagged for fn in f.tags.functions})
        subs = sorted({s for f in tagged for s in f.tags.subcategories},
                      key=lambda s: [int(p) if p.isdigit() else p for p in s.replace(".", " ").split()])
        counts = " · ".join(f'<span class="badge sev-{s}">{sum(f.severity == s for f in tagged)} {s}'
                            "</span>" for s in ("fail", "warn", "info")
                            if any(f.severity == s for f in tagged))
        flagged = [f for f in tagged if f.severity != "info"]
        links = "".join(f'<li><a href="#{esc(anchors[f.id])}">{esc(f.title)}</a></li>'
                        for f in flagged[:8])
        more = f"<li>… {len(flagged) - 8} more</li>" if len(flagged) > 8 else ""
        rows.append(f"<tr><td>{esc(c or '(untagged)')}</td><td>{esc(', '.join(funcs))}</td>"
                    f"<td>{esc(', '.join(subs))}</td><td>{counts}"
                    f"{f'<ul>{links}{more}</ul>' if links else ''}</td></tr>")
    if not rows:
        return ""
    return (f'<p class="meta">{esc(note)}</p><table class="nist"><thead><tr><th>characteristic'
            "</th><th>functions</th><th>subcategories</th><th>findings</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def provenance(prov: dict[str, Any]) -> str:
    if not prov:
        return "<p>No provenance recorded.</p>"
    out = []
    top = {k: prov[k] for k in ("seed", "created") if k in prov}
    if top:
        out.append(kv_table(top))
    titles = {"model": "Model", "data": "Data", "versions": "Versions",
              "runtime": "Runtime (threads, attack batch size)",
              "timings_seconds": "Timings (seconds)"}
    for key, title in titles.items():
        if isinstance(prov.get(key), dict):
            out.append(f"<h3>{esc(title)}</h3>{kv_table(prov[key])}")
    if "config" in prov:
        out.append(f"<h3>Configuration</h3><pre>{esc(compact_json(prov['config']))}</pre>")
    rest = {k: v for k, v in prov.items()
            if k not in {*top, *titles, "config", "nist_ai_rmf"}}
    if rest:
        out.append(f"<h3>Other</h3>{kv_table(rest)}")
    return "".join(out)

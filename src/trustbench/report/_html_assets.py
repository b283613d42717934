"""The HTML report's inline style sheet and its one small script.

Both are inlined in every page so the file opens anywhere without a network. The page is
complete without the script: it only reports, for tests and curious readers, whether every
figure rendered (``<body data-render-status="ok" data-figures="N">``), and opens collapsed
sections before printing.
"""

from __future__ import annotations

CSS = """
:root { --info: #1a7f37; --warn: #9a6700; --fail: #cf222e; --ink: #1f2328; --muted: #59636e;
  --line: #d1d9e0; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.page { max-width: 1080px; margin: 0 auto; padding: 1.2rem 1.4rem 3rem; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 0.6rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 0.8rem; padding-bottom: 0.3rem;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.02rem; margin: 1rem 0 0.3rem; }
.finding h3 { display: inline; margin: 0; }
a { color: #0969da; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.82rem; }
pre { background: var(--bg-soft); padding: 0.6rem; overflow-x: auto; white-space: pre-wrap;
  word-break: break-word; border-radius: 6px; max-height: 28rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.88rem; }
th, td { border-bottom: 1px solid var(--line); padding: 0.25rem 0.6rem; text-align: left;
  vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: var(--muted); font-size: 0.8rem; }
.top { display: grid; grid-template-columns: 9rem 1fr; gap: 0.4rem 1.4rem; align-items: start;
  padding: 1rem 1.2rem; border: 1px solid var(--line); border-radius: 10px; }
.verdict { text-align: center; padding: 0.8rem 1.2rem; border-radius: 10px;
  color: #fff; }
.verdict .label { display: block; font-size: 0.8rem; opacity: 0.9; }
.verdict strong { font-size: 2rem; letter-spacing: 0.05em; }
.verdict-pass { background: var(--info); } .verdict-warn { background: var(--warn); }
.verdict-fail { background: var(--fail); }
.summary { margin: 0; } .meta { color: var(--muted); font-size: 0.85rem; margin: 0; }
.badge { display: inline-block; font-size: 0.72rem; font-weight: 700; padding: 0.08rem 0.45rem;
  border-radius: 1rem; color: #fff; vertical-align: 0.1rem; letter-spacing: 0.03em; }
.sev-info { background: var(--info); } .sev-warn { background: var(--warn); }
.sev-fail { background: var(--fail); }
.toc ol { columns: 2; padding-left: 1.3rem; margin: 0.3rem 0; }
.toc li { margin: 0.1rem 0; break-inside: avoid; }
.count { color: var(--muted); font-size: 0.85rem; }
.finding { border: 1px solid var(--line); border-left: 5px solid var(--info); border-radius: 6px;
  padding: 0.6rem 0.9rem; margin: 0.7rem 0; }
.finding.sev-warn-card { border-left-color: var(--warn); }
.finding.sev-fail-card { border-left-color: var(--fail); }
.finding .fid { color: var(--muted); font-size: 0.75rem; margin-left: 0.4rem; }
.finding .detail { margin: 0.4rem 0; }
.tags { color: var(--muted); font-size: 0.78rem; margin: 0.3rem 0 0; }
details { margin: 0.4rem 0; } summary { cursor: pointer; color: var(--muted); }
figure.plot { margin: 0.7rem 0; }
figure.plot svg, figure.plot img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.82rem; margin-top: 0.2rem; }
.plot-error { border: 1px dashed var(--fail); color: var(--fail); padding: 0.4rem 0.6rem;
  border-radius: 6px; font-size: 0.88rem; }
.attention li { margin: 0.15rem 0; }
.render-errors { display: none; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.8rem; }
@media (max-width: 700px) { .top { grid-template-columns: 1fr; }
  .toc ol { columns: 1; } }
@media print {
  html { font-size: 11pt; } .page { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  .finding, figure.plot, table { break-inside: avoid; } h2 { break-after: avoid; }
  pre { max-height: none; } summary { color: var(--ink); }
}
"""

SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (ev) {
    var t = ev.target;
    if (t && t !== window && t.tagName) { errors.push('resource failed: ' + t.tagName); }
    else { errors.push(String(ev.message || 'script error')); }
  }, true);
  function check() {
    var figs = document.querySelectorAll('figure.plot'), drawn = 0;
    for (var i = 0; i < figs.length; i++) {
      var f = figs[i], img = f.querySelector('img'), svg = f.querySelector('svg');
      if (img) {
        if (img.complete && img.naturalWidth > 0) { drawn++; }
        else { errors.push('image did not load: ' + f.id); }
      } else if (svg && svg.childElementCount > 0) { drawn++; }
      else { errors.push('figure without a picture: ' + f.id); }
    }
    var imgs = document.querySelectorAll('img');
    for (var j = 0; j < imgs.length; j++) {
      if (!(imgs[j].complete && imgs[j].naturalWidth > 0)) { errors.push('broken image ' + j); }
    }
    var body = document.body;
    var expected = parseInt(body.getAttribute('data-figures-expected') || '0', 10);
    if (drawn !== expected) { errors.push('drew ' + drawn + ' of ' + expected + ' figures'); }
    body.setAttribute('data-figures', String(drawn));
    body.setAttribute('data-render-status', errors.length ? 'error' : 'ok');
    document.getElementById('render-errors').textContent = errors.join('\\n');
  }
  window.addEventListener('load', check);
  window.addEventListener('beforeprint', function () {
    var d = document.querySelectorAll('details');
    for (var i = 0; i < d.length; i++) { d[i].open = true; }
  });
})();
"""

"""The labelling page of :mod:`trustbench.align.label`: one HTML file, inline CSS and JS.

Nothing is loaded from elsewhere (no CDN, no fonts), so it works offline and the server can
send a Content-Security-Policy that allows exactly these two inline blocks, by hash. Every
text from the pairs file goes into the page through ``textContent``, never as HTML.
"""

from __future__ import annotations

__all__ = ["PAGE", "SCRIPT", "STYLE"]

STYLE = """
:root { color-scheme: light dark; --accent: #2f6fdf; --line: #8884; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; }
h1 { font-size: 1.3rem; margin: 0; flex: 1 1 auto; }
h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; margin: 0 0 .3rem; opacity: .7; }
.progress { display: flex; gap: .7rem; align-items: center; }
progress { width: 14rem; height: .8rem; accent-color: var(--accent); }
#counts, #who { opacity: .7; font-size: .9rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid var(--line);
        border-radius: 6px; padding: .7rem .9rem; min-height: 3rem; }
.prompt { margin: 1rem 0; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.buttons { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; justify-content: center; }
button { font: inherit; padding: .5rem 1rem; border-radius: 6px; border: 1px solid var(--line);
         cursor: pointer; background: Canvas; color: CanvasText; }
button.primary { border-color: var(--accent); }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button:disabled { opacity: .5; cursor: default; }
#error { border: 1px solid #c33; color: #c33; border-radius: 6px; padding: .5rem .9rem; }
footer { margin-top: 1.5rem; display: flex; gap: 1rem; align-items: center; font-size: .9rem; }
@media (max-width: 700px) { .pair { grid-template-columns: 1fr; } }
"""

SCRIPT = """
"use strict";
const $ = (id) => document.getElementById(id);
const KEYS = {"1": "left", "arrowleft": "left", "2": "right", "arrowright": "right",
              "3": "tie", "t": "tie", "s": "skip"};
let current = null;
let busy = false;

function setBusy(on) {
  busy = on;
  for (const b of document.querySelectorAll("button[data-choice]")) b.disabled = on || current === null;
}

function fail(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function show(data) {
  const p = data.progress;
  $("bar").max = Math.max(p.total, 1);
  $("bar").value = p.done;
  $("progress-text").textContent = `${p.done} of ${p.total} labelled`;
  $("counts").textContent = `${p.chosen} preferred \\u00b7 ${p.tie} tied \\u00b7 ${p.skip} skipped`;
  $("who").textContent = data.annotator ? `labelling as ${data.annotator}` : "";
  document.body.dataset.done = String(p.done);
  if (data.done) {
    current = null;
    $("task").hidden = true;
    $("done").hidden = false;
    $("done-text").textContent = `All ${p.total} pairs are labelled. You can close this tab.`;
    delete document.body.dataset.pairId;
    document.body.dataset.state = "done";
    return;
  }
  current = data.id;
  $("prompt").textContent = data.prompt;
  $("left").textContent = data.left;
  $("right").textContent = data.right;
  $("task").hidden = false;
  document.body.dataset.pairId = data.id;
  document.body.dataset.state = "ready";
}

async function call(method, url, body) {
  const init = {method, headers: {"Accept": "application/json"}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new Error("the labelling server does not answer (was it stopped?)");
  }
  let data = null;
  try { data = await response.json(); } catch (e) { /* not JSON: reported below */ }
  if (!response.ok || data === null) {
    const error = new Error((data && data.error) || `the server answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

async function load() {
  try { show(await call("GET", "/api/next")); } catch (e) { fail(e.message); }
  setBusy(false);
}

async function choose(choice) {
  if (busy || current === null) return;
  setBusy(true);
  try {
    const next = await call("POST", "/api/choice", {id: current, choice});
    $("error").hidden = true;
    show(next);
  } catch (e) {
    fail(e.message);
    if (e.status === 409) { await load(); return; }  // labelled elsewhere: move on
  }
  setBusy(false);
}

async function stop() {
  try {
    await call("POST", "/api/stop", {});
  } catch (e) { fail(e.message); return; }
  current = null;
  setBusy(false);
  $("task").hidden = true;
  $("stop").disabled = true;
  $("stopped").hidden = false;
  document.body.dataset.state = "stopped";
}

for (const b of document.querySelectorAll("button[data-choice]")) {
  b.addEventListener("click", () => choose(b.dataset.choice));
}
$("stop").addEventListener("click", stop);
document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
  const choice = KEYS[ev.key.toLowerCase()];
  if (choice === undefined) return;
  ev.preventDefault();
  choose(choice);
});
load();
"""

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Label preferences - trustbench</title>
<link rel="icon" href="data:,">
<style>{STYLE}</style>
</head>
<body data-state="loading">
<header>
  <h1>Which response answers the prompt better?</h1>
  <span id="who"></span>
  <div class="progress">
    <progress id="bar" value="0" max="1"></progress>
    <span id="progress-text" aria-live="polite">loading…</span>
    <span id="counts"></span>
  </div>
</header>
<p id="error" role="alert" hidden></p>
<main id="task" hidden>
  <section class="prompt"><h2>Prompt</h2><div id="prompt" class="text"></div></section>
  <div class="pair">
    <section><h2>Left</h2><div id="left" class="text"></div></section>
    <section><h2>Right</h2><div id="right" class="text"></div></section>
  </div>
  <div class="buttons">
    <button id="choose-left" class="primary" data-choice="left" disabled>Left is better (1 / ←)</button>
    <button id="choose-right" class="primary" data-choice="right" disabled>Right is better (2 / →)</button>
    <button id="choose-tie" data-choice="tie" disabled>Tie (3 / t)</button>
    <button id="choose-skip" data-choice="skip" disabled>Skip (s)</button>
  </div>
</main>
<section id="done" hidden><h2>Done</h2><p id="done-text"></p></section>
<section id="stopped" hidden><h2>Stopped</h2>
  <p>The labelling server has stopped. Every choice so far is saved; run the same command
  again to go on where you left off.</p></section>
<footer>
  <button id="stop" type="button">Finish for now</button>
  <span>Keys: 1 or ← left, 2 or → right, 3 or t tie, s skip.</span>
</footer>
<script>{SCRIPT}</script>
</body>
</html>
"""

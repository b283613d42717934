/* trustbench monitor dashboard: one static page, two views, no libraries, no build step.
 *
 *   /                  every monitored model, alerting ones first
 *   /monitors/<name>   one model: drift heat map, performance, fairness, alerts, versions
 *
 * The page polls a cheap token endpoint (every <body data-refresh-ms> ms, 2000 by default)
 * and refetches the data only when the token changes. Failures end up on the page, never in
 * the console (a browser test checks that it stays clean): 401/403 show the key form, network
 * errors and 5xx the banner, other answers a sentence. Anything that still escapes is listed
 * in <pre id="render-errors"> and flips <body data-render-status> to "error".
 *
 * Hooks for tests: <body data-view data-windows data-token data-render-status>, and on the
 * model page each <section data-panel="drift|performance|fairness|alerts|versions"> gets
 * data-rendered="true" (and data-empty="true|false") once drawn.
 */
(() => {
  'use strict';

  const SVG_NS = 'http://www.w3.org/2000/svg';
  const KEY_NAME = 'trustbench-key';
  const MAX_WINDOWS = 120;  // charts show the latest windows; `trustbench monitor report` has all
  const MAX_ALERTS = 50;
  // Okabe–Ito colours (and Tol's purple, darker than Okabe–Ito's pink): told apart with every common colour-vision deficiency.
  const C = { realised: '#0072B2', estimate: '#D55E00', worst: '#009E73', dpd: '#AA3377', reference: '#57606a' };
  // Drift ratio -> colour: a sequential ramp (lightness falls monotonically), capped at 2.
  const RAMP = [[0, '#fff7ec'], [0.5, '#fdd49e'], [1, '#fc8d59'], [1.5, '#d7301f'], [2, '#7f0000']];

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const main = $('main');
  const refreshMs = Math.max(250, Number(body.dataset.refreshMs) || 2000);
  const errors = [];

  function noteError(what) {
    errors.push(String(what));
    if (errors.length > 20) errors.shift();  // a payload that fails every poll must not grow forever
    $('render-errors').textContent = errors.join('\n');
    body.dataset.renderStatus = 'error';
  }
  window.addEventListener('error', (ev) => noteError(ev.message || 'script error'));
  window.addEventListener('unhandledrejection', (ev) => noteError('unhandled: ' + (ev.reason && ev.reason.message || ev.reason)));

  // ---------------------------------------------------------------- DOM and formatting helpers

  // el('a', {href: '/'}, 'text', child): attributes (null/false skipped), then children.
  const el = (tag, attrs, ...kids) => fill(document.createElement(tag), attrs, kids);
  const svg = (tag, attrs, ...kids) => fill(document.createElementNS(SVG_NS, tag), attrs, kids);
  function fill(node, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v != null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid != null && kid !== false) node.append(kid instanceof Node ? kid : String(kid));
    }
    return node;
  }

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const fix = (v, d = 2) => (isNum(v) ? v.toFixed(d) : '—');
  const pct = (v, d = 1) => (isNum(v) ? (100 * v).toFixed(d) + '%' : '—');
  const pp = (v) => (isNum(v) ? (v >= 0 ? '+' : '−') + Math.abs(100 * v).toFixed(1) + ' pp' : '—');
  const ci = (m, f) => (m && m.lo != null && m.hi != null ? ` (${f(m.lo)} to ${f(m.hi)})` : '');
  const two = (n) => String(n).padStart(2, '0');
  const clock = (d) => `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;

  // "14:03" today, "2024-05-01 14:03" otherwise; the raw string when it does not parse.
  function when(iso) {
    const d = new Date(iso);
    if (!iso || Number.isNaN(d.getTime())) return iso || '—';
    const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
    const today = new Date().toDateString() === d.toDateString();
    return today ? hm : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${hm}`;
  }
  const timeEl = (iso) => el('time', { datetime: iso, title: iso }, when(iso));

  function badge(state, open) {
    if (state === 'alert') return el('span', { class: 'badge b-alert', 'data-state': state }, `ALERT ${open || ''}`.trim());
    if (state === 'ok') return el('span', { class: 'badge b-ok', 'data-state': state }, 'OK');
    return el('span', { class: 'badge b-empty', 'data-state': state || 'empty' }, 'no data yet');
  }

  // ---------------------------------------------------------------- API key and requests

  function readKey() { try { return sessionStorage.getItem(KEY_NAME) || ''; } catch (_) { return ''; } }
  function writeKey(k) { try { k ? sessionStorage.setItem(KEY_NAME, k) : sessionStorage.removeItem(KEY_NAME); } catch (_) { /* storage off */ } }

  // One GET. Resolves to {status, data}; status 0 means no usable answer. Never rejects.
  async function api(path) {
    const headers = { Accept: 'application/json' };
    const key = readKey();
    if (key) headers.Authorization = 'Bearer ' + key;
    try {
      const res = await fetch(path, { headers, cache: 'no-store' });
      if (!res.ok) return { status: res.status, data: null };
      return { status: res.status, data: await res.json() };
    } catch (_) {
      return { status: 0, data: null };  // offline, refused, or not JSON (a proxy's error page)
    }
  }

  // ---------------------------------------------------------------- polling

  let token = null;     // token of what is on screen; null forces the next fetch
  let timer = 0;
  let paused = false;   // while the key form waits for a key
  let inFlight = false;
  let problem = null;   // HTTP status of the sentence on screen, so it is not redrawn every poll
  let renders = 0;

  let view = null;  // set at start, once every function below exists

  function viewFromPath(path) {
    const m = /^\/monitors\/([^/]+)\/?$/.exec(path);
    if (!m) return { kind: 'overview', tokenUrl: '/api/token', load: loadOverview, render: renderOverview };
    let name = m[1];
    try { name = decodeURIComponent(name); } catch (_) { /* keep it raw */ }
    const base = '/api/monitors/' + encodeURIComponent(name);
    return { kind: 'model', name, tokenUrl: base + '/token', load: () => loadModel(base, name), render: renderModel };
  }

  // One loop only: a tick started while another is in flight (the key form's submit) is dropped,
  // and the running one schedules the next.
  async function tick() {
    clearTimeout(timer);
    if (paused || inFlight) return;
    inFlight = true;
    try { await refresh(); } catch (err) { noteError(err && err.stack || err); } finally { inFlight = false; }
    if (!paused) timer = setTimeout(tick, refreshMs);
  }

  async function refresh() {
    const t = await api(view.tokenUrl);
    if (!answered(t)) return;
    const polled = t.data && t.data.token;
    if (polled != null && polled === token) return;  // nothing new: leave the page alone
    const loaded = await view.load();
    if (!answered(loaded)) return;
    problem = null;
    show(view.render(loaded.data));
    // The polled token, not the payload's: if data changed in between we fetch once more.
    token = polled == null ? null : polled;
    body.dataset.token = token == null ? '' : String(token);
  }

  // Sort an answer into the page's states; true when it carries data to draw.
  function answered(res) {
    if (res.status >= 200 && res.status < 300) { setStatus('live'); return true; }
    if (res.status === 401 || res.status === 403) { askKey(res.status); return false; }
    if (res.status === 0 || res.status >= 500) { setStatus('down'); return false; }
    setStatus('live');
    token = null;  // e.g. 404 for a monitor not created yet: say so, and keep asking
    if (problem === res.status) return false;
    problem = res.status;
    show(res.status === 404 && view.kind === 'model'
      ? [pageHead(view.name, null), el('p', { class: 'empty' }, `No monitor named “${view.name}” on this server. `,
          el('a', { href: '/' }, 'See all monitored models'), '.')]
      : [el('p', { class: 'empty' }, `The server answered ${res.status}; retrying.`)]);
    return false;
  }

  function setStatus(state) {
    $('banner').hidden = state !== 'down';
    const dot = $('status');
    dot.dataset.state = state;
    dot.textContent = { live: 'live', down: 'reconnecting', key: 'needs a key' }[state];
    dot.title = 'last checked ' + clock(new Date());
    const waiting = main.querySelector('.loading');  // only before the first render
    if (waiting) waiting.textContent = { live: 'Loading…', down: 'Waiting for the server…', key: 'Waiting for an API key.' }[state];
  }

  // Swap the page content, keeping the scroll position and the focused link or control.
  function show(nodes) {
    const x = window.scrollX, y = window.scrollY;
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.key : null;
    main.replaceChildren(...[nodes].flat());
    if (focused) {
      const again = [...main.querySelectorAll('[data-key]')].find((n) => n.dataset.key === focused);
      if (again) again.focus({ preventScroll: true });
    }
    window.scrollTo(x, y);
    renders += 1;
    if (renders > 1) $('live').textContent = 'Dashboard updated ' + clock(new Date());
    if (!errors.length) body.dataset.renderStatus = 'ok';
  }

  // ---------------------------------------------------------------- key form

  function askKey(status) {
    const hadKey = Boolean(readKey());
    writeKey('');  // a refused key is not sent again
    paused = true;
    setStatus('key');
    const form = $('key-form');
    $('key-error').textContent = hadKey ? `The server refused that key (${status}). Try another.` : '';
    if (form.hidden) { form.hidden = false; $('key-input').focus(); }
  }

  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('key-input').value.trim();
    if (!key) return;
    writeKey(key);
    $('key-input').value = '';
    $('key-form').hidden = true;
    paused = false;
    token = null;
    tick();
  });

  // ---------------------------------------------------------------- overview

  function loadOverview() { return api('/api/monitors'); }
  const URGENCY = { alert: 0, ok: 1, empty: 2 };

  function pageHead(title, state, open, ...meta) {
    return el('header', { class: 'page-head' },
      el('div', { class: 'title-row' }, el('h1', {}, title), state ? badge(state, open) : null),
      el('p', { class: 'meta' }, ...meta, el('span', { id: 'updated' }, 'updated ' + clock(new Date()))));
  }

  function renderOverview(data) {
    const models = ((data && data.monitors) || []).slice().sort((a, b) =>
      (URGENCY[a.state] ?? 3) - (URGENCY[b.state] ?? 3) || (b.open_alerts || 0) - (a.open_alerts || 0)
      || String(a.name).localeCompare(String(b.name)));
    body.dataset.windows = String(models.reduce((n, m) => n + (m.windows || 0), 0));
    body.dataset.monitors = String(models.length);
    document.title = 'Monitored models — trustbench monitor';
    const alerting = models.filter((m) => m.state === 'alert').length;
    const head = pageHead('Monitored models', null, 0,
      el('span', {}, `${models.length} model${models.length === 1 ? '' : 's'}`),
      alerting ? el('span', { class: 'alerting' }, `${alerting} alerting`) : null);
    if (!models.length) {
      return [head, el('p', { class: 'empty', 'data-empty': 'true' }, 'No monitors yet: start one with ',
        el('code', {}, 'trustbench monitor init …'), ' and send a batch with ', el('code', {}, 'trustbench monitor ingest …'), '.')];
    }
    const rows = models.map((m) => {
      const l = m.latest;
      return el('tr', { 'data-monitor': m.name, 'data-state': m.state },
        el('th', { scope: 'row' }, el('a', { href: '/monitors/' + encodeURIComponent(m.name), 'data-key': 'm:' + m.name }, m.name)),
        el('td', {}, badge(m.state, m.open_alerts)),
        el('td', { class: 'num' }, m.windows ?? 0),
        el('td', {}, l ? [el('span', { class: 'seq' }, '#' + l.seq), ' ', timeEl(l.received_at),
          el('span', { class: 'muted' }, ` · ${Number(l.rows).toLocaleString('en')} rows`)] : el('span', { class: 'muted' }, '—')),
        el('td', {}, (m.versions || []).map((v) => el('span', { class: 'chip' + (l && l.version === v ? ' current' : '') }, v))));
    });
    return [head, el('div', { class: 'card table-wrap' }, el('table', { class: 'models' },
      el('caption', { class: 'sr-only' }, 'Monitored models, alerting first'),
      el('thead', {}, el('tr', {}, ['Model', 'State', 'Windows', 'Latest window', 'Versions'].map((h) =>
        el('th', { scope: 'col', class: h === 'Windows' ? 'num' : null }, h)))),
      el('tbody', {}, rows)))];
  }

  // ---------------------------------------------------------------- model page

  async function loadModel(base, name) {
    // The dashboard payload has no state; the overview list has it (see the report).
    const [dash, list] = await Promise.all([api(base + '/dashboard'), api('/api/monitors')]);
    if (dash.status < 200 || dash.status >= 300) return dash;
    const entry = list.data && (list.data.monitors || []).find((m) => m.name === name);
    return { status: dash.status, data: { ...dash.data, entry } };
  }

  function renderModel(d) {
    const windows = (d.windows || []).slice(-MAX_WINDOWS);
    const latest = windows[windows.length - 1];
    const alerts = d.alerts || [];
    const entry = d.entry || {};
    const state = d.state || entry.state || (!windows.length ? 'empty' : alerts.length ? 'alert' : 'ok');
    const open = d.open_alerts ?? entry.open_alerts ?? alerts.length;
    body.dataset.windows = String(windows.length);
    document.title = `${state === 'alert' ? 'ALERT · ' : ''}${d.name || view.name} — trustbench monitor`;
    const total = (d.windows || []).length;
    const head = pageHead(d.name || view.name, state, open,
      el('a', { href: '/', class: 'back', 'data-key': 'back' }, '← All models'),
      el('span', {}, total > windows.length ? `latest ${windows.length} of ${total} windows` : `${total} window${total === 1 ? '' : 's'}`),
      latest ? el('span', {}, `latest #${latest.seq} `, timeEl(latest.received_at), ` · ${latest.rows} rows · ${latest.version}`) : null);
    return [head, el('div', { class: 'grid' },
      panel('drift', 'Drift by column', drift(d.drift)),
      panel('performance', 'Accuracy', performance(d.performance)),
      panel('fairness', 'Fairness', fairness(d.fairness)),
      panel('alerts', 'Alerts', alertTable(alerts)),
      panel('versions', 'Model versions', versionList(d.versions || [])))];
  }

  // A panel holds either its content or, when there is nothing to draw, one sentence.
  function panel(id, title, content) {
    const empty = typeof content === 'string';
    return el('section', { class: 'panel card', 'data-panel': id, 'aria-labelledby': 'h-' + id,
      'data-rendered': 'true', 'data-empty': String(empty) },
    el('h2', { id: 'h-' + id }, title), empty ? el('p', { class: 'empty' }, content) : content);
  }

  // Keep the last MAX_WINDOWS entries of a window-aligned array.
  const tail = (arr, n) => (arr || []).slice(Math.max(0, (arr || []).length - n));

  // ---------------------------------------------------------------- drift heat map

  function colour(r) {
    if (!isNum(r)) return '#e6e8eb';
    const v = Math.min(Math.max(r, 0), 2);
    let i = 1;
    while (i < RAMP.length - 1 && v > RAMP[i][0]) i += 1;
    const [x0, c0] = RAMP[i - 1], [x1, c1] = RAMP[i];
    const t = (v - x0) / (x1 - x0);
    const ch = (c, k) => parseInt(c.slice(1 + 2 * k, 3 + 2 * k), 16);
    return 'rgb(' + [0, 1, 2].map((k) => Math.round(ch(c0, k) + t * (ch(c1, k) - ch(c0, k)))).join(',') + ')';
  }

  function drift(dr) {
    const cols = (dr && dr.columns) || [];
    const seqs = tail(dr && dr.windows, MAX_WINDOWS);
    if (!cols.length || !seqs.length) return 'No windows yet: drift appears after the first batch.';
    const skip = dr.windows.length - seqs.length;
    const ratio = cols.map((_, r) => ((dr.ratio || [])[r] || []).slice(skip));
    const alarm = cols.map((_, r) => ((dr.alarm || [])[r] || []).slice(skip));
    const W = 640, cellH = 22, top = 4, right = 6;
    const longest = Math.max(...cols.map((c) => String(c).length));
    const left = Math.min(150, Math.max(50, longest * 6.6 + 10));
    const cw = (W - left - right) / seqs.length;
    const H = top + cols.length * cellH + 32;
    const gap = cw > 6 ? 1 : 0;
    const dots = cw >= 9;
    const parts = [];
    cols.forEach((name, r) => {
      const y = top + r * cellH;
      const label = String(name).length > 22 ? String(name).slice(0, 21) + '…' : String(name);
      parts.push(svg('text', { x: left - 6, y: y + cellH / 2, class: 'row-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' },
        svg('title', {}, name), label));
      seqs.forEach((seq, c) => {
        const v = ratio[r][c], on = Boolean(alarm[r][c]), x = left + c * cw;
        const tip = `${name}, window ${seq}: ratio ${isNum(v) ? v.toFixed(2) : 'no value'}${on ? ' — ALARM' : ''}`;
        // Without a gap, cells overlap by half a unit so no hairline seams show between them.
        parts.push(svg('rect', { x, y, width: gap ? cw - gap : cw + 0.5, height: cellH - 1, fill: colour(v),
          class: on ? 'cell alarm' : 'cell', 'data-alarm': on ? 'true' : null }, svg('title', {}, tip)));
        if (on && dots) {
          parts.push(svg('circle', { cx: x + (cw - gap) / 2, cy: y + (cellH - 1) / 2, r: Math.min(cw, cellH) * 0.2, class: 'alarm-dot' }));
        } else if (on) {  // cells too narrow for a dot: a dark bar along the cell's foot
          parts.push(svg('rect', { x, y: y + cellH - 5, width: cw + 0.5, height: 4, class: 'alarm-bar' }));
        }
      });
    });
    const step = intStep(seqs.length, Math.floor((W - left) / 34));
    seqs.forEach((seq, c) => {
      if ((seqs.length - 1 - c) % step) return;  // count back from the latest so it is labelled
      parts.push(svg('text', { x: left + c * cw + cw / 2, y: top + cols.length * cellH + 14, 'text-anchor': 'middle', class: 'tick' }, seq));
    });
    parts.push(svg('text', { x: left + (W - left - right) / 2, y: H - 2, 'text-anchor': 'middle', class: 'axis-title' }, 'window'));
    const last = cols.filter((_, r) => alarm[r][seqs.length - 1]);
    const summary = last.length ? `alarms in the latest window ${seqs[seqs.length - 1]}: ${last.join(', ')}`
      : `no alarm in the latest window ${seqs[seqs.length - 1]}`;
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart heatmap', role: 'img',
      'aria-label': `Drift heat map, ${cols.length} columns over ${seqs.length} windows; ${summary}` }, parts);
    const legend = el('div', { class: 'legend', 'aria-hidden': 'true' },
      el('span', { class: 'ramp' }, el('span', { class: 'ramp-bar' }),
        el('span', { class: 'ramp-labels' }, el('span', {}, '0'), el('span', {}, '1 = minimum effect'), el('span', {}, '≥ 2'))),
      el('span', { class: 'key' }, el('span', { class: dots ? 'dot' : 'bar' }), 'alarm (significant, ratio ≥ 1)'),
      el('span', { class: 'key' }, el('span', { class: 'swatch none' }), 'no value'));
    return [el('p', { class: 'lead' + (last.length ? ' bad' : '') }, summary[0].toUpperCase() + summary.slice(1) + '.'),
      chart, legend, el('p', { class: 'note' }, 'Colour: effect over the minimum effect worth an alarm, capped at 2.')];
  }

  // A tick step (in windows) so that at most `room` labels fit.
  function intStep(n, room) {
    const raw = Math.max(1, Math.ceil(n / Math.max(room, 1)));
    return [1, 2, 5, 10, 20, 25, 50, 100, 200, 500].find((s) => s >= raw) || raw;
  }

  // ---------------------------------------------------------------- line charts

  function niceTicks(lo, hi, n) {
    const span = hi - lo || 1;
    const mag = 10 ** Math.floor(Math.log10(span / n));
    const step = [1, 2, 2.5, 5, 10].map((s) => s * mag).find((s) => span / s <= n) || 10 * mag;
    const out = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step) out.push(+v.toFixed(10));
    const digits = (String(+step.toFixed(8)).split('.')[1] || '').length;
    return { values: out, digits };
  }

  let patternId = 0;

  /* One chart: x = window number, y = a fraction with its interval band.
   * series: [{name, values: [null | {value, lo, hi}], colour, estimate}] aligned with xs.
   * Estimates are dashed with a hatched band so they never read as measured numbers. */
  function lineChart(xs, series, { label, height = 210, floor = null, reference = null }) {
    const W = 640, H = height, m = { l: 46, r: 14, t: 10, b: 34 };
    const all = series.flatMap((s) => s.values.filter(Boolean).flatMap((p) => [p.value, p.lo, p.hi]))
      .concat(reference ? reference.values : []).filter(isNum);
    let lo = Math.min(...all), hi = Math.max(...all);
    const pad = Math.max((hi - lo) * 0.12, 0.02);
    lo = floor != null ? Math.min(floor, lo) : Math.max(0, lo - pad);
    hi = Math.min(1, hi + pad);
    if (hi - lo < 0.05) hi = Math.min(1, lo + 0.05);
    const x0 = Math.min(...xs), x1 = Math.max(...xs);
    const sx = (x) => m.l + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - m.l - m.r);
    const sy = (v) => H - m.b - ((v - lo) / (hi - lo)) * (H - m.t - m.b);
    const yt = niceTicks(lo, hi, 5);
    const parts = [];
    const defs = svg('defs');
    parts.push(defs);
    yt.values.forEach((v) => {
      parts.push(svg('line', { x1: m.l, x2: W - m.r, y1: sy(v), y2: sy(v), class: 'grid-line' }),
        svg('text', { x: m.l - 6, y: sy(v), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'tick' }, v.toFixed(yt.digits)));
    });
    const step = intStep(x1 - x0 + 1, 12);
    for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) {
      parts.push(svg('line', { x1: sx(x), x2: sx(x), y1: H - m.b, y2: H - m.b + 4, class: 'axis' }),
        svg('text', { x: sx(x), y: H - m.b + 15, 'text-anchor': 'middle', class: 'tick' }, x));
    }
    parts.push(svg('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, class: 'axis' }),
      svg('text', { x: m.l + (W - m.l - m.r) / 2, y: H - 3, 'text-anchor': 'middle', class: 'axis-title' }, 'window'));
    if (reference) {  // what each labelled window is compared with: its version's reference
      const half = xs.length > 1 ? (sx(x1) - sx(x0)) / (xs.length - 1) / 2 : 8;
      const runs = [];
      xs.forEach((x, i) => {
        const v = reference.values[i];
        const last = runs[runs.length - 1];
        if (!isNum(v)) return;
        if (last && last.v === v && last.to === xs[i - 1]) last.to = x;
        else runs.push({ v, from: x, to: x });
      });
      runs.forEach((r, i) => {
        parts.push(svg('line', { x1: Math.max(m.l, sx(r.from) - half), x2: Math.min(W - m.r, sx(r.to) + half),
          y1: sy(r.v), y2: sy(r.v), stroke: C.reference, 'stroke-width': 1.5, 'stroke-dasharray': '2 3', class: 'reference-line' },
        svg('title', {}, `${reference.name} ${fix(r.v, 3)} (windows ${r.from}-${r.to})`)));
        if (i === runs.length - 1) {
          parts.push(svg('text', { x: Math.min(W - m.r, sx(r.to) + half) - 4, y: sy(r.v) - 4, 'text-anchor': 'end', class: 'tick' },
            `${reference.name} ${fix(r.v)}`));
        }
      });
    }
    for (const s of series) {
      let fillBand = s.colour;
      if (s.estimate) {
        patternId += 1;
        const id = 'hatch-' + patternId;
        defs.append(svg('pattern', { id, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
          svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: s.colour, 'stroke-width': 2, 'stroke-opacity': 0.35 })));
        fillBand = `url(#${id})`;
      }
      for (const seg of segments(xs, s.values)) {
        const band = seg.map(([x, p]) => `${sx(x)},${sy(p.hi ?? p.value)}`).concat(
          seg.slice().reverse().map(([x, p]) => `${sx(x)},${sy(p.lo ?? p.value)}`));
        parts.push(svg('polygon', { points: band.join(' '), fill: fillBand, 'fill-opacity': s.estimate ? 1 : 0.16, class: 'band' }));
        if (seg.length > 1) {
          parts.push(svg('polyline', { points: seg.map(([x, p]) => `${sx(x)},${sy(p.value)}`).join(' '), fill: 'none',
            stroke: s.colour, 'stroke-width': 2, 'stroke-dasharray': s.estimate ? '6 4' : null, class: 'line' }));
        }
        for (const [x, p] of seg) {  // many windows: points stay as invisible hover targets
          const dense = xs.length > 60;
          parts.push(svg('circle', { cx: sx(x), cy: sy(p.value), r: dense ? 3 : 2.8, fill: dense ? 'transparent' : s.estimate ? '#fff' : s.colour,
            stroke: dense ? 'none' : s.colour, 'stroke-width': 1.5 },
          svg('title', {}, `window ${x}: ${s.name} ${fix(p.value, 3)}${ci(p, (v) => fix(v, 3))}`)));
        }
      }
    }
    return svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label }, parts);
  }

  // Runs of consecutive non-null points, as [x, point] pairs; nulls break the line.
  function segments(xs, values) {
    const out = [];
    let run = [];
    xs.forEach((x, i) => {
      const p = values[i];
      if (p && isNum(p.value)) run.push([x, p]);
      else if (run.length) { out.push(run); run = []; }
    });
    if (run.length) out.push(run);
    return out;
  }

  function legend(series) {
    return el('div', { class: 'legend' }, series.map((s) => el('span', { class: 'key' },
      svg('svg', { width: 30, height: 14, viewBox: '0 0 30 14', 'aria-hidden': 'true' },
        svg('rect', { x: 0, y: 2, width: 30, height: 10, fill: s.colour, 'fill-opacity': s.estimate ? 0.12 : 0.16 }),
        svg('line', { x1: 0, x2: 30, y1: 7, y2: 7, stroke: s.colour, 'stroke-width': 2, 'stroke-dasharray': s.estimate ? '6 4' : null })),
      s.legend)));
  }

  const lastPoint = (xs, values) => {
    for (let i = values.length - 1; i >= 0; i -= 1) if (values[i] && isNum(values[i].value)) return [xs[i], values[i]];
    return null;
  };

  // A headline number above a chart: the latest value, its window and interval.
  function stat(title, found, colour, note) {
    if (!found) return null;
    const [x, p] = found;
    return el('div', { class: 'stat', style: `border-left-color:${colour}` }, el('span', { class: 'stat-label' }, title),
      el('span', { class: 'stat-value' }, fix(p.value, 3)),
      el('span', { class: 'muted' }, `window ${x}${ci(p, (v) => fix(v, 3))}${note ? ' · ' + note : ''}`));
  }

  function performance(pf) {
    const xs = tail(pf && pf.windows, MAX_WINDOWS);
    const acc = tail(pf && pf.accuracy, MAX_WINDOWS), est = tail(pf && pf.estimated, MAX_WINDOWS);
    const lastAcc = lastPoint(xs, acc), lastEst = lastPoint(xs, est);
    const ref = tail(pf && pf.reference, MAX_WINDOWS) || [], hasRef = ref.some(isNum);
    if (!xs.length || (!lastAcc && !lastEst)) return 'No labelled windows yet: accuracy appears when labels arrive.';
    const series = [];
    if (lastAcc) series.push({ name: 'accuracy', values: acc, colour: C.realised, legend: 'accuracy on labelled rows, 95% band' });
    if (lastEst) series.push({ name: 'estimated accuracy', values: est, colour: C.estimate, estimate: true, legend: 'estimate, no labels yet' });
    const label = 'Accuracy per window' + (lastAcc ? `, latest ${fix(lastAcc[1].value)} (window ${lastAcc[0]})` : ', no labelled window yet')
      + (lastEst ? `; estimated ${fix(lastEst[1].value)} for window ${lastEst[0]}, no labels yet` : '');
    return [el('div', { class: 'stats' }, stat('accuracy', lastAcc, C.realised),
      stat('estimated', lastEst, C.estimate, 'no labels yet')),
    lineChart(xs, series, { label, reference: hasRef ? { values: ref, name: 'reference' } : null }),
    legend(series),
    hasRef ? el('p', { class: 'note' }, `Dotted: accuracy on the labelled reference of the version serving each window. A labelled window alarms when it `
      + `falls ${fix(pf.min_drop)} or more below it, significantly; a group alarms the same way against its own.`) : null,
    lastAcc ? null : el('p', { class: 'note' }, 'No labelled windows yet: accuracy appears when labels arrive.')];
  }

  function fairness(fr) {
    const xs = tail(fr && fr.windows, MAX_WINDOWS);
    const wg = tail(fr && fr.worst_group, MAX_WINDOWS), dpd = tail(fr && fr.dpd, MAX_WINDOWS);
    const lastWg = lastPoint(xs, wg), lastDpd = lastPoint(xs, dpd);
    if (!xs.length || (!lastWg && !lastDpd)) return 'No fairness numbers yet: they need labelled windows and a group column.';
    const out = [el('div', { class: 'stats' }, stat('worst-group accuracy', lastWg, C.worst),
      stat('demographic parity difference', lastDpd, C.dpd))];
    if (lastWg) {
      const s = { name: 'worst-group accuracy', values: wg, colour: C.worst, legend: 'worst-group accuracy, 95% band' };
      out.push(el('h3', {}, 'Worst-group accuracy'), lineChart(xs, [s], { height: 170,
        label: `Worst-group accuracy per window, latest ${fix(lastWg[1].value)} (window ${lastWg[0]})` }), legend([s]));
    }
    if (lastDpd) {
      const s = { name: 'demographic parity difference', values: dpd, colour: C.dpd, legend: 'demographic parity difference, 95% band (0 = parity)' };
      out.push(el('h3', {}, 'Demographic parity difference'), lineChart(xs, [s], { height: 170, floor: 0,
        label: `Demographic parity difference per window, latest ${fix(lastDpd[1].value)} (window ${lastDpd[0]})` }), legend([s]));
    }
    return out;
  }

  // ---------------------------------------------------------------- alerts and versions

  function alertTable(alerts) {
    if (!alerts.length) return 'No alerts raised.';
    const newest = alerts.slice().reverse().slice(0, MAX_ALERTS);
    return [el('div', { class: 'table-wrap' }, el('table', { class: 'alerts' },
      el('caption', { class: 'sr-only' }, 'Alerts, newest first'),
      el('thead', {}, el('tr', {}, ['Window', 'Kind', 'Subject', 'Message', 'Raised'].map((h) =>
        el('th', { scope: 'col', class: h === 'Window' ? 'num' : null }, h)))),
      el('tbody', {}, newest.map((a) => el('tr', { 'data-kind': a.kind },
        el('td', { class: 'num' }, a.window == null ? '—' : a.window),
        el('td', {}, el('span', { class: 'kind k-' + a.kind }, a.kind)),
        el('td', {}, el('code', {}, breakable(a.subject))),
        el('td', { class: 'msg' }, a.message),
        el('td', { class: 'nowrap' }, timeEl(a.raised_at))))))),
    alerts.length > MAX_ALERTS ? el('p', { class: 'note' }, `Newest ${MAX_ALERTS} of ${alerts.length} alerts.`) : null];
  }

  // Long snake_case names may wrap after an underscore, not in the middle of a word.
  const breakable = (name) => String(name ?? '').split('_').flatMap((w, i) => (i ? ['_', el('wbr'), w] : [w]));

  const METRICS = [['flip_rate', 'flip rate', pct], ['negative_flip_rate', 'negative flips', pct],
    ['accuracy_change', 'accuracy change', pp]];

  function versionList(versions) {
    if (!versions.length) {
      return 'One model version so far: comparisons appear when a new version is registered (trustbench monitor register).';
    }
    return versions.slice().reverse().map((v) => el('article', { class: 'version' },
      el('h3', {}, el('span', { class: 'chip current' }, v.new), el('span', { class: 'against' }, ' against '), el('span', { class: 'chip' }, v.old),
        el('span', { class: 'muted small' }, ' · ', timeEl(v.created_at))),
      (v.findings || []).length ? el('ul', { class: 'findings' }, v.findings.map((f) => el('li', { 'data-severity': f.severity },
        el('span', { class: 'badge sev-' + f.severity }, String(f.severity).toUpperCase()), ' ', f.title,
        findingMetrics(f.metrics || {}))))
        : el('p', { class: 'muted' }, 'No findings.')));
  }

  function findingMetrics(metrics) {
    const shown = METRICS.filter(([k]) => metrics[k]);
    if (!shown.length) return null;
    return el('dl', { class: 'metrics' }, shown.map(([k, name, f]) => {
      const m = metrics[k], band = Array.isArray(m.ci) ? { lo: m.ci[0], hi: m.ci[1] } : null;
      return el('div', {}, el('dt', {}, name), el('dd', {}, f(m.value), el('span', { class: 'ci' }, ci(band, f))));
    }));
  }

  // ---------------------------------------------------------------- start

  view = viewFromPath(location.pathname);
  body.dataset.view = view.kind;
  tick();
})();

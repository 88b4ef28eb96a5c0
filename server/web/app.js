// Pathwise explanation explorer: plain JS, talks only to the server that serves this page.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { recipes: {}, titles: {}, lastIds: [], running: false };
const COLORS = { User: '#7b4bd6', Movie: '#2f6fdf', Genre: '#1b9e77', Tag: '#d95f02' };

// ---- HTTP ------------------------------------------------------------------------------------
function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = localStorage.getItem('pathwise.apiKey');
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: headers(),
    body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || { code: String(res.status), message: res.statusText };
    const e = new Error(err.message || 'request failed');
    e.info = err;
    e.status = res.status;
    throw e;
  }
  return data;
}

// ---- small helpers ---------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function fmt(x) {
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(3);
}
function newEventId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return 'ev-' + Date.now() + '-' + Math.random().toString(36).slice(2);
}

// ---- editor with line numbers and error marks ------------------------------------------------
function renderGutter(errorLine) {
  const lines = $('editor').value.split('\n').length;
  const gutter = $('gutter');
  gutter.textContent = '';
  for (let i = 1; i <= lines; i++) {
    const span = el('span', i === errorLine ? { class: 'err' } : {}, String(i));
    gutter.append(span, '\n');
  }
  gutter.scrollTop = $('editor').scrollTop;
}
function showError(err) {
  const box = $('query-error');
  if (!err) { box.hidden = true; renderGutter(0); return; }
  const info = err.info || {};
  let where = '';
  if (info.line) where = `line ${info.line}` + (info.column ? `, column ${info.column}` : '') + ': ';
  box.textContent = `${info.code || 'error'} — ${where}${info.message || err.message}`;
  box.hidden = false;
  renderGutter(info.line || 0);
  if (info.line) {
    // Put the caret on the offending position.
    const lines = $('editor').value.split('\n');
    let offset = 0;
    for (let i = 0; i < info.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, (info.column || 1) - 1);
    $('editor').setSelectionRange(offset, offset);
  }
}

// ---- recipes and users -----------------------------------------------------------------------
async function loadRecipes() {
  const data = await api('GET', '/v1/recipes');
  const list = Array.isArray(data) ? data : (data.recipes || []);
  const select = $('recipe');
  select.textContent = '';
  for (const r of list) {
    state.recipes[r.name] = r;
    select.append(el('option', { value: r.name }, r.name));
  }
  if (state.recipes.because_you_watched) select.value = 'because_you_watched';
  selectRecipe();
}
function selectRecipe() {
  const r = state.recipes[$('recipe').value];
  if (!r) return;
  $('recipe-description').textContent = r.description || '';
  const params = Object.assign({}, r.params || {});
  delete params.user;
  $('params').value = JSON.stringify(params);
  $('editor').value = r.query || '';
  showError(null);
}
async function loadUsers() {
  try {
    const res = await api('POST', '/v1/query', {
      query: 'MATCH (u:User) RETURN u.id LIMIT 1000', params: {} });
    const list = $('user-list');
    list.textContent = '';
    const ids = res.rows.map((row) => String(row[0]));
    ids.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
    for (const id of ids) list.append(el('option', { value: id }));
  } catch (e) {
    console.warn('user list', e);
  }
}

// ---- titles for movie ids (one MATCH for all unknown ids) ------------------------------------
async function resolveTitles(ids) {
  const missing = [...new Set(ids)].filter((id) => !(id in state.titles));
  if (!missing.length) return;
  try {
    const res = await api('POST', '/v1/query', {
      query: 'MATCH (m:Movie) WHERE m.id IN $ids RETURN m.id, m.title, m.year, m.genres',
      params: { ids: missing } });
    for (const [id, title, year, genres] of res.rows) {
      state.titles[String(id)] = { title, year, genres: genres || [] };
    }
  } catch (e) {
    console.warn('titles', e);
  }
}
function label(type, id) {
  if (type === 'Movie' && state.titles[id]) return state.titles[id].title;
  if (type === 'User') return 'user ' + id;
  return id;
}

// ---- explanations: tolerant readers of the engine's explanation JSON -------------------------
function nodeOf(x) {
  if (!x) return null;
  if (typeof x === 'string') {
    const m = x.match(/^([A-Za-z_][A-Za-z0-9_]*)[:/](.+)$/);
    return m ? { type: m[1], id: m[2] } : { type: '', id: x };
  }
  return { type: x.type || x.label || '', id: String(x.id ?? x.key ?? ''), var: x.var };
}
function readPaths(expl) {
  const out = [];
  const visit = (x, depth) => {
    if (!x || typeof x !== 'object' || depth > 6) return;
    if (Array.isArray(x)) { x.forEach((y) => visit(y, depth + 1)); return; }
    if (Array.isArray(x.nodes) && Array.isArray(x.edges)) {
      out.push({ nodes: x.nodes.map(nodeOf), edges: x.edges,
        contribution: x.contribution ?? x.score ?? x.value, source: x.source });
      return;
    }
    for (const v of Object.values(x)) visit(v, depth + 1);
  };
  visit(expl, 0);
  return out;
}
function readTerms(expl) {
  if (!expl) return [];
  const t = expl.terms || expl.score_terms || (expl.score && expl.score.terms);
  if (Array.isArray(t)) {
    return t.map((x) => ({ name: x.expr || x.text || x.name || x.term || '?',
      value: x.value ?? x.contribution }));
  }
  if (t && typeof t === 'object') return Object.entries(t).map(([name, value]) => ({ name, value }));
  return [];
}

function drawPath(path, width) {
  const n = path.nodes.length;
  const boxW = Math.min(130, Math.max(80, (width - 30) / n - 60));
  const gap = n > 1 ? (width - n * boxW) / (n - 1) : 0;
  const h = 46;
  const g = svg('g');
  path.nodes.forEach((node, i) => {
    const x = i * (boxW + gap);
    if (i > 0) {
      const edge = path.edges[i - 1] || {};
      const x0 = x - gap + 2, x1 = x - 4, y = 28;
      g.append(svg('path', { class: 'edge', d: `M${x0},${y} L${x1},${y}`,
        'marker-end': 'url(#arrow)' }));
      const w = edge.weight !== undefined ? ' ' + fmt(edge.weight) : '';
      const dir = edge.direction === 'in' || edge.dir === 'in' ? '← ' : '';
      g.append(svg('text', { class: 'edge-label', x: (x0 + x1) / 2, y: 20, 'text-anchor': 'middle' },
        dir + (edge.type || '') + w));
    }
    const ng = svg('g', { class: 'node', 'data-type': node.type, 'data-id': node.id,
      transform: `translate(${x},14)` });
    ng.append(svg('rect', { width: boxW, height: 28, rx: 6,
      fill: COLORS[node.type] || '#777' }));
    let text = label(node.type, node.id);
    const maxChars = Math.floor(boxW / 6.3);
    if (text.length > maxChars) text = text.slice(0, maxChars - 1) + '…';
    ng.append(svg('text', { x: boxW / 2, y: 18, 'text-anchor': 'middle' }, text));
    ng.append(svg('title', {}, `${node.type} ${node.id} ${label(node.type, node.id)}`));
    ng.addEventListener('click', () => inspect(node.type, node.id));
    g.append(ng);
  });
  return { g, height: h };
}

function drawExplanation(expl, width) {
  const paths = readPaths(expl).slice(0, 3);
  const box = el('div', { class: 'explain' });
  if (paths.length) {
    const root = svg('svg', { width, height: paths.length * 46 + 4,
      viewBox: `0 0 ${width} ${paths.length * 46 + 4}`, class: 'paths' });
    const defs = svg('defs');
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8a93a3' }));
    defs.append(marker);
    root.append(defs);
    paths.forEach((p, i) => {
      const { g } = drawPath(p, width - 70);
      g.setAttribute('transform', `translate(0,${i * 46 - 10})`);
      root.append(g);
      if (p.contribution !== undefined) {
        root.append(svg('text', { class: 'edge-label', x: width - 4, y: i * 46 + 22,
          'text-anchor': 'end' }, '+' + fmt(p.contribution)));
      }
    });
    box.append(root);
  }
  const terms = readTerms(expl);
  if (terms.length) {
    const line = el('div', { class: 'terms' });
    terms.forEach((t, i) => {
      line.append(el('span', { class: 'term' }, `${t.name} = ${fmt(t.value)}`));
      if (i < terms.length - 1) line.append('+ ');
    });
    box.append(line);
  }
  return box;
}

// ---- running ---------------------------------------------------------------------------------
function currentParams() {
  let params = {};
  const text = $('params').value.trim();
  if (text) params = JSON.parse(text);
  params.user = $('user').value.trim();
  return params;
}

async function run() {
  if (state.running) return;
  const user = $('user').value.trim();
  if (!user) { $('status').textContent = 'Pick a user first.'; return; }
  let params;
  try { params = currentParams(); } catch (e) {
    showError({ info: { code: 'invalid_params', message: 'parameters are not valid JSON: ' + e.message } });
    return;
  }
  state.running = true;
  $('run').disabled = true;
  $('status').textContent = 'Running…';
  showError(null);
  try {
    const recipe = state.recipes[$('recipe').value];
    const edited = recipe && $('editor').value !== recipe.query;
    let res;
    if ($('use-editor').checked || edited || !recipe) {
      res = await api('POST', '/v1/query', { query: $('editor').value, params, explain: true });
    } else {
      res = await api('POST', `/v1/recipes/${encodeURIComponent(recipe.name)}/run`,
        { params, explain: true });
    }
    await render(res);
  } catch (e) {
    showError(e);
    $('status').textContent = 'The query failed.';
  } finally {
    state.running = false;
    $('run').disabled = false;
  }
}

function idColumn(columns) {
  let idx = columns.indexOf('c.id');
  if (idx < 0) idx = columns.findIndex((c) => /(^|\.)id$/.test(c));
  return idx < 0 ? 0 : idx;
}

async function render(res) {
  const columns = res.columns || [];
  const idIdx = idColumn(columns);
  const scoreIdx = columns.indexOf('score');
  const rows = res.rows || [];
  const ids = rows.map((r) => String(r[idIdx]));
  const pathMovieIds = [];
  for (const e of res.explanations || []) {
    for (const p of readPaths(e)) for (const n of p.nodes) if (n.type === 'Movie') pathMovieIds.push(n.id);
  }
  await resolveTitles(ids.concat(pathMovieIds));
  const previous = new Set(state.lastIds);
  const list = $('results');
  list.textContent = '';
  const scores = rows.map((r) => (scoreIdx >= 0 ? Number(r[scoreIdx]) : NaN));
  const maxScore = Math.max(1e-9, ...scores.filter((s) => !Number.isNaN(s)).map(Math.abs));
  const width = Math.max(420, list.clientWidth - 40);
  rows.forEach((row, i) => {
    const id = ids[i];
    const info = state.titles[id];
    const li = el('li', { class: 'result' + (state.lastIds.length && !previous.has(id) ? ' changed' : ''),
      'data-id': id });
    const head = el('div', { class: 'result-head' },
      el('span', { class: 'result-title', onclick: () => inspect('Movie', id) },
        info ? info.title : id),
      el('span', { class: 'result-sub' }, info ? `${info.year || ''} · ${(info.genres || []).join(', ')}` : ''),
      el('span', { class: 'score' }, Number.isNaN(scores[i]) ? '' : 'score ' + fmt(scores[i])));
    li.append(head);
    if (!Number.isNaN(scores[i])) {
      const bar = el('div', { class: 'bar' }, el('div'));
      bar.firstChild.style.width = Math.max(2, 100 * Math.abs(scores[i]) / maxScore) + '%';
      li.append(bar);
    }
    const expl = (res.explanations || [])[i];
    if (expl) li.append(drawExplanation(expl, width));
    const rating = el('select', { 'aria-label': 'rating' },
      ...[5, 4, 3, 2, 1].map((v) => el('option', { value: v }, v + '★')));
    li.append(el('div', { class: 'actions' }, 'I watched this, rating', rating,
      el('button', { class: 'watched', onclick: () => sendEvent(id, Number(rating.value)) }, 'Send')));
    list.append(li);
  });
  state.lastIds = ids;
  $('result-meta').textContent = `${rows.length} rows`;
  $('status').textContent = rows.length ? '' : 'No results.';
  renderStats(res.stats || {});
}

function renderStats(stats) {
  const box = $('stats');
  box.textContent = '';
  const table = el('table');
  const add = (k, v) => table.append(el('tr', {}, el('td', {}, k), el('td', { class: 'num' }, v)));
  const walk = (prefix, obj) => {
    for (const [k, v] of Object.entries(obj)) {
      const name = prefix ? prefix + '.' + k : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(name, v);
      else if (typeof v === 'number') add(name, /(_ms|ms)$/.test(name) ? fmt(v) + ' ms' : fmt(v));
      else add(name, Array.isArray(v) ? v.join(', ') : String(v));
    }
  };
  walk('', stats);
  if (table.childNodes.length) box.append(el('strong', {}, 'Stats (per stage)'), table);
}

async function sendEvent(movieId, rating) {
  const user = $('user').value.trim();
  const event = { event_id: newEventId(), user, item: movieId, type: 'rate',
    ts: Date.now(), weight: rating };
  $('status').textContent = 'Sending event…';
  try {
    await api('POST', '/v1/events', [event]);
    $('status').textContent = `Recorded: user ${user} rated ${label('Movie', movieId)} ${rating}★. Re-running…`;
    await run();
  } catch (e) {
    $('status').textContent = 'Event failed: ' + e.message;
  }
}

// ---- inspector -------------------------------------------------------------------------------
async function inspect(type, id) {
  const body = $('inspector-body');
  body.textContent = 'Loading…';
  try {
    const node = await api('GET', `/v1/nodes/${encodeURIComponent(type)}/${encodeURIComponent(id)}`);
    body.textContent = '';
    body.append(el('h3', {}, el('span', { class: 'badge', style: `background:${COLORS[type] || '#777'}` }, type),
      ' ', node.properties && node.properties.title ? node.properties.title : id));
    const table = el('table');
    table.append(el('tr', {}, el('td', {}, 'id'), el('td', {}, node.id)));
    for (const [k, v] of Object.entries(node.properties || {})) {
      table.append(el('tr', {}, el('td', {}, k), el('td', {}, Array.isArray(v) ? v.join(', ') : fmt(v))));
    }
    for (const [k, v] of Object.entries(node.vectors || {})) {
      table.append(el('tr', {}, el('td', {}, 'vector'), el('td', {}, k + (v === true ? '' : ' ' + JSON.stringify(v)))));
    }
    for (const [edge, d] of Object.entries(node.degrees || {})) {
      table.append(el('tr', {}, el('td', {}, edge), el('td', {}, `out ${d.out ?? 0} · in ${d.in ?? 0}`)));
    }
    body.append(table);
    if (type === 'User') {
      body.append(el('button', { class: 'primary', onclick: () => { $('user').value = id; run(); } },
        'Recommendations for this user'));
    }
  } catch (e) {
    body.textContent = 'Could not load node: ' + e.message;
  }
}


// ---- surfaces: decisions, reason codes, rules, timings and faults (docs/decisions.md) ---------
const FAULT_DELAY_MS = 200;
// One line per reason code, from docs/decisions.md ("Reason codes"); <x> is the code's suffix.
const REASONS = {
  no_history: () => 'the user\'s node does not exist or has no outgoing edges',
  no_query_vector: () => 'a NEAREST source had no vector to search with (e.g. no taste vector)',
  few_candidates: () => 'a step left fewer than min_items items; the next step filled the list',
  low_confidence: () => 'a recipe\'s list was below min_confidence; the next step replaced it',
  source_timeout: (x) => `${x} did not answer within its budget or the deadline (a recipe is abandoned, a RECOMMEND source dropped)`,
  source_error: (x) => `${x} failed (missing, a query error, an injected fault) and was skipped or dropped`,
  breaker_open: (x) => `the circuit breaker of ${x} is open: it was skipped`,
  deadline: () => 'no time was left for a step, or its rules could not be evaluated in time',
  overload: () => 'every decision worker was busy and the queue full: served from the popular list',
  rule_filtered_all: () => 'the rules removed every item of a step\'s list',
};
function describeReason(code) {
  const i = code.indexOf(':');
  const name = i < 0 ? code : code.slice(0, i);
  const arg = i < 0 ? '' : code.slice(i + 1);
  const f = REASONS[name];
  return f ? f(arg) : 'unknown reason code';
}
function describeRule(rule) {
  if (!rule) return '';
  switch (rule.type) {
    case 'filter': return `filter where ${rule.where}`;
    case 'boost': case 'bury': return `${rule.type} ×${rule.factor} where ${rule.where}`;
    case 'quota': return `quota at most ${rule.max} per ${rule.by}`;
    case 'pin': return `pin ${rule.id !== undefined ? 'id ' + rule.id : 'where ' + rule.where} at slot ${rule.slot}`;
    default: return rule.type;
  }
}
function describeItemRule(r, surface) {
  const def = surface && surface.rules ? surface.rules[r.rule] : null;
  let text = `rule ${r.rule} ${r.type}`;
  if (r.factor !== undefined) text += ` ×${r.factor}`;
  if (r.score_before !== undefined) text += ` (score before ${fmt(r.score_before)})`;
  if (r.type === 'pin' && r.slot !== undefined) text += ` to slot ${r.slot}`;
  if (def && def.where) text += ` — ${def.where}`;
  return text;
}

async function loadSurfaces() {
  const data = await api('GET', '/v1/surfaces');
  const list = Array.isArray(data) ? data : (data.surfaces || []);
  const select = $('surface');
  select.textContent = '';
  state.surfaces = {};
  for (const s of list) {
    state.surfaces[s.name] = s;
    select.append(el('option', { value: s.name }, s.name));
  }
  if (state.surfaces.home_row) select.value = 'home_row';
  if (!list.length) $('decision-status').textContent = 'No surfaces are defined (POST /v1/surfaces/{name}).';
  selectSurface();
}
function surfaceRecipes(s) {
  return s ? [s.recipe, ...(s.fallbacks || [])].filter(Boolean) : [];
}
function selectSurface() {
  const s = state.surfaces && state.surfaces[$('surface').value];
  const chain = $('surface-chain');
  chain.textContent = '';
  if (!s) { $('surface-description').textContent = ''; renderFaults(); return; }
  $('surface-description').textContent = s.description || '';
  const steps = surfaceRecipes(s).map((r, i) => (i === 0 ? 'primary: ' : 'fallback: ') + r);
  if (s.last_served !== false) steps.push('last_served');
  if (s.popular) steps.push('popular');
  chain.append('chain ');
  steps.forEach((t, i) => { chain.append(el('span', { class: 'step' }, t)); if (i < steps.length - 1) chain.append('→ '); });
  const rules = (s.rules || []).map((r, i) => `${i}: ${describeRule(r)}`);
  if (rules.length) chain.append(el('div', { class: 'hint' }, 'rules ' + rules.join('; ')));
  chain.append(el('div', { class: 'hint' }, `k ${s.k}, deadline ${s.deadline_ms} ms, min_items ${s.min_items}`));
  renderFaults();
}

// Faults: GET /v1/admin/faults is 404 when the server runs without --enable-fault-injection.
async function loadFaults() {
  try {
    const data = await api('GET', '/v1/admin/faults');
    state.faultsOn = true;
    state.faultsWhy = '';
    state.faults = {};
    for (const f of data.faults || []) state.faults[f.target] = f;
  } catch (e) {
    state.faultsOn = false;
    state.faults = {};
    state.faultsWhy = e.status === 404
      ? 'Fault injection is off: start the server with --enable-fault-injection (pathwise serve or pathwise demo, loopback only) to toggle faults here.'
      : (e.status === 401 || e.status === 403)
        ? 'Fault injection needs an admin API key (' + e.message + ').'
        : 'Fault injection is unavailable: ' + e.message;
  }
  renderFaults();
}
function faultActive(f) {
  return { fail: !!f && f.fail_rate > 0, delay: !!f && f.delay_ms > 0 && f.delay_rate > 0 };
}
function renderFaults() {
  const box = $('faults');
  box.textContent = '';
  if (state.faultsOn === undefined) { box.append(el('span', { class: 'hint' }, 'Checking whether fault injection is on…')); return; }
  const s = state.surfaces && state.surfaces[$('surface').value];
  const table = el('table');
  for (const recipe of surfaceRecipes(s)) {
    const target = 'recipe:' + recipe;
    const on = faultActive(state.faults[target]);
    const fail = el('input', { type: 'checkbox', class: 'fault-fail', 'data-target': target });
    const delay = el('input', { type: 'checkbox', class: 'fault-delay', 'data-target': target });
    fail.checked = on.fail; delay.checked = on.delay;
    fail.disabled = delay.disabled = !state.faultsOn;
    const change = () => setFault(target, fail.checked, delay.checked);
    fail.addEventListener('change', change);
    delay.addEventListener('change', change);
    table.append(el('tr', { 'data-target': target }, el('td', {}, recipe),
      el('td', {}, el('label', { class: 'check' }, fail, ' fail')),
      el('td', {}, el('label', { class: 'check' }, delay, ` delay ${FAULT_DELAY_MS} ms`))));
  }
  box.append(table);
  if (!state.faultsOn) {
    box.append(el('p', { id: 'faults-off', class: 'hint' }, state.faultsWhy));
  } else {
    box.append(el('div', { class: 'buttons' },
      el('button', { id: 'clear-faults', onclick: clearFaults }, 'Clear all faults'),
      el('span', { class: 'hint' }, ' faults apply to every surface; Decide again to see the fallback')));
  }
}
async function setFault(target, fail, delay) {
  // A fault with both rates 0 is a no-op: that is how one target is switched off
  // (DELETE /v1/admin/faults clears them all).
  const body = { target, fail_rate: fail ? 1 : 0, delay_ms: delay ? FAULT_DELAY_MS : 0,
    delay_rate: delay ? 1 : 0 };
  try {
    const data = await api('POST', '/v1/admin/faults', body);
    state.faults = {};
    for (const f of data.faults || []) state.faults[f.target] = f;
    $('decide-error').hidden = true;
  } catch (e) {
    showDecideError(e);
  }
  renderFaults();
  if ($('s-user').value.trim()) await decide();
}
async function clearFaults() {
  try {
    await api('DELETE', '/v1/admin/faults');
    state.faults = {};
  } catch (e) {
    showDecideError(e);
  }
  renderFaults();
  if ($('s-user').value.trim()) await decide();
}
function showDecideError(e) {
  const info = e.info || {};
  $('decide-error').textContent = `${info.code || 'error'} — ${info.message || e.message}`;
  $('decide-error').hidden = false;
}

async function decide() {
  if (state.deciding) { state.decideAgain = true; return; }
  const name = $('surface').value;
  const user = $('s-user').value.trim();
  if (!name) { $('decision-status').textContent = 'No surface to decide.'; return; }
  if (!user) { $('decision-status').textContent = 'Pick a user first.'; return; }
  const body = { user, explain: $('s-explain').checked };
  const k = $('s-k').value.trim();
  const deadline = $('s-deadline').value.trim();
  if (k) body.k = Number(k);
  if (deadline) body.deadline_ms = Number(deadline);
  state.deciding = true;
  $('decide').disabled = true;
  $('decision-status').textContent = 'Deciding…';
  $('decide-error').hidden = true;
  try {
    const res = await api('POST', `/v1/surfaces/${encodeURIComponent(name)}/decide`, body);
    await renderDecision(res, state.surfaces[name]);
  } catch (e) {
    showDecideError(e);
    $('decision-status').textContent = 'The decision failed.';
  } finally {
    state.deciding = false;
    $('decide').disabled = false;
    if (state.decideAgain) { state.decideAgain = false; decide(); }
  }
}

async function renderDecision(res, surface) {
  const items = res.items || [];
  const pathMovieIds = [];
  for (const it of items) {
    if (it.explanation) for (const p of readPaths(it.explanation)) for (const n of p.nodes) if (n.type === 'Movie') pathMovieIds.push(n.id);
  }
  await resolveTitles(items.filter((it) => it.type === 'Movie').map((it) => String(it.id)).concat(pathMovieIds));
  $('decision').hidden = false;
  $('decision-status').textContent = items.length ? '' : 'The decision served no items.';
  $('decision-meta').textContent = `${res.surface} · ${items.length} items · ${res.recommendation_id}`;
  $('served-by').textContent = res.served_by;
  const degraded = $('degraded');
  degraded.textContent = res.degraded ? 'degraded' : 'not degraded';
  degraded.className = 'badge ' + (res.degraded ? 'bad' : 'ok');
  const conf = Number(res.confidence) || 0;
  $('confidence').textContent = fmt(conf);
  $('confidence-bar').firstChild.style.width = Math.max(1, Math.min(100, 100 * conf)) + '%';

  const reasons = $('reason-codes');
  reasons.textContent = '';
  for (const code of res.reasons || []) {
    reasons.append(el('li', { 'data-code': code }, el('code', {}, code), ' — ', describeReason(code)));
  }
  if (!(res.reasons || []).length) reasons.append(el('li', { class: 'hint' }, 'none: the primary recipe served the list'));

  const list = $('decision-items');
  list.textContent = '';
  const maxScore = Math.max(1e-9, ...items.map((it) => Math.abs(Number(it.score) || 0)));
  const width = Math.max(420, list.clientWidth - 40);
  for (const it of items) {
    const id = String(it.id);
    const info = it.type === 'Movie' ? state.titles[id] : null;
    const title = it.label ?? (info ? info.title : id);
    const li = el('li', { class: 'decision-item' + (it.source !== 'primary' ? ' fallback' : ''),
      'data-id': id, 'data-source': it.source });
    li.append(el('div', { class: 'result-head' },
      el('span', { class: 'slot' }, String(it.slot)),
      el('span', { class: 'result-title', onclick: () => inspect(it.type, id) }, String(title)),
      el('span', { class: 'result-sub' }, info ? `${info.year || ''} · ${(info.genres || []).join(', ')}` : it.type),
      el('span', { class: 'source' }, it.source),
      el('span', { class: 'score' }, it.score === null || it.score === undefined ? '' : 'score ' + fmt(it.score))));
    if (typeof it.score === 'number') {
      const bar = el('div', { class: 'bar' }, el('div'));
      bar.firstChild.style.width = Math.max(2, 100 * Math.abs(it.score) / maxScore) + '%';
      li.append(bar);
    }
    for (const r of it.reasons || []) li.append(el('div', { class: 'item-rules' }, describeItemRule(r, surface)));
    if (it.explanation) li.append(drawExplanation(it.explanation, width));
    list.append(li);
  }

  const rules = $('decision-rules');
  rules.textContent = '';
  if ((res.rules || []).length) {
    const table = el('table', {}, el('tr', {}, el('td', {}, 'rule'), el('td', {}, 'definition'), el('td', { class: 'num' }, 'affected')));
    for (const r of res.rules) {
      const def = surface && surface.rules ? surface.rules[r.rule] : { type: r.type };
      table.append(el('tr', { 'data-rule': r.rule }, el('td', {}, `${r.rule} ${r.type}`),
        el('td', {}, describeRule(def || { type: r.type })), el('td', { class: 'num' }, r.affected)));
    }
    rules.append(table);
  } else {
    rules.append(el('span', { class: 'hint' }, (surface && (surface.rules || []).length) ? 'no rule touched this list' : 'this surface has no rules'));
  }

  const timings = $('decision-timings');
  timings.textContent = '';
  const t = res.timings || {};
  const total = Math.max(1, t.total_us || 0);
  const table = el('table', {}, el('tr', {}, el('td', {}, 'step'), el('td', {}, 'outcome'),
    el('td', { class: 'num' }, 'ms'), el('td', {}, '')));
  for (const st of t.steps || []) {
    const bar = el('div', { class: 'timing-bar' });
    bar.style.width = Math.min(100, 100 * (st.us || 0) / total) + '%';
    table.append(el('tr', { class: 'step', 'data-source': st.source },
      el('td', {}, st.source),
      el('td', { class: st.outcome === 'ok' ? 'outcome-ok' : 'outcome-bad' }, st.outcome),
      el('td', { class: 'num' }, fmt((st.us || 0) / 1000)), el('td', { style: 'width:35%' }, bar)));
  }
  table.append(el('tr', {}, el('td', {}, 'rules'), el('td', {}, ''), el('td', { class: 'num' }, fmt((t.rules_us || 0) / 1000)), el('td', {}, '')));
  table.append(el('tr', {}, el('td', {}, el('strong', {}, 'total')), el('td', {}, ''), el('td', { class: 'num' }, fmt((t.total_us || 0) / 1000)), el('td', {}, '')));
  timings.append(table);
}

// ---- modes -----------------------------------------------------------------------------------
function setMode(mode) {
  state.mode = mode;
  for (const node of document.querySelectorAll('.mode-recipes')) node.hidden = mode !== 'recipes';
  for (const node of document.querySelectorAll('.mode-surfaces')) node.hidden = mode !== 'surfaces';
  $('mode-recipes').setAttribute('aria-selected', String(mode === 'recipes'));
  $('mode-surfaces').setAttribute('aria-selected', String(mode === 'surfaces'));
  const hash = mode === 'surfaces' ? '#surfaces' : '';
  if (location.hash !== hash) history.replaceState(null, '', location.pathname + location.search + hash);
  if (mode === 'surfaces') {
    if (!$('s-user').value && $('user').value) $('s-user').value = $('user').value;
    if (!state.surfaces) loadSurfaces().catch((e) => { showDecideError(e); $('decision-status').textContent = 'Could not load surfaces.'; });
    if (state.faultsOn === undefined) loadFaults();
  }
}

// ---- wiring ----------------------------------------------------------------------------------
function init() {
  const key = $('api-key');
  key.value = localStorage.getItem('pathwise.apiKey') || '';
  key.addEventListener('change', () => {
    if (key.value) localStorage.setItem('pathwise.apiKey', key.value);
    else localStorage.removeItem('pathwise.apiKey');
    loadRecipes().catch((e) => showError(e));
    loadUsers();
    state.surfaces = undefined;
    state.faultsOn = undefined;
    if (state.mode === 'surfaces') setMode('surfaces');
  });
  $('recipe').addEventListener('change', selectRecipe);
  $('editor').addEventListener('input', () => renderGutter(0));
  $('editor').addEventListener('scroll', () => { $('gutter').scrollTop = $('editor').scrollTop; });
  $('editor').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  $('run').addEventListener('click', run);
  $('user').addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
  $('mode-recipes').addEventListener('click', () => setMode('recipes'));
  $('mode-surfaces').addEventListener('click', () => setMode('surfaces'));
  $('surface').addEventListener('change', selectSurface);
  $('decide').addEventListener('click', decide);
  $('s-user').addEventListener('keydown', (e) => { if (e.key === 'Enter') decide(); });
  renderGutter(0);
  setMode(location.hash === '#surfaces' ? 'surfaces' : 'recipes');
  loadRecipes().catch((e) => { showError(e); $('status').textContent = 'Could not load recipes.'; });
  loadUsers();
}
document.addEventListener('DOMContentLoaded', init);

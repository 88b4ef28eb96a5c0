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

// ---- wiring ----------------------------------------------------------------------------------
function init() {
  const key = $('api-key');
  key.value = localStorage.getItem('pathwise.apiKey') || '';
  key.addEventListener('change', () => {
    if (key.value) localStorage.setItem('pathwise.apiKey', key.value);
    else localStorage.removeItem('pathwise.apiKey');
    loadRecipes().catch((e) => showError(e));
    loadUsers();
  });
  $('recipe').addEventListener('change', selectRecipe);
  $('editor').addEventListener('input', () => renderGutter(0));
  $('editor').addEventListener('scroll', () => { $('gutter').scrollTop = $('editor').scrollTop; });
  $('editor').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  $('run').addEventListener('click', run);
  $('user').addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
  renderGutter(0);
  loadRecipes().catch((e) => { showError(e); $('status').textContent = 'Could not load recipes.'; });
  loadUsers();
}
document.addEventListener('DOMContentLoaded', init);

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
function fmt(x) {
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(3);
}
function newEventId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return 'ev-' + Date.now() + '-' + Math.random().toString(36).slice(2);
}

// ---- editor with line numbers, error marks and highlighting --------------------------------------
// PQL's keywords (grammar/Pql.g4) and the words that start Cypher-style constructs
// (EXISTS { }, COUNT { }, shortestPath(...)); matched case-insensitively as whole words.
const PQL_KEYWORDS = new Set(('ALL AND AS ASC ASCENDING BY CASE CONTAINS DESC DESCENDING DISTINCT ' +
  'DIVERSIFY EF ELSE END ENDS EXPLAIN FALSE FOR FROM IN IS LIMIT MATCH MAX MEAN MINUS MMR NEAREST ' +
  'NEXT NODE NOT NULL OFFSET OPTIONAL OR ORDER OVER PAGERANK PER PROFILE RECOMMEND RETURN RP3BETA SCORE ' +
  'SKIP STARTS THEN TO TRUE UNION UNWIND WALK WHEN WHERE WITH XOR EXISTS COUNT SHORTESTPATH ' +
  'ALLSHORTESTPATHS').split(' '));
// One token per match: a comment, a string, a parameter, a number or a word; anything else is
// copied as it is.
const PQL_TOKEN = /(\/\/[^\n]*|--(?=[ \t]|$)[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^'\\\n]|\\.)*'?|"(?:[^"\\\n]|\\.)*"?)|(\$\w+)|(\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|(`[^`\n]*`?|[A-Za-z_]\w*)/gm;
function highlightPql(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(PQL_TOKEN)) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    last = m.index + m[0].length;
    let cls = '';
    if (m[1]) cls = 'tok-comment';
    else if (m[2]) cls = 'tok-string';
    else if (m[3]) cls = 'tok-param';
    else if (m[4]) cls = 'tok-number';
    else if (PQL_KEYWORDS.has(m[5].toUpperCase())) cls = 'tok-keyword';
    out.push(cls ? el('span', { class: cls }, m[0]) : document.createTextNode(m[0]));
  }
  out.push(document.createTextNode(text.slice(last) + '\n'));  // a last empty line keeps its height
  return out;
}
function renderHighlight() {
  const pre = $('highlight');
  pre.replaceChildren(...highlightPql($('editor').value));
  pre.scrollTop = $('editor').scrollTop;
  pre.scrollLeft = $('editor').scrollLeft;
}
function renderGutter(errorLine) {
  renderHighlight();
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
  showError(null);  // also re-renders the gutter and the highlighting
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
// Explanations carry a `label` per node; the year and genres under a result's title (and the
// titles of an engine that sends no labels) come from one MATCH for all ids not seen yet.
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
function nodeLabel(node) {
  if (node.type === 'User') return 'user ' + node.id;  // User has no display property
  return node.label || label(node.type, node.id);
}

// ---- explanations: one reader for the labelled format (issue #11) and the older one ----------
// The page works on a normalised explanation:
//   { id, type, label, rank, score, sentence, terms, sources, paths, context,
//     pathsTotal, pathsOffset, checks, properties }
// The older format has paths with `strength` (a product of raw weights, not a contribution),
// sources as a list of names, `similarity` and `path_counts` maps, no labels and no sentence.
function nodeOf(x) {
  if (!x) return { type: '', id: '' };
  if (typeof x === 'string') {
    const m = x.match(/^([A-Za-z_][A-Za-z0-9_]*)[:/](.+)$/);
    return m ? { type: m[1], id: m[2] } : { type: '', id: x };
  }
  return { type: x.type || '', id: String(x.id ?? x.key ?? ''), label: x.label };
}
function num(x) { return typeof x === 'number' && Number.isFinite(x) ? x : null; }
function readPath(x, kind) {
  if (!x || !Array.isArray(x.nodes)) return null;
  const contribution = num(x.contribution);
  const k = kind || x.kind || 'path';
  let effect = null;
  if (k !== 'context') {
    effect = x.effect || (contribution === null ? null : contribution < 0 ? 'push' : 'pull');
  }
  // A path that feeds several terms gives its share of each in `contributions` {term: value}.
  const contributions = x.contributions && typeof x.contributions === 'object' ? x.contributions : null;
  return { kind: k, source: x.source || '', term: x.term || null, contribution, contributions, effect,
    strength: num(x.strength), note: x.note || '', nodes: x.nodes.map(nodeOf),
    edges: Array.isArray(x.edges) ? x.edges : [] };
}
// What path p gave to term t (null when it gave nothing, or the engine does not say).
function contributionTo(p, t, termCount) {
  if (p.kind === 'context') return null;
  if (p.contributions && t.name in p.contributions) return num(p.contributions[t.name]);
  if (p.contributions) return null;
  if (p.term === t.name || (!p.term && termCount === 1)) return p.contribution;
  return null;
}
// A short readable name for an unnamed term of the older format: its function, or its text.
function termLabelFromExpr(expr, i) {
  if (!expr) return 'term ' + (i + 1);
  const m = expr.match(/^\s*(?:[\d.]+\s*\*\s*)?([a-z_]+)\(/i);
  if (m) return m[1] + ' term';
  return expr.length <= 28 ? expr : 'term ' + (i + 1);
}
function readTerms(raw) {
  let list = raw.terms || raw.score_terms || (raw.score && raw.score.terms) || [];
  if (!Array.isArray(list)) list = Object.entries(list).map(([name, value]) => ({ name, value }));
  const terms = list.map((x, i) => {
    const expr = x.expr || x.text || '';
    const value = num(x.value ?? x.contribution);
    return { name: x.name || x.term || 'term' + (i + 1), label: x.label || x.name || termLabelFromExpr(expr, i),
      expr, value, share: num(x.share), effect: x.effect, paths: num(x.paths) };
  });
  const total = terms.reduce((s, t) => s + Math.abs(t.value || 0), 0);
  for (const t of terms) {
    if (t.share === null && t.value !== null && total > 0) t.share = t.value / total;
    if (!t.effect && t.value !== null) t.effect = t.value < 0 ? 'push' : 'pull';
  }
  return terms;
}
function readSources(raw) {
  const out = [];
  const sim = raw.similarity && typeof raw.similarity === 'object' ? raw.similarity : {};
  const counts = raw.path_counts && typeof raw.path_counts === 'object' ? raw.path_counts : {};
  for (const s of raw.sources || []) {
    if (typeof s === 'string') {
      const nearest = s in sim;
      out.push({ name: s, kind: nearest ? 'nearest' : 'graph', paths: num(counts[s]),
        similarity: nearest ? num(sim[s]) : null, evidence: [], context: null });
    } else if (s && typeof s === 'object') {
      out.push({ name: s.name || '', kind: s.kind || (s.similarity !== undefined ? 'nearest' : 'graph'),
        paths: num(s.paths), similarity: num(s.similarity), space: s.space || '', basis: s.basis || '',
        evidence: (s.evidence || []).map((ev) => ({ kind: ev.kind || 'similarity', node: nodeOf(ev.node),
          similarity: num(ev.similarity) })),
        context: s.context ? readPath(s.context, 'context') : null,
        // A rank source's own path (NEXT: the recent item that contributes most; PAGERANK and
        // RP3BETA: a short path of real edges over their relations).
        path: s.path ? Object.assign(readPath(s.path, 'source') || {}, { source: s.name || '' }) : null });
    }
  }
  return out;
}
function readExplanation(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const sources = readSources(raw);
  const graphNames = new Set(sources.filter((s) => s.kind === 'graph').map((s) => s.name));
  const paths = [];
  const context = [];
  // The page of paths, in the engine's order (a path that fed no term is kind "context").
  for (const x of raw.paths || []) {
    const p = readPath(x);
    if (!p) continue;
    // The older format explains a result no graph source found with a path from the seed
    // (source "graph"): it had no part in finding the result, so it is context.
    if (x.kind === undefined && p.contribution === null && !graphNames.has(p.source)) {
      p.kind = 'context';
      p.effect = null;
    }
    paths.push(p);
  }
  const key = (p) => p.nodes.map((n) => n.type + '/' + n.id).join(' ');
  const seen = new Set(paths.map(key));
  const extra = (raw.context || []).map((x) => readPath(x, 'context'))
    .concat(sources.map((s) => s.context), sources.map((s) => (s.path && s.path.nodes ? s.path : null)))
    .filter(Boolean);
  for (const p of extra) if (!seen.has(key(p))) { seen.add(key(p)); context.push(p); }
  let total = num(raw.paths_total);
  if (total === null) {
    const counted = sources.reduce((n, s) => n + (s.kind === 'graph' ? s.paths || 0 : 0), 0);
    total = Math.max(counted, paths.length);
  }
  const expl = { id: String(raw.id ?? ''), type: raw.type || '', label: raw.label || null,
    rank: num(raw.rank), score: num(raw.score), terms: readTerms(raw), sources, paths, context,
    pathsTotal: total, pathsOffset: num(raw.paths_offset) || 0, pathsComplete: raw.paths_complete !== false,
    checks: Array.isArray(raw.checks) ? raw.checks : null,
    properties: raw.properties && typeof raw.properties === 'object' ? raw.properties : null,
    sentence: typeof raw.sentence === 'string' && raw.sentence ? raw.sentence : null };
  return expl;
}
function stars(w) { return typeof w === 'number' ? `${fmt(w)}★` : ''; }
function listWords(words) {
  if (words.length <= 1) return words.join('');
  return words.slice(0, -1).join(', ') + ' and ' + words[words.length - 1];
}
// The engine writes the sentence; an engine that does not gets one from the page, from the
// strongest pulling paths (user -RATED-> movie -...-> result) or the NEAREST sources.
function pageSentence(expl) {
  const rated = [];
  for (const p of expl.paths) {
    if (p.kind === 'context' || p.effect === 'push' || p.nodes.length < 3 || p.nodes[0].type !== 'User') continue;
    const e = p.edges[0] || {};
    if (e.type !== 'RATED') continue;
    const text = `${nodeLabel(p.nodes[1])} ${stars(e.weight)}`;
    if (!rated.includes(text)) rated.push(text);
    if (rated.length === 2) break;
  }
  if (rated.length) return `Because you rated ${listWords(rated)} — people who liked those liked this.`;
  const near = expl.sources.filter((s) => s.kind === 'nearest');
  if (near.length) {
    const sims = near.filter((s) => s.similarity !== null).map((s) => fmt(s.similarity));
    return 'Close to your taste' + (sims.length ? ` (similarity ${sims.join(', ')})` : '') + '.';
  }
  if (expl.sources.length) return `Found by ${listWords(expl.sources.map((s) => s.name))}.`;
  return '';
}
function signed(x) {
  if (x === null || x === undefined) return '';
  return (x > 0 ? '+' : x < 0 ? '−' : '') + fmt(Math.abs(x));
}
function percent(x) {
  if (x === null) return '';
  const p = 100 * x;
  // 99.8% is not 100%, and 0.2% is not 0%.
  const near = Math.abs(p) < 1 || (Math.abs(p) > 99 && Math.abs(p) < 100);
  return (near ? p.toFixed(1) : String(Math.round(p))) + '%';
}

// ---- the signed stacked bar: one segment per top path of a term (the rest of its paths as one
// net segment), or per term when the paths carry no contributions; pulls right of zero, pushes
// left, the score as a line. All bars of a list share one scale.
const BAR_TOP_PATHS = 4;
function barSegments(expl) {
  const segs = [];
  for (const t of expl.terms) {
    if (t.value === null) continue;
    const own = expl.paths.map((p) => ({ p, v: contributionTo(p, t, expl.terms.length) }))
      .filter((x) => x.v !== null);
    if (!own.length) { segs.push({ term: t, value: t.value, what: 'term' }); continue; }
    let rest = t.value;
    for (const { p, v } of own.slice(0, BAR_TOP_PATHS)) {
      segs.push({ term: t, value: v, what: 'path', path: p });
      rest -= v;
    }
    const others = (t.paths ?? expl.pathsTotal) - Math.min(own.length, BAR_TOP_PATHS);
    if (Math.abs(rest) > 1e-9 * Math.max(1, Math.abs(t.value)) && others > 0) {
      segs.push({ term: t, value: rest, what: 'rest', count: others });
    }
  }
  return segs;
}
function barExtent(expls) {
  let pos = 0, neg = 0;
  for (const e of expls) {
    if (!e) continue;
    let p = 0, n = 0;
    for (const s of barSegments(e)) { if (s.value >= 0) p += s.value; else n -= s.value; }
    pos = Math.max(pos, p, e.score || 0);
    neg = Math.max(neg, n, -(e.score || 0));
  }
  return { pos, neg };
}
function segmentText(s) {
  const via = s.what === 'path'
    ? ` · path via ${s.path.nodes.slice(1, -1).map(nodeLabel).join(' → ') || nodeLabel(s.path.nodes[0])}`
    : s.what === 'rest' ? ` · the other ${s.count} paths, net` : '';
  return `${s.term.label}${via}: ${signed(s.value)}`;
}
function renderBar(expl, extent) {
  const segs = barSegments(expl);
  const span = Math.max(1e-12, extent.pos + extent.neg);
  const zero = 100 * extent.neg / span;
  const bar = el('div', { class: 'contrib', role: 'img',
    'aria-label': 'contributions: ' + segs.map(segmentText).join('; ') });
  bar.append(el('div', { class: 'zero' }));
  bar.lastChild.style.left = zero + '%';
  let right = zero, left = zero;
  segs.forEach((s, i) => {
    const w = 100 * Math.abs(s.value) / span;
    const push = s.value < 0;
    const seg = el('div', { class: `seg ${push ? 'push' : 'pull'} ${s.what} shade${i % 4}`,
      'data-term': s.term.name, 'data-value': String(s.value), title: segmentText(s) });
    seg.style.width = w + '%';
    if (push) { left -= w; seg.style.left = left + '%'; } else { seg.style.left = right + '%'; right += w; }
    seg.addEventListener('mouseenter', () => showTip(seg, segmentText(s)));
    seg.addEventListener('mouseleave', hideTip);
    bar.append(seg);
  });
  if (expl.score !== null) {
    const net = el('div', { class: 'net', title: 'score ' + fmt(expl.score) });
    net.style.left = (zero + 100 * expl.score / span) + '%';
    bar.append(net);
  }
  return bar;
}
function showTip(anchor, text) {
  const tip = $('tip');
  tip.textContent = text;
  tip.hidden = false;
  const r = anchor.getBoundingClientRect();
  tip.style.left = Math.max(4, Math.min(window.innerWidth - 320, r.left + window.scrollX)) + 'px';
  tip.style.top = (r.bottom + window.scrollY + 4) + 'px';
}
function hideTip() { $('tip').hidden = true; }
function renderTermLine(expl) {
  const line = el('div', { class: 'terms' });
  expl.terms.forEach((t) => {
    const text = `${t.label} ${t.value === null ? 'n/a' : signed(t.value)}`
      + (t.share !== null && expl.terms.length > 1 ? ` (${percent(t.share)})` : '')
      + (t.paths !== null ? ` · ${t.paths} paths` : '');
    line.append(el('span', { class: `term ${t.effect || ''}`, 'data-term': t.name,
      title: `${t.name} = ${t.expr || ''}` }, text));
  });
  return line;
}
function renderLegend() {
  const sw = (cls, text) => el('span', { class: 'legend-item' }, el('span', { class: 'swatch ' + cls }), text);
  return el('div', { class: 'legend', id: 'legend' },
    sw('pull', 'pulls the score up'), sw('push', 'pushes it down'),
    sw('rest', 'a term\'s other paths, net'), sw('net', 'the score'),
    el('span', { class: 'hint' }, 'hover a segment for its term and value'));
}

// ---- paths, similarity evidence and context ---------------------------------------------------
function edgeText(edge) {
  const w = edge.weight !== undefined && edge.weight !== null ? ' ' + fmt(edge.weight) : '';
  return (edge.type || '') + w;
}
function renderPath(p) {
  const cls = `path ${p.kind === 'context' || p.kind === 'source' ? p.kind : p.effect || 'unknown'}`;
  const row = el('div', { class: cls, 'data-kind': p.kind, 'data-source': p.source });
  if (p.term) row.setAttribute('data-term', p.term);
  if (p.contributions) row.setAttribute('data-contributions', JSON.stringify(p.contributions));
  if (p.kind === 'context') {
    row.append(el('span', { class: 'badge context', title: p.note || 'shown for orientation: it did not add to the score' },
      'context · not a reason'));
  } else if (p.kind === 'source') {
    row.append(el('span', { class: 'badge source', title: 'the path this source reports for the result' },
      `found by ${p.source}`));
  } else if (p.contribution !== null) {
    row.setAttribute('data-contribution', String(p.contribution));
    row.append(el('span', { class: `contribution ${p.effect}`, title: `${p.effect} · ${p.term || ''}` },
      signed(p.contribution)));
  } else if (p.strength !== null) {
    row.append(el('span', { class: 'contribution unknown', title: 'product of the edge weights (this engine reports no contribution)' },
      '×' + fmt(p.strength)));
  }
  const chain = el('span', { class: 'chain-nodes' });
  p.nodes.forEach((node, i) => {
    if (i > 0) {
      const edge = p.edges[i - 1] || {};
      const back = edge.direction === 'in' || edge.dir === 'in';
      const when = typeof edge.ts === 'number' && edge.ts > 0 ? ' · ' + new Date(edge.ts).toISOString().slice(0, 10) : '';
      chain.append(el('span', { class: 'edge', title: `${edge.type || ''} weight ${fmt(edge.weight)}${when}` },
        back ? '← ' : '', el('span', { class: 'edge-label' }, edgeText(edge)), back ? '' : ' →'));
    }
    chain.append(nodeChip(node));
  });
  row.append(chain);
  return row;
}
function nodeChip(node, extra) {
  const chip = el('span', { class: 'node', 'data-type': node.type, 'data-id': node.id,
    title: `${node.type} ${node.id}`, tabindex: '0' }, nodeLabel(node));
  chip.style.setProperty('--node', COLORS[node.type] || '#777');
  if (extra) chip.append(el('span', { class: 'node-extra' }, extra));
  chip.addEventListener('click', () => inspect(node.type, node.id));
  chip.addEventListener('keydown', (e) => { if (e.key === 'Enter') inspect(node.type, node.id); });
  return chip;
}
function renderSources(expl) {
  const box = el('div', { class: 'sources' });
  if (!expl.sources.length) return box;
  box.append(el('span', { class: 'hint' }, 'found by '));
  expl.sources.forEach((s, i) => {
    const what = s.kind === 'nearest'
      ? `similarity ${s.similarity === null ? '?' : fmt(s.similarity)}${s.space ? ' in ' + s.space : ''}`
      : s.paths !== null ? `${s.paths} path${s.paths === 1 ? '' : 's'}` : s.kind;
    box.append(el('span', { class: `source-tag ${s.kind}`, 'data-source': s.name }, `${s.name} (${what})`));
    if (i < expl.sources.length - 1) box.append(' ');
  });
  return box;
}
function renderEvidence(expl) {
  const box = el('div', { class: 'evidence-list' });
  for (const s of expl.sources.filter((x) => x.kind === 'nearest')) {
    const ev = el('div', { class: 'evidence similarity', 'data-source': s.name });
    ev.append(el('span', { class: 'badge similarity' }, '≈ similar'));
    if (s.evidence.length) {
      const basis = { history: 'what you rated', node: 'the item it started from', examples: 'the examples',
        query_vector: 'the query vector' }[s.basis] || 'what you rated';
      ev.append(` near ${basis}${s.space ? ' in ' + s.space : ''}: similar to `);
      s.evidence.forEach((x, i) => {
        ev.append(nodeChip(x.node, x.similarity === null ? '' : fmt(x.similarity)));
        if (i < s.evidence.length - 1) ev.append(' ');
      });
    } else {
      ev.append(` close to your taste vector (${s.name}, similarity ${s.similarity === null ? '?' : fmt(s.similarity)})`);
    }
    box.append(ev);
  }
  return box;
}

// ---- one explanation: sentence, bar, terms, sources, evidence, paths (with paging) ----------
// opts: { extent, onPage(paths, offset) -> Promise<expl> | null, compact }
function renderExplanation(expl, opts) {
  const box = el('div', { class: 'explain' });
  const sentence = expl.sentence || pageSentence(expl);
  if (sentence) {
    box.append(el('p', { class: 'sentence' + (expl.sentence ? '' : ' by-page'),
      title: expl.sentence ? '' : 'written by the page from the top paths (the engine sent no sentence)' },
    sentence));
  }
  if (expl.terms.length) {
    box.append(renderBar(expl, opts.extent), renderTermLine(expl));
  }
  box.append(renderSources(expl), renderEvidence(expl));
  const pathBox = el('div', { class: 'paths' });
  const shown = opts.compact ? expl.paths.slice(0, 3) : expl.paths;
  for (const p of shown) pathBox.append(renderPath(p));
  for (const p of (opts.compact ? [] : expl.context)) {
    const row = renderPath(p);
    row.classList.add('extra');  // not one of the page's paths_total
    pathBox.append(row);
  }
  box.append(pathBox);
  if (expl.checks && !opts.compact) {
    box.append(el('div', { class: 'checks' }, ...expl.checks.map((c) =>
      el('span', { class: 'check-item ' + (c.passed ? 'passed' : 'failed'), title: c.kind || '' }, (c.passed ? '✓ ' : '✗ '),
        el('code', {}, c.expr || c.kind || '')))));
  }
  if (!opts.compact) box.append(renderPaging(expl, opts));
  return box;
}
const PAGE_ALL_MAX = 60;   // "show all N" up to this many paths; pages of PAGE_SIZE beyond
const PAGE_SIZE = 50;
function renderPaging(expl, opts) {
  const bar = el('div', { class: 'paging' });
  const total = expl.pathsTotal;
  const first = expl.paths.length ? expl.pathsOffset + 1 : 0;
  const last = expl.pathsOffset + expl.paths.length;
  bar.append(el('span', { class: 'paging-info' },
    total ? `paths ${first}–${last} of ${total}` : 'no contributing paths'));
  if (!expl.pathsComplete) {
    bar.append(el('span', { class: 'hint', title: 'the engine\'s path log filled up for this query' }, '(some paths were not kept)'));
  }
  if (!opts.onPage || !total) return bar;
  const go = (paths, offset) => async () => {
    for (const b of bar.querySelectorAll('button')) b.disabled = true;
    bar.append(el('span', { class: 'hint loading' }, ' loading…'));
    try {
      await opts.onPage(paths, offset);
    } catch (e) {
      for (const b of bar.querySelectorAll('button')) b.disabled = false;
      bar.querySelector('.loading').remove();
      bar.append(el('span', { class: 'error inline' }, e.status === 400
        ? 'this server cannot page through paths yet (' + e.message + ')' : e.message));
    }
  };
  const all = expl.paths.length >= total;
  if (!all && total <= PAGE_ALL_MAX) {
    bar.append(el('button', { class: 'show-all', onclick: go(total, 0) }, `show all ${total}`));
  } else if (!all) {
    if (expl.pathsOffset > 0) {
      bar.append(el('button', { class: 'page-prev', onclick: go(PAGE_SIZE, Math.max(0, expl.pathsOffset - PAGE_SIZE)) }, `previous ${PAGE_SIZE}`));
    }
    if (last < total) {
      bar.append(el('button', { class: 'page-next', onclick: go(PAGE_SIZE, last) }, `next ${Math.min(PAGE_SIZE, total - last)}`));
    }
  }
  if (expl.paths.length > 3 || expl.pathsOffset > 0) {
    bar.append(el('button', { class: 'show-top', onclick: go(3, 0) }, 'show top 3'));
  }
  return bar;
}

// ---- running ---------------------------------------------------------------------------------
function currentParams() {
  let params = {};
  const text = $('params').value.trim();
  if (text) params = JSON.parse(text);
  params.user = $('user').value.trim();
  return params;
}
// The request the Run button sends, without `explain`: the recipe's run endpoint, or the
// editor's text as a query when it was edited or "run the editor text" is checked.
function currentRequest(params) {
  const recipe = state.recipes[$('recipe').value];
  const edited = recipe && $('editor').value !== recipe.query;
  if ($('use-editor').checked || edited || !recipe) {
    return { path: '/v1/query', body: { query: $('editor').value, params }, query: $('editor').value };
  }
  return { path: `/v1/recipes/${encodeURIComponent(recipe.name)}/run`, body: { params }, recipe: recipe.name };
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
    const request = currentRequest(params);
    // The page asks for context paths (a short path from the seed to results found by NEAREST
    // alone); the API leaves them out unless asked, as they cost a graph search.
    const explain = { context: true, checks: $('with-checks').checked };
    const res = await api('POST', request.path, Object.assign({}, request.body, { explain }));
    state.lastRequest = request;
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
  if (idx < 0) idx = columns.indexOf('id');
  if (idx < 0) idx = columns.findIndex((c) => /(^|\.)id$/.test(c));
  return idx < 0 ? 0 : idx;
}
// Movie ids an explanation shows without a label (an engine without labels).
function unlabelled(expl) {
  const ids = [];
  if (!expl) return ids;
  const paths = expl.paths.concat(expl.context);
  for (const p of paths) for (const n of p.nodes) if (n.type === 'Movie' && !n.label) ids.push(n.id);
  for (const s of expl.sources) for (const ev of s.evidence) if (ev.node.type === 'Movie' && !ev.node.label) ids.push(ev.node.id);
  return ids;
}
function explanationsOf(res) {
  const columns = res.columns || [];
  const idIdx = idColumn(columns);
  const scoreIdx = columns.indexOf('score');
  return (res.rows || []).map((row, i) => {
    const expl = readExplanation((res.explanations || [])[i]);
    if (expl && expl.score === null && scoreIdx >= 0 && typeof row[scoreIdx] === 'number') expl.score = row[scoreIdx];
    return { id: String(row[idIdx]), score: scoreIdx >= 0 ? num(row[scoreIdx]) : null, expl };
  });
}

async function render(res) {
  const results = explanationsOf(res);
  const ids = results.map((r) => r.id);
  await resolveTitles(ids.concat(...results.map((r) => unlabelled(r.expl))));
  // The bar keeps the first page's top paths while the path list pages.
  for (const r of results) r.barExpl = r.expl;
  state.results = results;
  state.extent = barExtent(results.map((r) => r.expl));
  const previous = new Set(state.lastIds);
  const list = $('results');
  list.textContent = '';
  results.forEach((r, i) => list.append(renderResult(i, previous)));
  state.lastIds = ids;
  $('legend-box').textContent = '';
  if (results.some((r) => r.expl && r.expl.terms.length)) $('legend-box').append(renderLegend());
  $('result-meta').textContent = `${results.length} rows`;
  $('status').textContent = results.length ? '' : 'No results.';
  state.compare = (state.compare || []).filter((id) => ids.includes(id));
  renderCompare();
  renderStats(res.stats || {});
  $('whynot').hidden = false;
}

function resultTitle(r) {
  const info = state.titles[r.id];
  return (r.expl && r.expl.label) || (info && info.title) || r.id;
}
function renderResult(i, previous) {
  const r = state.results[i];
  const id = r.id;
  const info = state.titles[id];
  const changed = previous && state.lastIds.length && !previous.has(id);
  const li = el('li', { class: 'result' + (changed ? ' changed' : ''), 'data-id': id });
  // The year only when the title does not end with it already (labels like "Heat (1995)").
  const title = resultTitle(r);
  const year = info && info.year && !title.endsWith(`(${info.year})`) ? info.year : '';
  const sub = info ? [year, (info.genres || []).join(', ')].filter(Boolean).join(' · ') : (r.expl ? r.expl.type : '');
  li.append(el('div', { class: 'result-head' },
    el('span', { class: 'result-title', onclick: () => inspect((r.expl && r.expl.type) || 'Movie', id) }, title),
    el('span', { class: 'result-sub' }, sub),
    el('span', { class: 'score' }, r.score === null ? '' : 'score ' + fmt(r.score))));
  if (r.expl) {
    li.append(renderExplanation(r.expl, { extent: state.extent, barExpl: r.barExpl,
      onPage: async (paths, offset) => {
        const raw = await fetchExplanation(id, { paths, offset });
        const expl = readExplanation(raw);
        if (expl.score === null) expl.score = r.expl.score;
        await resolveTitles(unlabelled(expl));
        r.expl = expl;
        const again = renderResult(i, null);
        li.replaceWith(again);
        renderCompare();
      } }));
  }
  const rating = el('select', { 'aria-label': 'rating' },
    ...[5, 4, 3, 2, 1].map((v) => el('option', { value: v }, v + '★')));
  const pick = el('input', { type: 'checkbox', class: 'compare-pick', 'data-id': id });
  pick.checked = (state.compare || []).includes(id);
  pick.addEventListener('change', () => toggleCompare(id, pick.checked));
  li.append(el('div', { class: 'actions' }, 'I watched this, rating', rating,
    el('button', { class: 'watched', onclick: () => sendEvent(id, Number(rating.value)) }, 'Send'),
    el('label', { class: 'check compare' }, pick, ' compare')));
  return li;
}

// Runs the last request again with `explain: {paths, offset}` and returns result id's explanation.
async function fetchExplanation(id, explain) {
  const request = state.lastRequest;
  if (!request) throw new Error('run a query first');
  explain = Object.assign({ context: true, checks: $('with-checks').checked }, explain);
  const res = await api('POST', request.path, Object.assign({}, request.body, { explain }));
  const found = explanationsOf(res).findIndex((r) => r.id === id);
  if (found < 0 || !(res.explanations || [])[found]) throw new Error('this result is no longer in the list');
  return res.explanations[found];
}

// ---- compare two results side by side ---------------------------------------------------------
function toggleCompare(id, on) {
  let picked = (state.compare || []).filter((x) => x !== id);
  if (on) picked.push(id);
  if (picked.length > 2) picked = picked.slice(-2);
  state.compare = picked;
  for (const box of document.querySelectorAll('#results input.compare-pick')) {
    box.checked = picked.includes(box.dataset.id);
  }
  renderCompare();
}
function clearCompare() {
  state.compare = [];
  for (const box of document.querySelectorAll('#results input.compare-pick')) box.checked = false;
  renderCompare();
}
function renderCompare() {
  const box = $('compare');
  box.textContent = '';
  const picked = (state.compare || []).map((id) => (state.results || []).find((r) => r.id === id)).filter(Boolean);
  if (!picked.length) { box.hidden = true; return; }
  box.hidden = false;
  box.append(el('div', { class: 'compare-head' }, el('strong', {}, 'Compare'),
    el('span', { class: 'hint' }, picked.length < 2 ? ' pick one more result (its “compare” box)' : ''),
    el('button', { id: 'compare-close', onclick: clearCompare }, 'close')));
  if (picked.length < 2) return;
  const extent = barExtent(picked.map((r) => r.barExpl || r.expl));
  const grid = el('div', { class: 'compare-grid' });
  for (const r of picked) {
    const rank = (state.results.indexOf(r)) + 1;
    const col = el('div', { class: 'compare-col', 'data-id': r.id },
      el('div', { class: 'compare-title' }, el('span', { class: 'hint' }, `#${rank} `), resultTitle(r)),
      el('div', { class: 'hint' }, r.score === null ? '' : 'score ' + fmt(r.score)));
    if (r.expl) col.append(renderExplanation(r.expl, { extent, barExpl: r.barExpl, compact: true }));
    grid.append(col);
  }
  box.append(grid);
  // The terms side by side, with the difference.
  const [a, b] = picked.map((r) => (r.barExpl || r.expl) || { terms: [] });
  const names = [...new Set(a.terms.map((t) => t.name).concat(b.terms.map((t) => t.name)))];
  if (names.length) {
    const table = el('table', { class: 'compare-terms' },
      el('tr', {}, el('th', {}, 'term'), el('th', { class: 'num' }, '#' + (state.results.indexOf(picked[0]) + 1)),
        el('th', { class: 'num' }, '#' + (state.results.indexOf(picked[1]) + 1)), el('th', { class: 'num' }, 'difference')));
    for (const name of names) {
      const ta = a.terms.find((t) => t.name === name);
      const tb = b.terms.find((t) => t.name === name);
      const va = ta ? ta.value : null;
      const vb = tb ? tb.value : null;
      table.append(el('tr', { 'data-term': name }, el('td', { title: (ta || tb).expr || '' }, (ta || tb).label),
        el('td', { class: 'num' }, va === null ? '—' : signed(va) + (ta.share !== null ? ` (${percent(ta.share)})` : '')),
        el('td', { class: 'num' }, vb === null ? '—' : signed(vb) + (tb.share !== null ? ` (${percent(tb.share)})` : '')),
        el('td', { class: 'num' }, va === null || vb === null ? '' : signed(va - vb))));
    }
    box.append(table);
  }
}

// ---- why not? ---------------------------------------------------------------------------------
// An id, or a title: exact first, then titles starting with the text (most rated first). The
// demo's titles put a leading article last ("Matrix, The"), so "The Matrix" is tried that way too.
function titleVariants(text) {
  const titleCase = (t) => t.replace(/(^|[\s(:-])(\p{Ll})/gu, (m, a, b) => a + b.toUpperCase());
  const out = [];
  for (const t of [text, titleCase(text)]) {
    if (!out.includes(t)) out.push(t);
    const m = t.match(/^(the|a|an)\s+(.+)$/i);
    const swapped = m ? `${m[2]}, ${m[1][0].toUpperCase()}${m[1].slice(1).toLowerCase()}` : null;
    if (swapped && !out.includes(swapped)) out.push(swapped);
  }
  return out;
}
async function findItem(text) {
  if (/^\d+$/.test(text)) return { id: text, others: [] };
  let rows = [];
  for (const t of titleVariants(text)) {
    const exact = await api('POST', '/v1/query', {
      query: 'MATCH (m:Movie) WHERE m.title = $t RETURN m.id, m.title ORDER BY m.rating_count DESC LIMIT 5',
      params: { t } });
    const prefix = await api('POST', '/v1/query', {
      query: 'MATCH (m:Movie) WHERE m.title >= $lo AND m.title < $hi RETURN m.id, m.title ORDER BY m.rating_count DESC LIMIT 6',
      params: { lo: t, hi: t + '\uffff' } });
    rows = exact.rows.concat(prefix.rows.filter((r) => !exact.rows.some((x) => x[0] === r[0])));
    if (rows.length) break;
  }
  if (!rows.length) return null;
  for (const [id, title] of rows) if (!state.titles[String(id)]) state.titles[String(id)] = { title, genres: [] };
  return { id: String(rows[0][0]), others: rows.slice(1).map(([id, title]) => ({ id: String(id), title })) };
}
async function whyNot(itemText) {
  const text = (itemText ?? $('whynot-item').value).trim();
  const out = $('whynot-result');
  if (!text) { out.textContent = 'Type a movie id or title.'; return; }
  if (!state.lastRequest) { out.textContent = 'Run a recipe or query first.'; return; }
  out.textContent = 'Asking…';
  try {
    const found = await findItem(text);
    if (!found) {
      out.textContent = '';
      out.append(el('div', { class: 'error' }, `No movie with id or title “${text}”.`));
      return;
    }
    const request = state.lastRequest;
    const body = { params: request.body.params, item: found.id };
    if (request.recipe) body.recipe = request.recipe; else body.query = request.query;
    const res = await api('POST', '/v1/explain/why-not', body);
    renderWhyNot(res, found);
  } catch (e) {
    out.textContent = '';
    const info = e.info || {};
    out.append(el('div', { class: 'error' }, e.status === 404 && /endpoint/.test(info.message || '')
      ? 'This server has no why-not endpoint yet (POST /v1/explain/why-not).'
      : `${info.code || 'error'} — ${info.message || e.message}`));
  }
}
function renderWhyNot(res, found) {
  const out = $('whynot-result');
  out.textContent = '';
  const item = res.item ? nodeOf(res.item) : { type: 'Movie', id: found.id };
  const title = item.label || label(item.type || 'Movie', item.id);
  const card = el('div', { class: 'whynot-card', 'data-item': item.id,
    'data-candidate': String(!!res.candidate), 'data-in-results': String(!!res.in_results) });
  card.append(el('div', { class: 'whynot-item' }, el('span', { class: 'hint' }, 'why not '), nodeChip(item), '?'));
  card.append(el('p', { class: 'verdict' }, res.verdict || (res.in_results ? `${title} is in the list.` : '')));
  const facts = el('ul', { class: 'whynot-facts' });
  facts.append(el('li', {}, res.candidate ? 'it was a candidate' : 'it was never a candidate'));
  if (typeof res.rank === 'number' || typeof res.score === 'number') {
    facts.append(el('li', { class: 'would-have' }, `without the removal it would rank ${res.rank ?? '?'}`
      + (typeof res.score === 'number' ? ` with score ${fmt(res.score)}` : '')
      + (typeof res.limit === 'number' ? ` (the list shows ${res.limit})` : '')));
  }
  for (const li of document.querySelectorAll('#results li.result.whynot-hit')) li.classList.remove('whynot-hit');
  if (res.in_results) {
    const pos = (state.results || []).findIndex((r) => r.id === item.id);
    const li = document.querySelector(`#results li.result[data-id="${CSS.escape(item.id)}"]`);
    if (li) li.classList.add('whynot-hit');
    facts.append(el('li', {}, pos >= 0 ? `it is #${pos + 1} in the list` : 'it is in the results',
      li ? el('button', { class: 'link', onclick: () => li.scrollIntoView({ behavior: 'smooth', block: 'center' }) }, 'show it') : ''));
  }
  card.append(facts);
  if ((res.sources || []).length) {
    const table = el('table', { class: 'whynot-sources' });
    for (const s of res.sources) {
      table.append(el('tr', { 'data-source': s.name, class: s.found ? 'found' : 'missed' },
        el('td', {}, s.name),
        el('td', {}, s.found ? '✓ reached it' : '✗ did not reach it'),
        el('td', {}, s.found ? (s.paths !== undefined ? `${s.paths} path${s.paths === 1 ? '' : 's'}` : '')
          : (s.reason || ''))));
    }
    card.append(el('div', { class: 'hint' }, 'sources'), table);
  }
  if ((res.removed_by || []).length) {
    const list = el('ul', { class: 'removed-by' });
    for (const r of res.removed_by) {
      const values = r.values && typeof r.values === 'object'
        ? Object.entries(r.values).map(([k, v]) => `${k} = ${typeof v === 'object' ? JSON.stringify(v) : fmt(v)}`).join(', ') : '';
      list.append(el('li', { 'data-kind': r.kind || '' }, el('span', { class: 'badge removed' }, r.kind || 'removed'), ' ',
        el('code', {}, r.expr || ''), values ? el('span', { class: 'hint' }, ' — ' + values) : ''));
    }
    card.append(el('div', { class: 'hint' }, 'removed by'), list);
  }
  if (found.others.length) {
    const more = el('div', { class: 'whynot-others hint' }, 'or did you mean: ');
    found.others.forEach((o) => more.append(el('button', { class: 'link', onclick: () => {
      $('whynot-item').value = o.id; whyNot(o.id); } }, o.title), ' '));
    card.append(more);
  }
  out.append(card);
}

// A warning for every relationship a fan-out cap cut (stats.capped_hops; a MATCH's truncated).
function capWarning(stats) {
  const hops = Array.isArray(stats.capped_hops) ? stats.capped_hops : [];
  if (!hops.length && !(stats.truncated && stats.source_stats === undefined)) return null;
  const box = el('div', { class: 'cap-warning', id: 'cap-warning' },
    el('strong', {}, 'Fan-out cap hit: results may be incomplete.'));
  const FROM = { default: 'the server default', source: 'MAX n PER NODE', relationship: 'its MAX n' };
  for (const h of hops) {
    box.append(el('div', {}, `${h.source}, hop ${h.hop} ${h.relationship}: only the ${h.cap} ` +
      `strongest edges per node were followed (${FROM[h.cap_from] || h.cap_from}).`));
  }
  box.append(el('div', { class: 'hint' }, hops.length
    ? 'Add MAX ALL PER NODE to the source (or MAX ALL in the brackets) to follow every edge.'
    : 'A MAX n in a relationship dropped edges; MAX ALL follows every edge.'));
  return box;
}

function renderStats(stats) {
  const box = $('stats');
  box.textContent = '';
  const warning = capWarning(stats);
  if (warning) box.append(warning);
  const table = el('table');
  const add = (k, v) => table.append(el('tr', {}, el('td', {}, k), el('td', { class: 'num' }, v)));
  const walk = (prefix, obj) => {
    for (const [k, v] of Object.entries(obj)) {
      const name = prefix ? prefix + '.' + k : k;
      if (name === 'capped_hops') continue;  // shown as the warning above
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
  overload: () => 'the server was saturated (no token to work, step slot or worker in time): served from the popular list',
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
    case 'frequency_cap': {
      const parts = [];
      if (rule.max !== undefined) parts.push(`at most ${rule.max} impressions per ${rule.window_seconds} s`);
      const never = Object.keys(rule.never_after || {});
      if (never.length) parts.push(`never after ${never.join(', ')}`);
      return `frequency cap: ${parts.join('; ')}`;
    }
    default: return rule.type;
  }
}
function describeItemRule(r, surface) {
  const def = surface && surface.rules ? surface.rules[r.rule] : null;
  let text = `rule ${r.rule} ${r.type}`;
  if (r.factor !== undefined) text += ` ×${r.factor}`;
  if (r.score_before !== undefined) text += ` (score before ${fmt(r.score_before)})`;
  if (r.type === 'pin' && r.slot !== undefined) text += ` to slot ${r.slot}`;
  if (r.type === 'frequency_cap') text += ` (shown ${r.impressions} of ${r.max} times in the window)`;
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
  const expls = items.map((it) => readExplanation(it.explanation));
  const pathMovieIds = [].concat(...expls.map(unlabelled));
  await resolveTitles(items.filter((it) => it.type === 'Movie').map((it) => String(it.id)).concat(pathMovieIds));
  $('decision').hidden = false;
  $('decision-status').textContent = items.length ? '' : 'The decision served no items.';
  // A surface with A/B variants names the user's variant; 'default' means it has none.
  const variant = res.variant && res.variant !== 'default' ? ` · variant ${res.variant}` : '';
  $('decision-meta').textContent = `${res.surface}${variant} · ${items.length} items · ${res.recommendation_id}`;
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
  const extent = barExtent(expls);
  items.forEach((it, index) => {
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
    if (expls[index]) li.append(renderExplanation(expls[index], { extent, compact: true }));
    list.append(li);
  });

  const rules = $('decision-rules');
  rules.textContent = '';
  if ((res.rules || []).length) {
    const table = el('table', {}, el('tr', {}, el('td', {}, 'rule'), el('td', {}, 'definition'), el('td', { class: 'num' }, 'affected')));
    for (const r of res.rules) {
      const def = surface && surface.rules ? surface.rules[r.rule] : { type: r.type };
      // A frequency cap lists what it removed: the ids with the count or the event.
      const capped = (r.capped || []).map((c) => c.event ? `${c.id} (${c.event})` : `${c.id} (${c.impressions}×)`);
      const definition = describeRule(def || { type: r.type }) + (capped.length ? ` — capped ${capped.join(', ')}` : '');
      table.append(el('tr', { 'data-rule': r.rule }, el('td', {}, `${r.rule} ${r.type}`),
        el('td', {}, definition), el('td', { class: 'num' }, r.affected)));
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
  if (t.admission_us) {
    table.append(el('tr', { class: 'admission' }, el('td', {}, 'wait to work'), el('td', {}, ''),
      el('td', { class: 'num' }, fmt(t.admission_us / 1000)), el('td', {}, '')));
  }
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

// ---- report mode: GET /v1/surfaces/{name}/report and GET /v1/recommendations/{id} -------------
const REPORT_BUCKETS = 24;
const REPORT_RECENT = 20;
const SERIES_COLORS = ['#2f6fdf', '#d95f02', '#1b9e77', '#7b4bd6', '#e7298a', '#66a61e'];
const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}
function interval(x) {
  if (!x) return '—';
  return `${pct(x.value)} [${pct(x.low)}, ${pct(x.high)}]`;
}
function pct(x) { return typeof x === 'number' ? (100 * x).toFixed(1) + '%' : '—'; }
function signedPct(x) { return typeof x === 'number' ? (x >= 0 ? '+' : '') + (100 * x).toFixed(1) + '%' : '—'; }
function differenceText(d) {
  if (!d) return '—';
  const verdict = d.low > 0 ? ' higher' : d.high < 0 ? ' lower' : ' level';
  return `${signedPct(d.value)} [${signedPct(d.low)}, ${signedPct(d.high)}]${verdict}`;
}
function timeText(ms) { return new Date(ms).toISOString().replace('T', ' ').slice(0, 19); }

async function loadReportSurfaces() {
  if (!state.surfaces) await loadSurfaces();
  const select = $('r-surface');
  select.textContent = '';
  for (const name of Object.keys(state.surfaces)) select.append(el('option', { value: name }, name));
  if (state.surfaces.home_row) select.value = 'home_row';
}

async function refreshReport() {
  const name = $('r-surface').value;
  if (!name) { $('report-status').textContent = 'No surface to report on.'; return; }
  const until = Date.now();
  const since = until - Number($('r-range').value);
  $('report-error').hidden = true;
  $('report-status').textContent = 'Reading the impression log…';
  try {
    const res = await api('GET', `/v1/surfaces/${encodeURIComponent(name)}/report?since=${since}` +
      `&until=${until}&buckets=${REPORT_BUCKETS}&recent=${REPORT_RECENT}`);
    renderReport(res);
  } catch (e) {
    const info = e.info || {};
    $('report-error').textContent = `${info.code || 'error'} — ${info.message || e.message}`;
    $('report-error').hidden = false;
    $('report-status').textContent = 'The report failed.';
  }
}

function renderReport(res) {
  $('report').hidden = false;
  const decisions = res.variants.reduce((n, v) => n + v.decisions, 0);
  $('report-status').textContent = decisions ? '' : 'No decisions of this surface were logged in this range.';
  $('report-meta').textContent = `${res.surface} · ${timeText(res.since_ms)} – ${timeText(res.until_ms)} UTC` +
    (res.complete ? '' : ` · incomplete: the scan stopped at ${timeText(res.scanned_until_ms)}`);
  const table = el('table', {}, el('tr', {}, ...['variant', 'decisions', 'impressions', 'CTR',
    'conversion', 'CTR vs control', 'explored'].map((h) => el('td', {}, h))));
  for (const v of res.variants) {
    const diff = v.vs_control ? differenceText(v.vs_control.ctr) : '(control)';
    table.append(el('tr', { 'data-variant': v.variant },
      el('td', {}, v.variant), el('td', { class: 'num' }, String(v.decisions)),
      el('td', { class: 'num' }, String(v.impressions)), el('td', {}, interval(v.ctr)),
      el('td', {}, interval(v.conversion_rate)), el('td', {}, diff),
      el('td', { class: 'num' }, pct(v.exploration_share))));
  }
  const variants = $('report-variants');
  variants.textContent = '';
  variants.append(table, el('div', { class: 'hint' },
    `clicks: ${res.clicks.join(', ')} · conversions: ${res.conversions.join(', ')} · ` +
    'CTR = clicked item impressions / item impressions; explored = share of items placed by exploration'));
  renderCtrChart(res);
  renderRecent(res.recent || []);
}

// One line per variant: the CTR of each bucket that has impressions (gaps are left open).
function renderCtrChart(res) {
  const box = $('report-chart');
  box.textContent = '';
  const W = 600, H = 180, L = 40, R = 10, T = 10, B = 24;
  const all = [].concat(...res.variants.map((v) => (v.series || []).map((b) => b.ctr)))
    .filter((x) => typeof x === 'number');
  const top = Math.max(0.05, ...all);
  const span = res.until_ms - res.since_ms;
  const x = (ms) => L + (W - L - R) * (ms - res.since_ms) / span;
  const y = (ctr) => T + (H - T - B) * (1 - ctr / top);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'CTR over time per variant' },
    svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
    svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
    svg('text', { x: 2, y: T + 8 }, pct(top)), svg('text', { x: 2, y: H - B }, '0%'),
    svg('text', { x: L, y: H - 6 }, timeText(res.since_ms)),
    svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, timeText(res.until_ms)));
  res.variants.forEach((v, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    let d = '';
    let pen = 'M';
    for (const b of v.series || []) {
      if (typeof b.ctr !== 'number') { pen = 'M'; continue; }
      const mid = (b.since_ms + b.until_ms) / 2;
      d += `${pen}${x(mid).toFixed(1)},${y(b.ctr).toFixed(1)} `;
      pen = 'L';
      chart.append(svg('circle', { cx: x(mid).toFixed(1), cy: y(b.ctr).toFixed(1), r: 2.5, fill: color },
        svg('title', {}, `${v.variant}: ${pct(b.ctr)} of ${b.impressions} impressions, ` +
          `${timeText(b.since_ms)} – ${timeText(b.until_ms)}`)));
    }
    if (d) chart.append(svg('path', { class: 'series', d, stroke: color, 'data-variant': v.variant }));
  });
  const legend = el('div', { class: 'legend' });
  res.variants.forEach((v, i) => {
    const swatch = el('span', { class: 'badge' }, v.variant);
    swatch.style.background = SERIES_COLORS[i % SERIES_COLORS.length];
    legend.append(swatch, ' ');
  });
  box.append(chart, legend);
  if (!all.length) box.append(el('div', { class: 'hint' }, 'No impressions in this range.'));
}

function renderRecent(recent) {
  const list = $('report-recent');
  list.textContent = '';
  for (const r of recent) {
    list.append(el('li', { 'data-id': r.recommendation_id },
      el('button', { class: 'rec-id', onclick: () => showRecord(r.recommendation_id) }, r.recommendation_id),
      ` ${timeText(r.served_at_ms)} · user ${r.user} · ${r.variant} · ${r.served_by} · ` +
      `${r.items} items · ${r.outcomes} outcomes`));
  }
  if (!recent.length) list.append(el('li', { class: 'hint' }, 'none'));
}

async function showRecord(id) {
  $('report-error').hidden = true;
  $('r-id').value = id;
  let rec;
  try {
    rec = await api('GET', `/v1/recommendations/${encodeURIComponent(id)}`);
  } catch (e) {
    const info = e.info || {};
    $('report-error').textContent = `${info.code || 'error'} — ${info.message || e.message}`;
    $('report-error').hidden = false;
    return;
  }
  const items = rec.items || [];
  await resolveTitles(items.filter((it) => it.type === 'Movie').map((it) => String(it.id)));
  $('record').hidden = false;
  $('record-meta').textContent = `${rec.recommendation_id} · ${timeText(rec.served_at_ms)} UTC`;
  $('record-summary').textContent = `${rec.surface} · variant ${rec.variant} · user ${rec.user} · ` +
    `served by ${rec.served_by} · confidence ${fmt(rec.confidence)}` +
    ((rec.reasons || []).length ? ` · reasons ${rec.reasons.join(', ')}` : '');
  const list = $('record-items');
  list.textContent = '';
  for (const it of items) {
    const info = it.type === 'Movie' ? state.titles[String(it.id)] : null;
    const title = it.label ?? (info ? info.title : String(it.id));
    const why = (it.reasons || []).map((r) => (typeof r === 'string' ? r : `rule ${r.rule} ${r.type}`));
    list.append(el('li', { 'data-id': String(it.id) },
      el('span', { class: 'slot' }, String(it.slot)), ' ',
      el('span', { class: 'result-title', onclick: () => inspect(it.type, String(it.id)) }, String(title)),
      ` · ${it.source} · score ${it.score === null || it.score === undefined ? '—' : fmt(it.score)} · ` +
      `propensity ${fmt(it.propensity)}` + (why.length ? ` · ${why.join('; ')}` : '')));
  }
  const outcomes = $('record-outcomes');
  outcomes.textContent = '';
  for (const o of rec.outcomes || []) {
    outcomes.append(el('li', { 'data-type': o.type },
      `${o.type} on ${o.item ?? '(no item)'} at ${timeText(o.ts)} UTC (event ${o.event_id})`));
  }
  if (!(rec.outcomes || []).length) outcomes.append(el('li', { class: 'hint' }, 'no attributed events yet'));
}

// ---- modes -----------------------------------------------------------------------------------
function setMode(mode) {
  state.mode = mode;
  for (const m of ['recipes', 'surfaces', 'report']) {
    for (const node of document.querySelectorAll('.mode-' + m)) node.hidden = mode !== m;
    $('mode-' + m).setAttribute('aria-selected', String(mode === m));
  }
  const hash = mode === 'recipes' ? '' : '#' + mode;
  if (location.hash !== hash) history.replaceState(null, '', location.pathname + location.search + hash);
  if (mode === 'surfaces') {
    if (!$('s-user').value && $('user').value) $('s-user').value = $('user').value;
    if (!state.surfaces) loadSurfaces().catch((e) => { showDecideError(e); $('decision-status').textContent = 'Could not load surfaces.'; });
    if (state.faultsOn === undefined) loadFaults();
  }
  if (mode === 'report' && !$('r-surface').options.length) {
    loadReportSurfaces().then(refreshReport).catch((e) => {
      $('report-error').textContent = e.message;
      $('report-error').hidden = false;
    });
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
    $('r-surface').textContent = '';
    state.faultsOn = undefined;
    if (state.mode !== 'recipes') setMode(state.mode);
  });
  $('recipe').addEventListener('change', selectRecipe);
  $('editor').addEventListener('input', () => renderGutter(0));
  $('editor').addEventListener('scroll', () => {
    $('gutter').scrollTop = $('editor').scrollTop;
    $('highlight').scrollTop = $('editor').scrollTop;
    $('highlight').scrollLeft = $('editor').scrollLeft;
  });
  $('editor').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  $('run').addEventListener('click', run);
  $('whynot').addEventListener('submit', (e) => { e.preventDefault(); whyNot(); });
  $('user').addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
  $('mode-recipes').addEventListener('click', () => setMode('recipes'));
  $('mode-surfaces').addEventListener('click', () => setMode('surfaces'));
  $('mode-report').addEventListener('click', () => setMode('report'));
  $('r-refresh').addEventListener('click', refreshReport);
  $('r-surface').addEventListener('change', refreshReport);
  $('r-range').addEventListener('change', refreshReport);
  $('r-lookup').addEventListener('submit', (e) => { e.preventDefault(); if ($('r-id').value.trim()) showRecord($('r-id').value.trim()); });
  $('surface').addEventListener('change', selectSurface);
  $('decide').addEventListener('click', decide);
  $('s-user').addEventListener('keydown', (e) => { if (e.key === 'Enter') decide(); });
  renderGutter(0);
  setMode(location.hash === '#surfaces' ? 'surfaces' : location.hash === '#report' ? 'report' : 'recipes');
  loadRecipes().catch((e) => { showError(e); $('status').textContent = 'Could not load recipes.'; });
  loadUsers();
}
document.addEventListener('DOMContentLoaded', init);

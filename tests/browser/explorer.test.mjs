// End-to-end test of the explanation explorer: starts `pathwise demo` on a free loopback port,
// drives the page in headless Chromium (playwright-core, the system's /usr/bin/chromium) and
// saves a screenshot. Usage: node explorer.test.mjs <pathwise binary> <artifact dir>
// Exit codes: 0 passed, 1 failed, 77 skipped (no chromium).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const [binary, artifactDir] = process.argv.slice(2);
if (!binary || !artifactDir) {
  console.error('usage: node explorer.test.mjs <pathwise binary> <artifact dir>');
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found`);
  process.exit(77);
}
const { chromium } = await import('playwright-core');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function startDemo(dataDir, port) {
  const child = spawn(binary, ['demo', '--data', dataDir, '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('demo did not start in 180 s:\n' + output)), 180000);
    const onData = (chunk) => {
      output += chunk.toString();
      const m = output.match(/Serving on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited with ${code}:\n${output}`)); });
  });
  return { child, ready, log: () => output };
}

function check(condition, message) {
  if (!condition) throw new Error('check failed: ' + message);
  console.log('ok -', message);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathwise-browser-'));
const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathwise-chromium-'));
fs.mkdirSync(artifactDir, { recursive: true });
const port = await freePort();
const demo = startDemo(dataDir, port);
let browser;
let page;
let failed = false;
try {
  const base = await demo.ready;
  console.log('demo serving at', base);
  // A fresh --user-data-dir: playwright passes profileDir as Chromium's --user-data-dir.
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1500, height: 1300 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (req) => {
    if (!req.url().startsWith(base)) consoleErrors.push('request outside the server: ' + req.url());
  });
  await page.goto(base + '/');
  await page.waitForSelector('#recipe option[value="because_you_watched"]', { state: 'attached', timeout: 30000 });
  await page.waitForFunction(() => document.querySelectorAll('#user-list option').length > 100,
    null, { timeout: 30000 });
  check(await page.locator('#user-list option').count() >= 600, 'user datalist is filled by a MATCH query');

  await page.fill('#user', '1');
  await page.selectOption('#recipe', 'because_you_watched');
  await page.click('#run');
  await page.waitForFunction(() => document.querySelectorAll('#results li.result').length === 10,
    null, { timeout: 30000 });
  const results = page.locator('#results li.result');
  check(await results.count() === 10, 'because_you_watched shows ten results');
  for (let i = 0; i < 10; i++) {
    const item = results.nth(i);
    const edges = await item.locator('.explain svg path.edge').count();
    const nodes = await item.locator('.explain svg g.node').count();
    check(edges >= 2 && nodes >= 3, `result ${i + 1} has an explanation path drawn (${nodes} nodes, ${edges} edges)`);
    // because_you_watched's paths are user -RATED-> movie -SIMILAR_TO-> this movie.
    const labels = await item.locator('.explain svg text.edge-label').allTextContents();
    check(labels.some((t) => t.startsWith('RATED')) && labels.some((t) => t.startsWith('SIMILAR_TO')),
      `result ${i + 1} labels its edges RATED and SIMILAR_TO`);
    const firstUser = await item.locator('.explain svg g.node').first().getAttribute('data-id');
    const lastMovie = await item.locator('.explain svg g.node[data-type="Movie"]').nth(1).getAttribute('data-id');
    const resultId = await item.getAttribute('data-id');
    check(firstUser === '1' && lastMovie === resultId, `result ${i + 1}'s path runs from user 1 to movie ${resultId}`);
    check(await item.locator('.terms .term').count() >= 1, `result ${i + 1} shows its score terms`);
  }
  const before = await page.$$eval('#results li.result', (lis) => lis.map((li) => li.dataset.id));
  const titles = await page.$$eval('#results .result-title', (ts) => ts.map((t) => t.textContent));
  check(titles.every((t) => t && !/^\d+$/.test(t)), 'results show movie titles');
  check(await page.locator('#stats tr').count() > 0, 'per-stage stats are shown');

  // Inspect the user node from the explanation.
  await results.nth(0).locator('.explain svg g.node[data-type="User"]').first().click();
  await page.waitForSelector('#inspector-body button', { timeout: 10000 });
  check((await page.textContent('#inspector-body')).includes('RATED'), 'inspector shows the user node with its RATED degree');

  // "I watched this" on the first result with 5 stars, then the list changes.
  await results.nth(0).locator('select').selectOption('5');
  await results.nth(0).locator('button.watched').click();
  await page.waitForFunction((first) => {
    const ids = [...document.querySelectorAll('#results li.result')].map((li) => li.dataset.id);
    return ids.length === 10 && !ids.includes(first);
  }, before[0], { timeout: 30000 });
  const after = await page.$$eval('#results li.result', (lis) => lis.map((li) => li.dataset.id));
  check(!after.includes(before[0]) && JSON.stringify(after) !== JSON.stringify(before),
    'after the rating event the watched movie is gone and the list changed');
  await page.screenshot({ path: path.join(artifactDir, 'explorer.png'), fullPage: false });

  // A syntax error in the editor is shown at its line.
  await page.check('#use-editor');
  await page.fill('#editor', 'RECOMMEND (c:Movie) FOR (u:User {id: $user})\n  FROM (u)-[r:RATED]->(c)\n  SCORE sum(r.weight\n  LIMIT 10');
  await page.click('#run');
  await page.waitForSelector('#query-error:not([hidden])', { timeout: 10000 });
  const errorText = await page.textContent('#query-error');
  check(/line \d+/.test(errorText), 'a syntax error is reported with its line: ' + errorText.trim());
  check(await page.locator('#gutter .err').count() === 1, 'the offending line is highlighted in the gutter');
  await page.screenshot({ path: path.join(artifactDir, 'explorer-error.png'), fullPage: false });
  check(consoleErrors.length === 0, 'no page errors or requests outside the server: ' + consoleErrors.join('; '));
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  if (page) {
    await page.screenshot({ path: path.join(artifactDir, 'explorer-failure.png') }).catch(() => {});
  }
  console.error('--- demo output ---\n' + demo.log().slice(-4000));
} finally {
  if (browser) await browser.close().catch(() => {});
  demo.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(profileDir, { recursive: true, force: true });
}
console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed');
process.exit(failed ? 1 : 0);

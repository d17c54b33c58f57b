// The explorer's speed in a real browser, as a user meets it: the shipped
// (release) binary, a fresh browser context per load (nothing cached).
//
// 1. First load on the article: bytes transferred (every asset, as sent:
//    gzipped), first paint and first contentful paint, and the time until
//    the drawing of an entity is shown.
// 2. A large drawing: a generated graph, the neighbourhoods of its hubs
//    expanded until about 5,000 nodes are drawn; the time until they are
//    drawn, then frame times while the user pans and zooms.
//
// Usage: node bench/explorer.mjs [--rounds 5] [--nodes 5000] [--smoke]
// (PARTNERGRAPH_BIN picks the binary; the default is target/release.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { startServer, RELEASE_BIN as BIN } from '../test/e2e/server.mjs';

const args = process.argv.slice(2);
/** @param {string} name @param {number} fallback */
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const smoke = args.includes('--smoke');
const rounds = smoke ? 1 : opt('--rounds', 5);
const targetNodes = smoke ? 500 : opt('--nodes', 5000);

/** @param {number[]} xs */
function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (/** @type {number} */ q) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, p95: at(0.95) };
}
/** @param {number} x */
const ms = (x) => `${x.toFixed(0)} ms`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--enable-unsafe-swiftshader'],
});
console.log(`binary: ${BIN}`);

/**
 * Opens `url` in a fresh context and waits until the drawing shows at
 * least `nodes` nodes.
 * @param {string} url
 * @param {number} nodes
 */
async function open(url, nodes) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction((n) => Number(document.getElementById('canvas')?.dataset.nodes ?? 0) >= n, nodes, { timeout: 600_000, polling: 50 });
  const drawn = Date.now() - t0;
  return { context, page, drawn };
}

// 1. First load on the article.
{
  const server = await startServer({ bin: BIN });
  const bytes = [], fp = [], fcp = [], drawn = [];
  for (let i = 0; i < rounds; i += 1) {
    const { context, page, drawn: d } = await open(`${server.base}/#/entity/ctef`, 4);
    const m = await page.evaluate(() => {
      const nav = /** @type {PerformanceNavigationTiming} */ (performance.getEntriesByType('navigation')[0]);
      const res = /** @type {PerformanceResourceTiming[]} */ (performance.getEntriesByType('resource'));
      const paint = Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime]));
      const assets = res.filter((r) => new URL(r.name).pathname.startsWith('/assets/'));
      return {
        bytes: (nav?.transferSize ?? 0) + assets.reduce((n, r) => n + r.transferSize, 0),
        fp: paint['first-paint'] ?? NaN,
        fcp: paint['first-contentful-paint'] ?? NaN,
      };
    });
    bytes.push(m.bytes);
    fp.push(m.fp);
    fcp.push(m.fcp);
    drawn.push(d);
    await context.close();
  }
  await server.stop();
  const b = summary(bytes), p = summary(fp), c = summary(fcp), d = summary(drawn);
  console.log(`first load (article, #/entity/ctef), ${rounds} rounds, fresh context each:`);
  console.log(`  transferred: ${(b.median / 1024).toFixed(1)} KiB (page and assets, gzipped)`);
  console.log(`  first paint: median ${ms(p.median)} (${ms(p.min)}–${ms(p.max)}); first contentful paint ${ms(c.median)} (${ms(c.min)}–${ms(c.max)})`);
  console.log(`  entity drawn: median ${ms(d.median)} (${ms(d.min)}–${ms(d.max)}) from navigation start`);
}

// 2. Drawings of about 500 and of `targetNodes` nodes on a generated graph:
// the small one is this machine's baseline for the same interaction.
/** @param {number} targetNodes */
async function drawing(targetNodes) {
  const dir = mkdtempSync(join(tmpdir(), 'partnergraph-bench-'));
  const entities = targetNodes * 4;
  const file = join(dir, 'graph.json');
  execFileSync(BIN, ['generate', '--entities', String(entities), '--relations', String(entities * 5), '--out', file]);
  const server = await startServer({ bin: BIN, args: ['--dataset', file] });
  // The hubs, biggest first, expanded until their neighbours add up.
  const r = await fetch(`${server.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ centrality(measure: DEGREE, first: 100) { entity { id degree } } }' }),
  });
  const hubs = (await r.json()).data.centrality.map((/** @type {any} */ x) => x.entity);
  const expand = [];
  let sum = 0;
  for (const hub of hubs) {
    if (sum >= targetNodes * 1.7) break;
    const shown = Math.min(hub.degree, 5000);
    expand.push(`${encodeURIComponent(hub.id)}:${shown}`);
    sum += shown;
  }
  const url = `${server.base}/#/entity/${encodeURIComponent(hubs[0].id)}?expand=${expand.join(',')}`;
  const drawn = [], p50 = [], p95 = [], worst = [];
  let nodes = 0, edges = 0;
  for (let i = 0; i < rounds; i += 1) {
    const { context, page, drawn: d } = await open(url, Math.floor(targetNodes * 0.5));
    nodes = Number(await page.locator('#canvas').getAttribute('data-nodes'));
    edges = Number(await page.locator('#canvas').getAttribute('data-edges'));
    drawn.push(d);
    // Frame times while the user zooms and pans for three seconds.
    await page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__frames = [];
      let last = performance.now();
      const tick = (/** @type {number} */ t) => {
        w.__frames.push(t - last);
        last = t;
        if (w.__frames.length < 100000) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const box = await page.locator('#canvas').boundingBox();
    if (!box) throw new Error('no drawing');
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    const until = Date.now() + 3000;
    let k = 0;
    while (Date.now() < until) {
      await page.mouse.wheel(0, k % 20 < 10 ? -120 : 120);
      await page.mouse.down();
      await page.mouse.move(cx + 80 * Math.cos(k / 5), cy + 80 * Math.sin(k / 5), { steps: 4 });
      await page.mouse.up();
      await page.mouse.move(cx, cy);
      k += 1;
    }
    const frames = await page.evaluate(() => /** @type {any} */ (window).__frames.slice(2));
    const f = summary(frames);
    p50.push(f.median);
    p95.push(f.p95);
    worst.push(f.max);
    await context.close();
  }
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  const d = summary(drawn), a = summary(p50), b = summary(p95), w = summary(worst);
  console.log(`drawing: ${nodes} nodes, ${edges} edges (generated graph of ${entities} entities; ${expand.length} hubs expanded), ${rounds} rounds:`);
  console.log(`  drawn: median ${ms(d.median)} (${ms(d.min)}–${ms(d.max)}) from navigation start`);
  console.log(`  frame time while zooming and panning: median ${a.median.toFixed(1)} ms (rounds ${a.min.toFixed(1)}–${a.max.toFixed(1)}), p95 ${b.median.toFixed(1)} ms (${b.min.toFixed(1)}–${b.max.toFixed(1)}), worst ${w.median.toFixed(0)} ms (${w.min.toFixed(0)}–${w.max.toFixed(0)})`);
}

for (const n of smoke ? [targetNodes] : [500, targetNodes]) await drawing(n);
await browser.close();

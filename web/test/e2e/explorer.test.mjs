// The explorer and GraphiQL in a real browser against the real binary, with
// every request to another origin blocked and counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './server.mjs';
import { openBrowser } from './browser.mjs';

const TOKEN = 'e2e-token';
/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {Awaited<ReturnType<typeof openBrowser>>} */
let b;

before(async () => {
  server = await startServer({ token: TOKEN });
  b = await openBrowser(server.base);
});

after(async () => {
  await b?.browser.close();
  await server?.stop();
});

/** @param {import('playwright-core').Page} page */
async function noViolations(page) {
  assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).__csp), [], 'Content-Security-Policy violations');
}

/** @param {import('playwright-core').Page} page */
async function nodesDrawn(page) {
  return Number(await page.locator('#canvas').getAttribute('data-nodes'));
}

/**
 * Waits until the drawing shows a number of nodes `ok` accepts.
 * @param {import('playwright-core').Page} page
 * @param {(n: number) => boolean} ok
 */
async function waitForNodes(page, ok) {
  for (let i = 0; i < 100; i += 1) {
    const n = await nodesDrawn(page);
    if (ok(n)) return n;
    await page.waitForTimeout(100);
  }
  throw new Error(`the drawing shows ${await nodesDrawn(page)} nodes`);
}

/** @param {string} query @param {string} [token] */
async function post(query, token) {
  const headers = /** @type {Record<string, string>} */ ({ 'content-type': 'application/json' });
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${server.base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return r.json();
}

test('the pages are served with a policy that allows only this server', async () => {
  for (const path of ['/', '/graphiql']) {
    const r = await fetch(`${server.base}${path}`);
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /connect-src 'self';/);
    assert.doesNotMatch(csp, /https?:|\*|unsafe/);
  }
});

test('an analyst searches, reads the evidence, expands, follows the money and a path, and shares the view', async () => {
  const { page, context, errors } = await b.newPage();
  const { step } = b;

  await step(page, 'search CTEF and open the fund', async () => {
    await page.goto(`${server.base}/`);
    await page.getByRole('combobox', { name: 'Search' }).fill('CTEF');
    const option = page.getByRole('option').filter({ hasText: 'Counter-ISIS Train and Equip Fund' });
    await option.waitFor();
    assert.match(await option.innerText(), /fund/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/entity\/ctef$/);
    await page.getByRole('heading', { name: 'Counter-ISIS Train and Equip Fund', exact: true }).waitFor();
  });

  await step(page, 'the quote is visible', async () => {
    const quote = page.locator('.evidence .quote').first();
    await quote.waitFor();
    assert.match(await quote.innerText(), /Counter-ISIS Train and Equip Fund \(CTEF\)/);
    assert.ok(await quote.isVisible());
    await page.getByText('In the document').first().click();
    assert.match(await page.locator('.in-document mark').first().innerText(), /CTEF/);
  });

  await step(page, 'the drawing saves as PNG', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'PNG' }).click()]);
    assert.match(download.suggestedFilename(), /^partnergraph-ctef\.png$/);
    const bytes = readFileSync(/** @type {string} */ (await download.path()));
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(bytes.length > 5000, `${bytes.length} bytes`);
  });

  await step(page, 'the export links download what is drawn', async () => {
    const href = await page.getByRole('link', { name: 'node-link JSON' }).getAttribute('href');
    assert.equal(href, '/export/node-link?id=ctef&depth=1');
    const r = await fetch(`${server.base}${href}`);
    assert.equal(r.status, 200);
    const graph = await r.json();
    const drawn = await nodesDrawn(page);
    assert.equal(graph.nodes.length, drawn);
    assert.ok(graph.nodes.some((/** @type {any} */ n) => n.id === 'ctef'));
  });

  await step(page, 'copy as GraphQL query gives queries that run as pasted', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    await page.getByRole('button', { name: 'Copy as GraphQL query' }).click();
    await page.locator('#copy-note').filter({ hasText: 'Copied.' }).waitFor();
    const text = await page.evaluate(() => navigator.clipboard.readText());
    const queries = text.split('\n\n');
    assert.equal(queries.length, 2, text);
    const entity = await post(queries[0] ?? '');
    assert.equal(entity.data.entity.name, 'Counter-ISIS Train and Equip Fund');
    const relations = await post(queries[1] ?? '');
    assert.equal(relations.data.entity.relations.totalCount, 3);
  });

  await step(page, 'direction and relation kinds filter the neighbours', async () => {
    await page.getByLabel('Direction').selectOption('INCOMING');
    await page.waitForURL(/dir=INCOMING/);
    await page.getByRole('heading', { name: 'Relations (1 of 1)' }).waitFor();
    await page.getByLabel('Direction').selectOption('BOTH');
    await page.getByText('Relation kinds: all').click();
    await page.getByRole('checkbox', { name: 'funds' }).check();
    await page.waitForURL(/kinds=FUNDS/);
    await page.getByRole('heading', { name: 'Relations (2 of 2)' }).waitFor();
    assert.equal(await waitForNodes(page, (n) => n === 3), 3);
    await page.getByRole('checkbox', { name: 'funds' }).uncheck();
    await page.waitForURL(/#\/entity\/ctef$/);
    await page.getByRole('heading', { name: 'Relations (3 of 3)' }).waitFor();
  });

  let before = 0;
  await step(page, 'expanding a node adds nodes to the drawing', async () => {
    before = await waitForNodes(page, (n) => n > 1);
    // Keyboard: tab to the neighbour's link in the relation list, Enter.
    const link = page.locator('.relations a', { hasText: 'Iraq’s security institutions' });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/entity\/iraqs-security-institutions\?expand=ctef,iraqs-security-institutions/);
    const after = await waitForNodes(page, (n) => n > before);
    assert.ok(after > before, `${after} > ${before}`);
  });

  let shared = '';
  let sharedNodes = 0;
  await step(page, 'the funding view of the Peshmerga shows the CTEF and its hedge', async () => {
    await page.getByRole('combobox', { name: 'Search' }).fill('Peshmerga');
    await page.getByRole('option').filter({ hasText: /^Peshmerga/ }).first().click();
    await page.getByRole('heading', { name: 'Peshmerga', exact: true }).waitFor();
    await page.getByRole('tab', { name: 'Money' }).click();
    const flow = page.locator('.funding .flow').first();
    await flow.waitFor();
    const text = await flow.innerText();
    assert.match(text, /Counter-ISIS Train and Equip Fund|Fiscal Year 2026 National Defense Authorization Act/);
    assert.match(await page.locator('.funding').innerText(), /Counter-ISIS Train and Equip Fund/);
    assert.match(text, /more than \$213 million/);
    assert.match(text, /via .*Counter-ISIS Train and Equip Fund/);
    shared = page.url();
    sharedNodes = await waitForNodes(page, (n) => n > before);
  });

  await step(page, 'a shared URL reopens the same view', async () => {
    const other = await context.newPage();
    await other.goto(shared);
    await other.getByRole('heading', { name: 'Peshmerga', exact: true }).waitFor();
    assert.equal(await other.getByRole('tab', { name: 'Money' }).getAttribute('aria-selected'), 'true');
    await other.locator('.funding .flow').first().waitFor();
    assert.equal(await waitForNodes(other, (n) => n === sharedNodes), sharedNodes);
    await other.close();
    // Back returns to the previous view.
    await page.goBack();
    await page.getByRole('tab', { name: 'Evidence and relations' }).and(page.locator('[aria-selected=true]')).waitFor();
  });

  await step(page, 'a path between two entities is listed', async () => {
    await page.getByLabel('Paths from Peshmerga to').fill('Issa Ozeir');
    await page.locator('#path-results [role=option]').first().waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/paths\/peshmerga\/issa-ozeir/);
    const shortest = page.locator('.path.shortest');
    await shortest.waitFor();
    const text = await shortest.innerText();
    assert.match(text, /^\d hops?: Peshmerga .* Issa Ozeir$/);
    const listed = await page.locator('ol.paths li').count();
    assert.ok(listed >= 1);
    // Every entity on a listed path is drawn.
    const onPaths = new Set(await page.locator('ol.paths a, .path.shortest a').evaluateAll((links) => links.map((a) => a.getAttribute('data-id'))));
    assert.equal(await waitForNodes(page, (n) => n === onPaths.size), onPaths.size);
  });

  await step(page, 'a write made through the API appears in the open view', async () => {
    await page.goto(`${server.base}/#/entity/peshmerga`);
    await page.getByRole('heading', { name: /^Relations \(7 of 7\)/ }).waitFor();
    const edges = Number(await page.locator('#canvas').getAttribute('data-edges'));
    const r = await post(`mutation { createRelation(input: { kind: SUPPORTS, from: "united-states", to: "peshmerga",
      sources: [{ document: "k24-peshmerga-us-iraq-talks", quote: "Washington’s recognition of the Kurdish forces as a pillar of regional stability" }] }) { id } }`, TOKEN);
    assert.equal(r.errors, undefined, JSON.stringify(r));
    await page.getByRole('heading', { name: /^Relations \(8 of 8\)/ }).waitFor({ timeout: 10_000 });
    assert.equal(Number(await page.locator('#canvas').getAttribute('data-edges')), edges + 1);
    assert.match(await page.locator('#status').innerText(), /graph version 2/);
  });

  await step(page, 'an unknown id says so', async () => {
    await page.goto(`${server.base}/#/entity/no-such-entity`);
    await page.getByRole('alert').filter({ hasText: 'There is no entity with the id “no-such-entity”' }).waitFor();
    assert.equal(await nodesDrawn(page), 0);
  });

  await noViolations(page);
  assert.deepEqual(errors, []);
  await context.close();
});

test('centrality lists each measure and opens an entity', async () => {
  const { page, context, errors } = await b.newPage();
  await b.step(page, 'start page', async () => {
    await page.goto(`${server.base}/`);
    await page.getByRole('heading', { name: 'Explore who funds, commands and supports whom' }).waitFor();
    assert.match(await page.locator('#panel').innerText(), /24 entities and 4[34] relations/);
    assert.equal(await page.locator('#drawing').isVisible(), false);
  });
  await b.step(page, 'centrality', async () => {
    await page.goto(`${server.base}/#/central`);
    await page.locator('.ranking tbody tr').first().waitFor();
    await page.getByLabel('Measure').selectOption('BETWEENNESS');
    await page.waitForURL(/measure=BETWEENNESS/);
    await page.locator('.ranking[data-measure=BETWEENNESS] tbody tr').first().waitFor();
    const first = page.locator('.ranking tbody tr a').first();
    const name = await first.innerText();
    await first.click();
    await page.getByRole('heading', { name, exact: true }).waitFor();
  });
  await noViolations(page);
  assert.deepEqual(errors, []);
  await context.close();
});

test('on a phone the page fits the screen', async () => {
  const { page, context } = await b.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await b.step(page, 'phone', async () => {
    await page.goto(`${server.base}/#/entity/ctef`);
    await page.getByRole('heading', { name: 'Counter-ISIS Train and Equip Fund', exact: true }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    assert.ok(await page.locator('#canvas').isVisible());
  });
  await context.close();
});

test('GraphiQL runs the README examples, a subscription, and a write with the token, with no CDN', async () => {
  const { page, context, errors } = await b.newPage();
  await b.step(page, 'graphiql', async () => {
    await page.goto(`${server.base}/graphiql`);
    await page.getByRole('tab', { name: 'FundingFlows' }).waitFor();
    await page.getByRole('button', { name: /Execute query/ }).click();
    await page.locator('.result-window').getByText('more than $213 million').waitFor();

    // The subscription tab, then a write: the event arrives over the
    // same WebSocket endpoint.
    await page.getByRole('tab', { name: 'Live' }).click();
    await page.locator('.graphiql-query-editor').getByText('subscription Live').waitFor();
    await page.getByRole('button', { name: /Execute query/ }).click();
    await page.waitForTimeout(500);
    const r = await post(`mutation { updateEntity(id: "ctef", patch: { description: "A total of $358 million is designated under it." }) { id } }`, TOKEN);
    assert.equal(r.errors, undefined, JSON.stringify(r));
    await page.locator('.result-window').getByText('ENTITY_UPDATED').waitFor({ timeout: 10_000 });

    // The Token button puts the write token in the headers; the Write tab
    // then writes.
    page.once('dialog', (d) => d.accept(TOKEN));
    await page.getByRole('tab', { name: 'Write' }).click();
    await page.locator('.graphiql-query-editor').getByText('mutation Write').waitFor();
    await page.getByRole('button', { name: /Set the write token/ }).click();
    await page.locator('.graphiql-editor-tool').getByText(`Bearer ${TOKEN}`).waitFor();
    await page.getByRole('button', { name: /Execute query/ }).click();
    await page.locator('.result-window').getByText('united-states-supports-peshmerga').first().waitFor();
  });
  await noViolations(page);
  assert.deepEqual(errors, []);
  await context.close();
});

test('when the server goes away the explorer says so, and recovers when it is back', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'partnergraph-web-'));
  let own = await startServer({ dataDir });
  const ownBrowser = await openBrowser(own.base);
  const { page } = await ownBrowser.newPage();
  try {
    await b.step(page, 'server down', async () => {
      await page.goto(`${own.base}/#/entity/ctef`);
      await page.getByRole('heading', { name: 'Counter-ISIS Train and Equip Fund', exact: true }).waitFor();
      await page.locator('#status').filter({ hasText: 'Live' }).waitFor();
      await own.stop();
      await page.locator('#status').filter({ hasText: 'Offline' }).waitFor({ timeout: 10_000 });
      await page.evaluate(() => { location.hash = '#/entity/peshmerga'; });
      await page.getByRole('alert').filter({ hasText: 'The server cannot be reached' }).waitFor();
    });
    await b.step(page, 'server back', async () => {
      own = await startServer({ dataDir, port: own.port });
      // The page reconnects by itself and reloads the view it could not show.
      await page.locator('#status').filter({ hasText: 'reconnected' }).waitFor({ timeout: 30_000 });
      await page.getByRole('heading', { name: 'Peshmerga', exact: true }).waitFor();
      assert.equal(await page.locator('#problem').isVisible(), false);
    });
    assert.deepEqual(ownBrowser.foreign, []);
  } finally {
    await own.stop();
    await ownBrowser.browser.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('no request ever left for another origin', () => {
  assert.deepEqual(b.foreign, []);
});

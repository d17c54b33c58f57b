import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, formatHash, openEntity, expand, PAGE, MAX_SHOWN } from '../../src/explorer/state.js';

test('an entity link opens the entity with its neighbours drawn', () => {
  assert.deepEqual(parseHash('#/entity/ctef'), {
    view: 'entity', id: 'ctef', tab: 'evidence', expand: [{ id: 'ctef', shown: PAGE }], kinds: [], dir: 'BOTH',
  });
  assert.equal(formatHash(parseHash('#/entity/ctef')), '#/entity/ctef');
});

test('every view survives the round trip through the URL', () => {
  /** @type {import('../../src/explorer/state.js').View[]} */
  const views = [
    { view: 'home' },
    { view: 'entity', id: 'peshmerga', tab: 'funding', expand: [{ id: 'peshmerga', shown: 50 }, { id: 'ctef', shown: PAGE }], kinds: ['FUNDS', 'SUPPORTS'], dir: 'INCOMING' },
    { view: 'entity', id: 'a,b:c/d é', tab: 'evidence', expand: [{ id: 'x:y,z', shown: 75 }], kinds: [], dir: 'OUTGOING' },
    { view: 'entity', id: 'ctef', tab: 'evidence', expand: [], kinds: [], dir: 'BOTH' },
    { view: 'paths', from: 'issa-ozeir', to: 'ctef', max: 3, kinds: ['PART_OF'], dir: 'BOTH' },
    { view: 'central', measure: 'BETWEENNESS', kind: 'PERSON' },
  ];
  for (const v of views) assert.deepEqual(parseHash(formatHash(v)), v, formatHash(v));
});

test('unreadable fragments fall back to safe values', () => {
  assert.deepEqual(parseHash(''), { view: 'home' });
  assert.deepEqual(parseHash('#/nowhere'), { view: 'home' });
  assert.deepEqual(parseHash('#/entity/'), { view: 'home' });
  const v = parseHash('#/entity/ctef?dir=SIDEWAYS&kinds=FUNDS,<script>,FUNDS&expand=ctef:-4,b:99999,%E0%A4%A');
  assert.equal(v.view, 'entity');
  if (v.view !== 'entity') return;
  assert.equal(v.dir, 'BOTH');
  assert.deepEqual(v.kinds, ['FUNDS']);
  assert.deepEqual(v.expand, [{ id: 'ctef', shown: 1 }, { id: 'b', shown: MAX_SHOWN }, { id: '%E0%A4%A', shown: PAGE }]);
  const p = parseHash('#/paths/a/b?max=99');
  assert.equal(p.view === 'paths' && p.max, 6);
  assert.deepEqual(parseHash('#/central?measure=nonsense&kind=x y'), { view: 'central', measure: 'PAGERANK', kind: '' });
});

test('clicking a node keeps the drawing and adds its neighbours', () => {
  const start = parseHash('#/entity/ctef?kinds=FUNDS');
  const next = openEntity(start, 'peshmerga');
  assert.equal(formatHash(next), '#/entity/peshmerga?expand=ctef,peshmerga&kinds=FUNDS');
  assert.deepEqual(openEntity({ view: 'home' }, 'ctef'), parseHash('#/entity/ctef'));
});

test('show more adds a page, collapse removes the node, and the cap holds', () => {
  const v = parseHash('#/entity/ctef');
  if (v.view !== 'entity') throw new Error('not an entity view');
  const more = expand(v, 'ctef', 'more');
  assert.equal(formatHash(more), `#/entity/ctef?expand=ctef:${2 * PAGE}`);
  assert.equal(formatHash(expand(v, 'ctef', 'collapse')), '#/entity/ctef?expand=');
  const none = parseHash('#/entity/ctef?expand=');
  assert.deepEqual(none.view === 'entity' ? none.expand : null, []);
  let big = v;
  for (let i = 0; i < MAX_SHOWN; i += 1) {
    const n = expand(big, 'ctef', 'more');
    if (n.view !== 'entity') throw new Error('not an entity view');
    big = n;
  }
  assert.equal(big.expand[0]?.shown, MAX_SHOWN);
});

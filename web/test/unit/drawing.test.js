import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyDrawing, addEntity, addRelation, depthFrom } from '../../src/explorer/views/drawing.js';

/** @param {string} id @param {string} from @param {string} to */
const rel = (id, from, to) => ({ id, kind: 'FUNDS', from: { id: from, name: from.toUpperCase(), kind: 'FUND' }, to: { id: to, name: to.toUpperCase(), kind: 'FUND' }, amount: null });

test('a drawing holds each entity once and the relations with their ends', () => {
  const d = emptyDrawing();
  addEntity(d, { id: 'a', name: 'A', kind: 'FUND' });
  addRelation(d, rel('r1', 'a', 'b'));
  addRelation(d, rel('r2', 'b', 'c'));
  addRelation(d, { id: 'r3', kind: 'FUNDS', from: { id: 'c' }, to: { id: 'd' }, amount: { amount: 5 } });
  assert.deepEqual([...d.nodes.keys()].sort(), ['a', 'b', 'c']);
  assert.equal(d.edges.size, 3);
  assert.equal(d.edges.get('r3')?.amount, 5);
});

test('the export depth is the farthest hop drawn from the root, either way', () => {
  const d = emptyDrawing();
  assert.equal(depthFrom(d, 'a'), 1);
  addRelation(d, rel('r1', 'a', 'b'));
  addRelation(d, rel('r2', 'c', 'b'));
  addRelation(d, rel('r3', 'c', 'e'));
  addRelation(d, rel('r4', 'a', 'e'));
  assert.equal(depthFrom(d, 'a'), 2);
  addRelation(d, rel('r5', 'x', 'y'));
  assert.equal(depthFrom(d, 'a'), 2);
  assert.equal(depthFrom(d, 'x'), 1);
});

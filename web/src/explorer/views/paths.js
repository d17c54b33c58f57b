// The paths view: the shortest path between two entities and the other
// simple paths up to a length, listed and drawn.
import { cached } from '../data.js';
import { PATHS, inlineVariables } from '../queries.js';
import { h, fill, entityLink } from '../dom.js';
import { kindLabel } from '../format.js';
import { emptyDrawing, addEntity, addRelation } from './drawing.js';
import { exportsFor } from './entity.js';
import { MAX_PATH } from '../state.js';

/** @typedef {Extract<import('../state.js').View, { view: 'paths' }>} PathsState */

/**
 * @param {import('./context.js').Context} ctx
 * @param {PathsState} view
 * @param {() => boolean} current
 */
export async function pathsView(ctx, view, current) {
  const variables = {
    from: view.from, to: view.to, max: view.max,
    direction: view.dir === 'BOTH' ? null : view.dir, kinds: view.kinds.length ? view.kinds : null,
  };
  /** @type {any} */
  let data;
  try {
    data = await cached(PATHS, variables);
  } catch (e) {
    // An unknown end is NOT_FOUND from the API: an empty state, not a failure.
    if (/** @type {any} */ (e)?.code !== 'NOT_FOUND') throw e;
    data = null;
  }
  if (!current()) return;
  ctx.setCopy(inlineVariables(PATHS, variables));
  exportsFor(null);
  if (!data || !data.from || !data.to) {
    ctx.graph.show(emptyDrawing());
    fill(ctx.panel, [
      h('h2', {}, ['Paths']),
      h('p', { class: 'empty-state', role: 'alert' }, [`No entity with the id “${data?.from ? view.to : view.from}”.`]),
    ]);
    return;
  }
  const drawing = emptyDrawing();
  addEntity(drawing, data.from);
  addEntity(drawing, data.to);
  drawing.focus = [data.from.id, data.to.id];
  for (const p of [...data.paths, ...(data.shortestPath ? [data.shortestPath] : [])]) {
    for (const e of p.entities) addEntity(drawing, e);
    for (const r of p.relations) addRelation(drawing, r);
  }
  if (data.shortestPath) {
    for (const r of data.shortestPath.relations) {
      addRelation(drawing, r);
      drawing.highlight.add(r.id);
    }
  }
  ctx.graph.show(drawing);

  const max = h('input', {
    type: 'number', id: 'max-length', min: '1', max: String(MAX_PATH), value: String(view.max),
    onchange: (e) => ctx.go({ ...view, max: Number(/** @type {HTMLInputElement} */ (e.target).value) || 4 }),
  });
  fill(ctx.panel, [
    h('h2', {}, ['Paths from ', entityLink(data.from), ' to ', entityLink(data.to)]),
    h('p', {}, [h('label', { for: 'max-length' }, ['Longest path (hops) ']), max, ' ',
      h('a', { href: `#/paths/${encodeURIComponent(view.to)}/${encodeURIComponent(view.from)}?max=${view.max}` }, ['swap ends'])]),
    h('section', { 'aria-labelledby': 'shortest-h' }, [
      h('h3', { id: 'shortest-h' }, ['Shortest path']),
      data.shortestPath ? pathItem(data.shortestPath, 'shortest') : h('p', { class: 'empty-state' }, ['The two are not connected.']),
    ]),
    h('section', { 'aria-labelledby': 'paths-h' }, [
      h('h3', { id: 'paths-h' }, [`Paths of up to ${view.max} hops (${data.paths.length})`]),
      data.paths.length ? h('ol', { class: 'paths' }, data.paths.map((/** @type {any} */ p) => h('li', {}, [pathItem(p, '')])))
        : h('p', { class: 'empty-state' }, ['None this short.']),
    ]),
  ]);
}

/**
 * One path as a chain: entity, relation, entity…
 * @param {any} path
 * @param {string} cls
 */
function pathItem(path, cls) {
  /** @type {(Node | string)[]} */
  const parts = [];
  path.entities.forEach((/** @type {any} */ e, /** @type {number} */ i) => {
    if (i > 0) {
      const r = path.relations[i - 1];
      const forward = r.from.id === path.entities[i - 1].id;
      parts.push(h('span', { class: 'rel-kind' }, [forward ? ` —${kindLabel(r.kind)}→ ` : ` ←${kindLabel(r.kind)}— `]));
    }
    parts.push(entityLink(e));
  });
  return h('p', { class: `path ${cls}`, 'data-length': String(path.length) }, [`${path.length} hop${path.length === 1 ? '' : 's'}: `, ...parts]);
}

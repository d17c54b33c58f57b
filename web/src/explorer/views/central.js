// What is central: the ranking by each measure; and the start page.
import { cached } from '../data.js';
import { CENTRAL, inlineVariables } from '../queries.js';
import { h, fill, entityLink } from '../dom.js';
import { kindLabel } from '../format.js';
import { exportsFor } from './entity.js';

const KINDS = ['COUNTRY', 'REGION', 'CITY', 'GOVERNMENT', 'MINISTRY', 'LEGISLATURE', 'MILITARY_COMMAND', 'ARMED_FORCE',
  'SECURITY_SERVICE', 'ARMED_GROUP', 'PERSON', 'FUND', 'LEGISLATION', 'EVENT', 'MEDIA_OUTLET'];

/** @typedef {Extract<import('../state.js').View, { view: 'central' }>} CentralState */

/**
 * @param {import('./context.js').Context} ctx
 * @param {CentralState} view
 * @param {() => boolean} current
 */
export async function centralView(ctx, view, current) {
  const variables = { measure: view.measure, kind: view.kind || null };
  const data = await cached(CENTRAL, variables);
  if (!current()) return;
  ctx.setCopy(inlineVariables(CENTRAL, variables));
  exportsFor(null);
  const measure = h('select', { id: 'measure', onchange: (e) => ctx.go({ ...view, measure: /** @type {HTMLSelectElement} */ (e.target).value }) },
    [['PAGERANK', 'PageRank'], ['DEGREE', 'Degree'], ['BETWEENNESS', 'Betweenness']].map(([v, label]) =>
      h('option', { value: v, selected: v === view.measure }, [label])));
  const kind = h('select', { id: 'central-kind', onchange: (e) => ctx.go({ ...view, kind: /** @type {HTMLSelectElement} */ (e.target).value }) },
    [h('option', { value: '' }, ['every kind']), ...KINDS.map((k) => h('option', { value: k, selected: k === view.kind }, [kindLabel(k)]))]);
  const rows = data.centrality;
  fill(ctx.panel, [
    h('h2', {}, ['What is central']),
    h('p', { class: 'controls' }, [h('label', { for: 'measure' }, ['Measure ']), measure, ' ', h('label', { for: 'central-kind' }, ['Kind ']), kind]),
    rows.length ? h('table', { class: 'ranking', 'data-measure': view.measure }, [
      h('thead', {}, [h('tr', {}, [h('th', {}, ['Rank']), h('th', {}, ['Entity']), h('th', {}, ['Kind']), h('th', {}, ['Score'])])]),
      h('tbody', {}, rows.map((/** @type {any} */ r) => h('tr', {}, [
        h('td', {}, [String(r.rank)]),
        h('td', {}, [entityLink(r.entity)]),
        h('td', {}, [kindLabel(r.entity.kind)]),
        h('td', { class: 'num' }, [`${r.score.toPrecision(3)}${r.exact ? '' : ' (estimated)'}`]),
      ]))),
    ]) : h('p', { class: 'empty-state' }, ['No entity of this kind.']),
  ]);
}

/**
 * The start page: what the graph holds, and where to begin.
 * @param {import('./context.js').Context} ctx
 * @param {() => boolean} current
 */
export async function homeView(ctx, current) {
  const [stats, top] = await Promise.all([
    cached('{ stats { entities relations documents } }', {}),
    cached(CENTRAL, { measure: 'PAGERANK', kind: null }),
  ]);
  if (!current()) return;
  ctx.setCopy(inlineVariables(CENTRAL, { measure: 'PAGERANK', kind: null }));
  exportsFor(null);
  const s = stats.stats;
  fill(ctx.panel, [
    h('h2', {}, ['Explore who funds, commands and supports whom']),
    h('p', {}, [`The graph holds ${s.entities} entities and ${s.relations} relations from ${s.documents} document${s.documents === 1 ? '' : 's'}. Search above to start, or open one of the most central entities:`]),
    h('ol', { class: 'starts' }, top.centrality.slice(0, 10).map((/** @type {any} */ r) =>
      h('li', {}, [entityLink(r.entity), ` · ${kindLabel(r.entity.kind)}`]))),
    h('p', {}, [h('a', { href: '#/central' }, ['Every ranking']), ' · ', h('a', { href: '/graphiql' }, ['GraphiQL'])]),
  ]);
}

// The entity view: its panel (facts, evidence, relations, money) and the
// drawing of the neighbourhoods the URL expands.
import { cached, relationsOf } from '../data.js';
import { ENTITY, FUNDING, RELATIONS, inlineVariables } from '../queries.js';
import { h, fill, entityLink } from '../dom.js';
import { formatDate, kindLabel, locateQuote } from '../format.js';
import { PAGE, expand } from '../state.js';
import { searchBox } from '../search.js';
import { emptyDrawing, addEntity, addRelation, depthFrom } from './drawing.js';

const RELATION_KINDS = ['PART_OF', 'HOLDS_POSITION', 'GOVERNS', 'ENACTED', 'AUTHORIZES', 'FUNDS', 'SUPPORTS',
  'PARTICIPATES_IN', 'COOPERATES_WITH', 'COMBATS', 'ANNOUNCED', 'OPERATES_IN'];

const EXPORTS = [['graphml', 'GraphML'], ['gexf', 'GEXF'], ['node-link', 'node-link JSON'], ['cytoscape', 'Cytoscape JSON'], ['csv', 'CSV (zip)']];

/** @typedef {Extract<import('../state.js').View, { view: 'entity' }>} EntityState */

/** Whether the list of relation kinds is open: it stays so while kinds are picked one by one. */
let kindsOpen = false;

/**
 * @param {import('./context.js').Context} ctx
 * @param {EntityState} view
 * @param {() => boolean} current false once a newer render started
 */
export async function entityView(ctx, view, current) {
  const [entityData, funding, ...expansions] = await Promise.all([
    cached(ENTITY, { id: view.id }),
    view.tab === 'funding' ? cached(FUNDING, { id: view.id }) : Promise.resolve(null),
    ...view.expand.map((x) => relationsOf(x.id, view.dir, view.kinds, x.shown)),
  ]);
  if (!current()) return;
  const entity = entityData.entity;
  if (!entity) {
    ctx.graph.show(emptyDrawing());
    exportsFor(null);
    fill(ctx.panel, [
      h('h2', {}, ['Not found']),
      h('p', { class: 'empty-state', role: 'alert' }, [`There is no entity with the id “${view.id}”. It may have been deleted, or the link is mistyped.`]),
      h('p', {}, ['Search for an entity above, or ', h('a', { href: '#/central' }, ['see what is central']), '.']),
    ]);
    ctx.setCopy(inlineVariables(ENTITY, { id: view.id }));
    return;
  }

  const drawing = emptyDrawing();
  addEntity(drawing, entity);
  drawing.focus = [entity.id];
  for (const got of expansions) {
    if (!got) continue;
    addEntity(drawing, got.entity);
    for (const r of got.relations) addRelation(drawing, r);
  }
  if (funding) {
    for (const flow of [...funding.into, ...funding.outOf]) {
      for (const e of flow.path.entities) addEntity(drawing, e);
      for (const r of flow.path.relations) {
        addRelation(drawing, r);
        drawing.highlight.add(r.id);
      }
    }
  }
  ctx.graph.show(drawing);
  exportsFor({ id: entity.id, depth: depthFrom(drawing, entity.id), kinds: view.kinds });

  const ownIndex = view.expand.findIndex((x) => x.id === entity.id);
  const own = view.expand[ownIndex];
  const drawn = own ? expansions[ownIndex] : null;
  const relations = own ? drawn : await relationsOf(entity.id, view.dir, view.kinds, PAGE);
  if (!current()) return;

  ctx.setCopy(view.tab === 'funding'
    ? inlineVariables(FUNDING, { id: entity.id })
    : `${inlineVariables(ENTITY, { id: entity.id })}\n\n${inlineVariables(RELATIONS, {
      id: entity.id, direction: view.dir === 'BOTH' ? null : view.dir, kinds: view.kinds, first: own?.shown ?? PAGE,
    })}`);

  const count = drawn ? { total: drawn.total, shown: drawn.relations.length } : undefined;
  fill(ctx.panel, [
    h('header', { class: 'entity-head' }, [
      h('h2', { id: 'entity-name' }, [entity.name]),
      h('span', { class: `kind kind-${entity.kind}` }, [kindLabel(entity.kind)]),
    ]),
    entity.aliases.length ? h('p', { class: 'aliases' }, [`Also: ${entity.aliases.join(' · ')}`]) : null,
    entity.description ? h('p', { class: 'description' }, [entity.description]) : null,
    facts(entity),
    neighbourControls(ctx, view, count, entity.degree),
    h('nav', { class: 'tabs', role: 'tablist', 'aria-label': 'What to show' }, [
      tab(ctx, view, 'evidence', 'Evidence and relations'),
      tab(ctx, view, 'funding', 'Money'),
    ]),
    view.tab === 'funding' && funding
      ? fundingPanel(entity, funding)
      : h('div', { role: 'tabpanel' }, [evidence(entity), relationList(entity, relations)]),
    pathPicker(ctx, entity),
  ]);
}

/**
 * Kind-specific fields, as a definition list.
 * @param {any} e
 */
function facts(e) {
  /** @type {[string, (Node | string)[]][]} */
  const rows = [];
  // Long lists (a hub of a large graph governs hundreds) show their
  // first ten; the relation list below pages through all of them.
  /** @param {{ id: string, name: string }[]} list */
  const links = (list) => [
    ...list.slice(0, 10).flatMap((x, i) => (i ? [', ', entityLink(x)] : [entityLink(x)])),
    list.length > 10 ? ` and ${list.length - 10} more` : '',
  ];
  if (e.totalAmount) rows.push(['Total', [e.totalAmount.display]]);
  if (e.total) rows.push(['Total', [e.total.display]]);
  if (e.fiscalYear) rows.push(['Fiscal year', [String(e.fiscalYear)]]);
  if (e.vote) rows.push(['Vote', [e.vote.display]]);
  if (e.date) rows.push(['Date', [formatDate(e.date)]]);
  if (e.rank) rows.push(['Rank', [e.rank]]);
  for (const p of e.positions ?? []) {
    rows.push(['Position', [p.role ? `${p.role}, ` : '', entityLink(p.organization)]]);
  }
  for (const [key, label] of [['enactedBy', 'Enacted by'], ['participants', 'Participants'], ['partOf', 'Part of'],
    ['members', 'Members'], ['governedBy', 'Governed by'], ['activeHere', 'Active here']]) {
    if (e[key]?.length) rows.push([label, links(e[key])]);
  }
  rows.push(['Relations', [String(e.degree)]]);
  return h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', {}, [k]), h('dd', {}, v)]));
}

/**
 * Direction, relation kinds and how many neighbours are drawn.
 * @param {import('./context.js').Context} ctx
 * @param {EntityState} view
 * @param {{ total: number, shown: number } | undefined} count
 * @param {number} degree
 */
function neighbourControls(ctx, view, count, degree) {
  const dir = h('select', {
    id: 'direction',
    onchange: (e) => ctx.go({ ...view, dir: /** @type {any} */ (e.target).value }),
  }, [['BOTH', 'both ways'], ['OUTGOING', 'outgoing'], ['INCOMING', 'incoming']].map(([v, label]) =>
    h('option', { value: v, selected: v === view.dir }, [label])));
  const kinds = h('details', {
    class: 'kinds', open: kindsOpen,
    ontoggle: (e) => { kindsOpen = /** @type {HTMLDetailsElement} */ (e.target).open; },
  }, [
    h('summary', {}, [view.kinds.length ? `Relation kinds: ${view.kinds.map(kindLabel).join(', ')}` : 'Relation kinds: all']),
    ...RELATION_KINDS.map((k) => h('label', {}, [
      h('input', {
        type: 'checkbox', value: k, checked: view.kinds.includes(k),
        onchange: (e) => {
          const on = /** @type {HTMLInputElement} */ (e.target).checked;
          const next = on ? [...view.kinds, k] : view.kinds.filter((x) => x !== k);
          ctx.go({ ...view, kinds: next });
        },
      }),
      ` ${kindLabel(k)}`,
    ])),
  ]);
  const shown = count ? `${count.shown} of ${count.total} neighbouring relations drawn` : `${degree} relations, none drawn`;
  return h('fieldset', { class: 'neighbours' }, [
    h('legend', {}, ['Neighbours']),
    h('label', { for: 'direction' }, ['Direction ']), dir,
    kinds,
    h('p', { class: 'shown', id: 'shown-count' }, [shown]),
    h('div', { class: 'buttons' }, [
      !count || count.shown < count.total
        ? h('button', { type: 'button', id: 'expand', onclick: () => ctx.go(expand(view, view.id, 'more')) }, [count ? 'Show more' : 'Show neighbours'])
        : null,
      count ? h('button', { type: 'button', onclick: () => ctx.go(expand(view, view.id, 'collapse')) }, ['Hide neighbours']) : null,
      view.expand.length > 1
        ? h('button', { type: 'button', onclick: () => ctx.go({ ...view, expand: [{ id: view.id, shown: PAGE }] }) }, ['Reset drawing'])
        : null,
    ]),
  ]);
}

/**
 * @param {import('./context.js').Context} ctx
 * @param {EntityState} view
 * @param {'evidence' | 'funding'} which
 * @param {string} label
 */
function tab(ctx, view, which, label) {
  return h('button', {
    type: 'button', role: 'tab', 'aria-selected': view.tab === which ? 'true' : 'false',
    onclick: () => ctx.go({ ...view, tab: which }),
  }, [label]);
}

/**
 * Each quote with its document, and the quote in the document's text.
 * @param {any} entity
 */
function evidence(entity) {
  return h('section', { class: 'evidence', 'aria-labelledby': 'evidence-h' }, [
    h('h3', { id: 'evidence-h' }, ['Evidence']),
    ...entity.sources.map((/** @type {any} */ s) => {
      const doc = s.document;
      const at = locateQuote(doc.text, s.quote);
      return h('figure', { class: 'source' }, [
        h('blockquote', { class: 'quote' }, [s.quote]),
        h('figcaption', {}, [
          h('cite', {}, [doc.title]), ` · ${doc.publisher}`,
          doc.publishedOn ? ` · ${formatDate(doc.publishedOn)}` : '',
          doc.dateline ? ` · ${doc.dateline}` : '',
        ]),
        at ? h('details', { class: 'in-document' }, [
          h('summary', {}, ['In the document']),
          h('p', {}, [at.before, h('mark', {}, [at.quote]), at.after]),
        ]) : null,
      ]);
    }),
  ]);
}

/**
 * The selected entity's relations, each with the other end and its quote.
 * @param {any} entity
 * @param {{ total: number, relations: any[] } | null | undefined} got
 */
function relationList(entity, got) {
  if (!got) return null;
  return h('section', { class: 'relations', 'aria-labelledby': 'relations-h' }, [
    h('h3', { id: 'relations-h' }, [`Relations (${got.relations.length} of ${got.total})`]),
    got.relations.length === 0 ? h('p', { class: 'empty-state' }, ['None with these filters.']) : null,
    h('ul', {}, got.relations.map((r) => {
      const out = r.from.id === entity.id;
      const other = out ? r.to : r.from;
      return h('li', {}, [
        h('span', { class: 'rel-kind' }, [out ? `${kindLabel(r.kind)} →` : `← ${kindLabel(r.kind)}`]), ' ',
        entityLink(other),
        r.role ? ` · ${r.role}` : '',
        r.amount ? ` · ${r.amount.display}` : '',
        r.fiscalYear ? ` · FY${r.fiscalYear}` : '',
        r.date ? ` · ${formatDate(r.date)}` : '',
        r.categories.length ? ` · ${r.categories.join(', ')}` : '',
        r.sources.length ? h('details', {}, [h('summary', {}, ['Quote']), ...r.sources.map((/** @type {any} */ s) => h('blockquote', { class: 'quote' }, [s.quote]))]) : null,
      ]);
    })),
  ]);
}

/**
 * Money into and out of the entity, direct and through a group told apart.
 * @param {any} entity
 * @param {{ into: any[], outOf: any[] }} funding
 */
function fundingPanel(entity, funding) {
  /** @param {any} flow */
  const row = (flow) => {
    const via = flow.path.entities.slice(1, -1);
    return h('li', { class: 'flow' }, [
      entityLink(flow.source), ' → ', entityLink(flow.recipient), ': ',
      h('strong', { class: 'amount' }, [flow.amount ? flow.amount.display : 'amount not stated']),
      ' ',
      h('span', { class: flow.direct ? 'direct' : 'via' }, [
        flow.direct ? '(direct)' : `(via ${via.map((/** @type {any} */ e) => e.name).join(' → ')}; the group’s amount, not a share of it)`,
      ]),
    ]);
  };
  /** @param {string} title @param {any[]} flows @param {string} empty */
  const list = (title, flows, empty) => h('section', {}, [
    h('h3', {}, [title]),
    flows.length ? h('ul', {}, flows.map(row)) : h('p', { class: 'empty-state' }, [empty]),
  ]);
  return h('div', { role: 'tabpanel', class: 'funding' }, [
    list(`Money reaching ${entity.name}`, funding.into, 'No stated money reaches it.'),
    list(`Money from ${entity.name}`, funding.outOf, 'It passes no stated money on.'),
    h('p', { class: 'note' }, ['Amounts are as the source states them, with its hedges. Edge width in the drawing grows with the amount.']),
  ]);
}

/**
 * A second search box: paths from this entity to the one picked.
 * @param {import('./context.js').Context} ctx
 * @param {any} entity
 */
function pathPicker(ctx, entity) {
  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'search', id: 'path-to', placeholder: 'another entity…', autocomplete: 'off', role: 'combobox', 'aria-controls': 'path-results', 'aria-expanded': 'false' }));
  const list = h('ul', { id: 'path-results', role: 'listbox', class: 'results', hidden: true });
  searchBox(input, list, (hit) => ctx.go({ view: 'paths', from: entity.id, to: hit.id, max: 4, kinds: [], dir: 'BOTH' }));
  return h('section', { class: 'path-picker' }, [
    h('h3', {}, [h('label', { for: 'path-to' }, [`Paths from ${entity.name} to`])]),
    h('div', { class: 'search-wrap' }, [input, list]),
  ]);
}

/**
 * Points the export links at what is drawn: the neighbourhood of `id` to
 * the depth drawn, with the relation kinds filtered to; the whole graph
 * when nothing is selected.
 * @param {{ id: string, depth: number, kinds: string[] } | null} sel
 */
export function exportsFor(sel) {
  const box = document.getElementById('exports');
  if (!box) return;
  const params = new URLSearchParams();
  if (sel) {
    params.set('id', sel.id);
    params.set('depth', String(sel.depth));
    if (sel.kinds.length) params.set('relationKinds', sel.kinds.join(','));
  }
  const query = params.toString();
  fill(box, EXPORTS.map(([fmt, label]) => h('a', { href: `/export/${fmt}${query ? `?${query}` : ''}`, download: true }, [label ?? fmt])));
}

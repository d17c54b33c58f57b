// The explorer's view lives in the URL's fragment, so that a link shares
// it and back/forward walk through it. This module is pure: it turns a
// fragment into a view and back, and nothing else.

/** Relation directions, as the API names them. */
export const DIRECTIONS = /** @type {const} */ (['BOTH', 'OUTGOING', 'INCOMING']);

/** Neighbours shown when a node is first expanded, and added by "show more". */
export const PAGE = 25;

/** Longest path the API searches for. */
export const MAX_PATH = 6;

/** Most neighbours one node may show. */
export const MAX_SHOWN = 5000;

/**
 * @typedef {'BOTH' | 'OUTGOING' | 'INCOMING'} Direction
 * @typedef {'evidence' | 'funding'} Tab
 * @typedef {{ id: string, shown: number }} Expansion a node whose neighbours are drawn, and how many
 * @typedef {{
 *   view: 'home',
 * } | {
 *   view: 'entity', id: string, tab: Tab, expand: Expansion[], kinds: string[], dir: Direction,
 * } | {
 *   view: 'paths', from: string, to: string, max: number, kinds: string[], dir: Direction,
 * } | {
 *   view: 'central', measure: string, kind: string,
 * }} View
 */

const ID_KINDS = /^[A-Z_]+$/;

/** @param {string | null} raw @returns {string[]} */
function kindList(raw) {
  if (!raw) return [];
  return [...new Set(raw.split(',').filter((k) => ID_KINDS.test(k)))].sort();
}

/** @param {string | null} raw @returns {Direction} */
function direction(raw) {
  return raw === 'OUTGOING' || raw === 'INCOMING' ? raw : 'BOTH';
}

/**
 * @param {string | null} raw
 * @param {number} fallback
 * @param {number} lo
 * @param {number} hi
 */
function int(raw, fallback, lo, hi) {
  const n = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : fallback;
}

/** @param {string} s */
function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * `a:25,b:50` → expansions; an id without a count shows one page. Ids are
 * URL-encoded, so commas and colons inside them survive.
 * @param {string | null} raw
 * @returns {Expansion[]}
 */
function expansions(raw) {
  if (!raw) return [];
  /** @type {Map<string, number>} */
  const seen = new Map();
  for (const part of raw.split(',')) {
    if (!part) continue;
    const colon = part.lastIndexOf(':');
    const id = decode(colon < 0 ? part : part.slice(0, colon));
    const shown = colon < 0 ? PAGE : int(part.slice(colon + 1), PAGE, 1, MAX_SHOWN);
    if (id && !seen.has(id)) seen.set(id, shown);
  }
  return [...seen].map(([id, shown]) => ({ id, shown }));
}

/**
 * The fragment's parameters, not yet decoded: `expand` holds encoded ids
 * separated by commas, so it is split before it is decoded.
 * @param {string} query
 * @returns {{ get: (k: string) => string | null, has: (k: string) => boolean }}
 */
function rawParams(query) {
  /** @type {Map<string, string>} */
  const params = new Map();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && !params.has(pair.slice(0, eq))) params.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return { get: (/** @type {string} */ k) => params.get(k) ?? null, has: (/** @type {string} */ k) => params.has(k) };
}

/**
 * The view a fragment (`location.hash`) names; anything unreadable is home.
 * @param {string} hash
 * @returns {View}
 */
export function parseHash(hash) {
  const body = hash.replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const path = (q < 0 ? body : body.slice(0, q)).split('/').map(decode);
  const params = rawParams(q < 0 ? '' : body.slice(q + 1));
  const kinds = kindList(params.get('kinds'));
  const dir = direction(params.get('dir'));
  if (path[0] === 'entity' && path[1]) {
    const id = path[1];
    const tab = params.get('tab') === 'funding' ? 'funding' : 'evidence';
    const expand = params.has('expand') ? expansions(params.get('expand')) : [{ id, shown: PAGE }];
    return { view: 'entity', id, tab, expand, kinds, dir };
  }
  if (path[0] === 'paths' && path[1] && path[2]) {
    const max = int(params.get('max'), 4, 1, MAX_PATH);
    return { view: 'paths', from: path[1], to: path[2], max, kinds, dir };
  }
  if (path[0] === 'central') {
    const m = params.get('measure');
    const measure = m === 'DEGREE' || m === 'BETWEENNESS' ? m : 'PAGERANK';
    const k = params.get('kind');
    return { view: 'central', measure, kind: k && ID_KINDS.test(k) ? k : '' };
  }
  return { view: 'home' };
}

/**
 * The fragment for a view; `parseHash(formatHash(v))` gives `v` back.
 * @param {View} v
 * @returns {string}
 */
export function formatHash(v) {
  const e = encodeURIComponent;
  /** @type {[string, string][]} */
  const params = [];
  /** @param {string[]} kinds @param {Direction} dir */
  const filters = (kinds, dir) => {
    if (kinds.length) params.push(['kinds', [...kinds].sort().join(',')]);
    if (dir !== 'BOTH') params.push(['dir', dir]);
  };
  let path = '#/';
  if (v.view === 'entity') {
    path = `#/entity/${e(v.id)}`;
    if (v.tab !== 'evidence') params.push(['tab', v.tab]);
    const onlyRoot = v.expand.length === 1 && v.expand[0]?.id === v.id && v.expand[0]?.shown === PAGE;
    if (!onlyRoot) {
      params.push(['expand', v.expand.map((x) => (x.shown === PAGE ? e(x.id) : `${e(x.id)}:${x.shown}`)).join(',')]);
    }
    filters(v.kinds, v.dir);
  } else if (v.view === 'paths') {
    path = `#/paths/${e(v.from)}/${e(v.to)}`;
    if (v.max !== 4) params.push(['max', String(v.max)]);
    filters(v.kinds, v.dir);
  } else if (v.view === 'central') {
    path = '#/central';
    if (v.measure !== 'PAGERANK') params.push(['measure', v.measure]);
    if (v.kind) params.push(['kind', v.kind]);
  }
  // URLSearchParams would encode the commas and colons that keep the
  // fragment readable; ids are already encoded above.
  const query = params.map(([k, val]) => `${k}=${val}`).join('&');
  return query ? `${path}?${query}` : path;
}

/**
 * The entity view of `id`, keeping what is drawn and the filters of `from`
 * when it is an entity view (clicking a node keeps the drawing).
 * @param {View} from
 * @param {string} id
 * @returns {View}
 */
export function openEntity(from, id) {
  if (from.view !== 'entity') {
    return { view: 'entity', id, tab: 'evidence', expand: [{ id, shown: PAGE }], kinds: [], dir: 'BOTH' };
  }
  const expand = from.expand.some((x) => x.id === id) ? from.expand : [...from.expand, { id, shown: PAGE }];
  return { ...from, id, expand };
}

/**
 * `v` with `id`'s neighbours drawn (one more page if they already are), or
 * hidden when `collapse` is set.
 * @param {Extract<View, { view: 'entity' }>} v
 * @param {string} id
 * @param {'more' | 'collapse'} how
 * @returns {View}
 */
export function expand(v, id, how) {
  const current = v.expand.find((x) => x.id === id);
  if (how === 'collapse') return { ...v, expand: v.expand.filter((x) => x.id !== id) };
  if (!current) return { ...v, expand: [...v.expand, { id, shown: PAGE }] };
  const shown = Math.min(MAX_SHOWN, current.shown + PAGE);
  return { ...v, expand: v.expand.map((x) => (x.id === id ? { id, shown } : x)) };
}

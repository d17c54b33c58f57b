// Building a drawing (nodes and edges to show) from API answers.

/** @typedef {import('../graph-view.js').Drawing} Drawing */

/** @returns {Drawing} */
export function emptyDrawing() {
  return { nodes: new Map(), edges: new Map(), focus: [], highlight: new Set() };
}

/**
 * @param {Drawing} d
 * @param {{ id: string, name: string, kind: string }} e
 */
export function addEntity(d, e) {
  if (!d.nodes.has(e.id)) d.nodes.set(e.id, { id: e.id, name: e.name, kind: e.kind });
}

/**
 * Adds a relation and both its ends (which carry names when the relation
 * was fetched with them).
 * @param {Drawing} d
 * @param {any} r
 */
export function addRelation(d, r) {
  if (r.from.name) addEntity(d, r.from);
  if (r.to.name) addEntity(d, r.to);
  d.edges.set(r.id, { id: r.id, from: r.from.id, to: r.to.id, kind: r.kind, amount: r.amount?.amount ?? null });
}

/**
 * Each drawn node's neighbours, following edges either way.
 * @param {Drawing} d
 * @returns {Map<string, string[]>}
 */
export function adjacency(d) {
  /** @type {Map<string, string[]>} */
  const adj = new Map();
  for (const e of d.edges.values()) {
    for (const [a, b] of [[e.from, e.to], [e.to, e.from]]) {
      const list = adj.get(a);
      if (list) list.push(b);
      else adj.set(a, [b]);
    }
  }
  return adj;
}

/**
 * Hops from `root` to the farthest node drawn, following drawn edges either
 * way: the depth an export needs to hold what is drawn.
 * @param {Drawing} d
 * @param {string} root
 */
export function depthFrom(d, root) {
  const adj = adjacency(d);
  const seen = new Map([[root, 0]]);
  const queue = [root];
  let deepest = 0;
  for (let head = 0; head < queue.length; head += 1) {
    const at = /** @type {string} */ (queue[head]);
    const depth = seen.get(at) ?? 0;
    deepest = Math.max(deepest, depth);
    for (const next of adj.get(at) ?? []) {
      if (!seen.has(next)) {
        seen.set(next, depth + 1);
        queue.push(next);
      }
    }
  }
  return Math.max(1, deepest);
}

// What the views fetch, cached until the graph changes: a relation page
// asked for twice (by the panel and by the drawing) is fetched once.
import { gql } from './api.js';
import { RELATIONS } from './queries.js';

/** @type {Map<string, Promise<any>>} */
const cache = new Map();

/** Forgets every answer: the graph changed. */
export function forget() {
  cache.clear();
}

/**
 * A query's data, fetched once per graph version.
 * @param {string} query
 * @param {Record<string, unknown>} variables
 * @returns {Promise<any>}
 */
export function cached(query, variables) {
  const key = `${query}\n${JSON.stringify(variables)}`;
  let answer = cache.get(key);
  if (!answer) {
    answer = gql(query, variables);
    cache.set(key, answer);
    // A failure is not kept: the next render asks again.
    answer.catch(() => cache.delete(key));
  }
  return answer;
}

/**
 * The first `shown` relations of `id` (the API pages by at most 100), with
 * how many there are in all; null when the entity is unknown.
 * @param {string} id
 * @param {string} direction
 * @param {string[]} kinds
 * @param {number} shown
 * @returns {Promise<{ entity: { id: string, name: string, kind: string }, total: number, relations: any[] } | null>}
 */
export async function relationsOf(id, direction, kinds, shown) {
  /** @type {any[]} */
  const relations = [];
  /** @type {string | null} */
  let after = null;
  for (;;) {
    const first = Math.min(100, shown - relations.length);
    const data = await cached(RELATIONS, { id, direction, kinds: kinds.length ? kinds : null, first, after });
    if (!data.entity) return null;
    const page = data.entity.relations;
    relations.push(...page.nodes);
    if (!page.pageInfo.hasNextPage || relations.length >= shown) {
      return { entity: { id: data.entity.id, name: data.entity.name, kind: data.entity.kind }, total: page.totalCount, relations };
    }
    after = page.pageInfo.endCursor;
  }
}

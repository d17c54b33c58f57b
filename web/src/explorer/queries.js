// The GraphQL documents the explorer sends: one place to read what it asks
// of the API, and the text "copy as GraphQL query" gives.

const RELATION = `id kind role fiscalYear date categories
      amount { amount currency qualifier display }
      from { id name kind } to { id name kind }
      sources { quote }`;

export const SEARCH = `query Search($q: String!) {
  entities(search: $q, first: 10) { totalCount nodes { id name kind aliases } }
}`;

export const ENTITY = `query Entity($id: ID!) {
  entity(id: $id) {
    id kind name aliases description degree
    sources { quote document { id title publisher publishedOn dateline text } }
    ... on Fund { totalAmount { display } fiscalYear }
    ... on Legislation { vote { display } total { display } fiscalYear enactedBy { id name } }
    ... on Person { rank positions { role organization { id name } } }
    ... on Event { date participants { id name } partOf { id name } }
    ... on Place { governedBy { id name } activeHere { id name } }
    ... on Organization { members { id name } partOf { id name } }
  }
}`;

export const RELATIONS = `query Relations($id: ID!, $direction: Direction, $kinds: [RelationKind!], $first: Int, $after: String) {
  entity(id: $id) {
    id name kind
    relations(direction: $direction, kinds: $kinds, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { ${RELATION} }
    }
  }
}`;

// Relations on a path carry only what the drawing needs: their ends are the
// path's entities, and the cost limit counts every nested field.
const SLIM = 'id kind from { id } to { id } amount { amount currency display }';

const FLOW = `source { id name kind } recipient { id name kind }
    amount { amount currency qualifier display } direct
    path { entities { id name kind } relations { ${SLIM} } }`;

export const FUNDING = `query Funding($id: ID!) {
  into: fundingFlows(to: $id) { ${FLOW} }
  outOf: fundingFlows(from: $id) { ${FLOW} }
}`;

const PATH = `length entities { id name kind } relations { ${SLIM} }`;

export const PATHS = `query Paths($from: ID!, $to: ID!, $max: Int, $direction: Direction, $kinds: [RelationKind!]) {
  from: entity(id: $from) { id name kind }
  to: entity(id: $to) { id name kind }
  shortestPath(from: $from, to: $to, direction: $direction, kinds: $kinds) { ${PATH} }
  paths(from: $from, to: $to, maxLength: $max, direction: $direction, kinds: $kinds, first: 20) { ${PATH} }
}`;

export const CENTRAL = `query Central($measure: CentralityMeasure, $kind: EntityKind) {
  centrality(measure: $measure, kind: $kind, first: 25) { rank score exact entity { id name kind } }
}`;

/** Variables whose values are enum values, written bare in GraphQL. */
const ENUM_VARIABLES = new Set(['direction', 'kinds', 'measure', 'kind']);

/**
 * @param {unknown} value
 * @param {boolean} isEnum
 * @returns {string}
 */
function literal(value, isEnum) {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, isEnum)).join(', ')}]`;
  if (typeof value === 'string') return isEnum ? value : JSON.stringify(value);
  return String(value);
}

/**
 * The document with its variables written in as literals, so that it runs
 * as pasted (in GraphiQL, curl, a notebook). Null variables are left out.
 * @param {string} query
 * @param {Record<string, unknown>} variables
 * @returns {string}
 */
export function inlineVariables(query, variables) {
  const header = /^(query|subscription|mutation)\s+(\w+)\s*\(([^)]*)\)/.exec(query);
  let text = header ? query.replace(header[0], `${header[1]} ${header[2]}`) : query;
  // Arguments given a null variable are dropped, so defaults apply.
  text = text.replace(/(\(|,\s*)(\w+):\s*\$(\w+)/g, (whole, lead, arg, name) => {
    const value = variables[name];
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) {
      return lead === '(' ? '(' : '';
    }
    return `${lead}${arg}: ${literal(value, ENUM_VARIABLES.has(name))}`;
  });
  // An argument list left empty, or starting with a comma, is tidied.
  return text.replace(/\(\s*,\s*/g, '(').replace(/\(\s*\)/g, '');
}

// The explorer's only way to the data: the public GraphQL API, over HTTP
// for queries and over the WebSocket for `graphChanged`.
import { createClient } from 'graphql-ws';
import { GRAPHQL_PATH, socketUrl } from '../endpoint.js';

/** An answer with GraphQL errors; `code` is the first error's `extensions.code`. */
export class ApiError extends Error {
  /** @param {string} message @param {string} code */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** The server could not be reached, or answered with something that is not GraphQL. */
export class Unreachable extends Error {}

/**
 * Runs a query and gives its `data`; throws ApiError for GraphQL errors
 * and Unreachable when the server cannot be reached.
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<any>}
 */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new Unreachable(`the server cannot be reached (${e instanceof Error ? e.message : String(e)})`);
  }
  /** @type {any} */
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Unreachable(`the server answered HTTP ${response.status} without GraphQL`);
  }
  const first = body?.errors?.[0];
  if (first) throw new ApiError(String(first.message), String(first.extensions?.code ?? 'ERROR'));
  return body.data;
}

/**
 * Calls `onChange` with each `graphChanged` event and `onStatus` when the
 * connection comes and goes; reconnects for as long as the page is open.
 * @param {(change: { kind: string, id: string, graphVersion: number }) => void} onChange
 * @param {(connected: boolean) => void} onStatus
 */
export function watchChanges(onChange, onStatus) {
  const client = createClient({
    url: socketUrl(),
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: { connected: () => onStatus(true), closed: () => onStatus(false) },
  });
  const subscribe = () =>
    client.subscribe(
      { query: 'subscription { graphChanged { kind id graphVersion } }' },
      {
        next: (msg) => {
          const change = /** @type {any} */ (msg.data)?.graphChanged;
          if (change) onChange(change);
        },
        // A subscriber that fell behind is told so; it resubscribes and
        // the page reloads what it shows.
        error: () => setTimeout(() => {
          onChange({ kind: 'RESYNC', id: '', graphVersion: -1 });
          subscribe();
        }, 1000),
        complete: () => {},
      },
    );
  subscribe();
}

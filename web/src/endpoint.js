// Where the pages reach the API: the same origin, over HTTP and over the
// WebSocket, on one path.

/** The GraphQL endpoint's path. */
export const GRAPHQL_PATH = '/graphql';

/** The GraphQL endpoint as a WebSocket URL on this page's origin. */
export function socketUrl() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${GRAPHQL_PATH}`;
}

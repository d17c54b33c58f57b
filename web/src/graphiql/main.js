// GraphiQL, served by partnergraph itself: no CDN, the README's examples as
// tabs, subscriptions over the same WebSocket endpoint as the explorer, and
// a button that puts the write token in the request headers.
import { createElement as h, useCallback } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { useEditorContext, ToolbarButton } from '@graphiql/react';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { parse } from 'graphql';
import { tokenHeaders, operationFor } from './request.js';
import { GRAPHQL_PATH, socketUrl } from '../endpoint.js';
import 'graphiql/graphiql.css';
import './page.css';

/** @type {{ title: string, query: string }[]} */
const examples = PARTNERGRAPH_EXAMPLES;

// Beyond the README's reads: a subscription, and a write to try it with.
const EXTRA_TABS = [
  {
    query: `# Every change from now on, over the WebSocket on /graphql.
# Run it, then run the Write tab (or write through the API) and watch.
subscription Live {
  graphChanged { kind id graphVersion entity { id name } relation { id kind } }
}
`,
  },
  {
    query: `# Writes need the write token: press "Token" (or set the
# Authorization header below) first.
mutation Write {
  createRelation(input: {
    kind: SUPPORTS
    from: "united-states"
    to: "peshmerga"
    sources: [{
      document: "k24-peshmerga-us-iraq-talks"
      quote: "Washington’s recognition of the Kurdish forces as a pillar of regional stability"
    }]
  }) { id kind from { name } to { name } }
}
`,
  },
];

const base = createGraphiQLFetcher({
  url: GRAPHQL_PATH,
  wsClient: createClient({ url: socketUrl(), lazy: true, retryAttempts: 3 }),
});

/** @param {string} query */
function parsed(query) {
  try {
    return parse(query);
  } catch {
    return null;
  }
}

// GraphiQL can pass the previous tab's operation name and parsed document
// when a tab is run right after switching to it; the request is made from
// the query actually sent.
/** @type {import('@graphiql/toolkit').Fetcher} */
const fetcher = (params, options) => {
  const document = parsed(params.query);
  const operationName = operationFor(document, params.operationName) ?? null;
  return base({ ...params, operationName }, { ...options, documentAST: document ?? options?.documentAST });
};

/** Asks for the write token and puts it in the headers editor. */
function TokenButton() {
  const editors = useEditorContext();
  const onClick = useCallback(() => {
    const editor = editors?.headerEditor;
    if (!editor) return;
    const token = window.prompt('Write token (sent as "Authorization: Bearer …" with every request; needed for mutations only)');
    if (token === null) return;
    editor.setValue(tokenHeaders(editor.getValue(), token));
  }, [editors]);
  return h(ToolbarButton, { onClick, label: 'Set the write token (Authorization header)' },
    h('span', { className: 'pg-token' }, 'Token'));
}

const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    h(GraphiQL, {
      fetcher,
      defaultTabs: [...examples.map((e) => ({ query: e.query })), ...EXTRA_TABS],
      defaultEditorToolsVisibility: 'headers',
      toolbar: { additionalContent: h(TokenButton) },
    }),
  );
}

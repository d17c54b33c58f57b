// The explorer: reads the view from the URL, asks the API for what the view
// shows, and draws it. Each view is a function of the URL alone, so a link
// reopens it and back/forward walk through views.
import { ApiError, Unreachable, gql, watchChanges } from './api.js';
import { forget } from './data.js';
import { GraphView } from './graph-view.js';
import { h, fill } from './dom.js';
import { searchBox } from './search.js';
import { parseHash, formatHash, openEntity, expand } from './state.js';
import { entityView } from './views/entity.js';
import { pathsView } from './views/paths.js';
import { centralView, homeView } from './views/central.js';
import './style.css';

/** @param {string} id @returns {HTMLElement} */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el;
}

const panel = byId('panel');
const status = byId('status');
const drawingBox = byId('drawing');

/** @typedef {import('./state.js').View} View */

/** @param {View} view */
function go(view) {
  const hash = formatHash(view);
  if (hash !== location.hash) location.hash = hash;
  else render();
}

const graphView = new GraphView(byId('canvas'), byId('legend'), {
  open: (id) => go(openEntity(parseHash(location.hash), id)),
  toggle: (id) => {
    const v = parseHash(location.hash);
    const base = v.view === 'entity' ? v : openEntity(v, id);
    if (base.view !== 'entity') return;
    const shown = base.expand.some((x) => x.id === id);
    go(expand(base, id, shown && id !== base.id ? 'collapse' : 'more'));
  },
});

/** What "copy as GraphQL query" copies for the current view. */
let copyText = '';

/** @type {import('./views/context.js').Context} */
const ctx = {
  go,
  graph: graphView,
  panel,
  setCopy: (text) => { copyText = text; },
};

let rendering = 0;

/** Renders the view the URL names. */
async function render() {
  const view = parseHash(location.hash);
  const mine = ++rendering;
  document.body.dataset.view = view.view;
  drawingBox.hidden = view.view === 'central' || view.view === 'home';
  try {
    if (view.view === 'entity') await entityView(ctx, view, () => mine === rendering);
    else if (view.view === 'paths') await pathsView(ctx, view, () => mine === rendering);
    else if (view.view === 'central') await centralView(ctx, view, () => mine === rendering);
    else await homeView(ctx, () => mine === rendering);
    if (mine === rendering) clearProblem();
  } catch (e) {
    if (mine === rendering) showProblem(e);
  }
}

/** @param {unknown} e */
function showProblem(e) {
  const banner = byId('problem');
  const text = e instanceof Unreachable
    ? `The server cannot be reached: ${e.message}. What is shown may be out of date.`
    : e instanceof ApiError
      ? `The server refused the request (${e.code}): ${e.message}`
      : `Something went wrong: ${e instanceof Error ? e.message : String(e)}`;
  fill(banner, [h('span', {}, [text]), ' ', h('button', { type: 'button', onclick: () => render() }, ['Retry'])]);
  banner.hidden = false;
}

function clearProblem() {
  byId('problem').hidden = true;
}

searchBox(/** @type {HTMLInputElement} */ (byId('search')), byId('search-results'), (hit) =>
  go(openEntity(parseHash(location.hash), hit.id)));

byId('copy-query').addEventListener('click', async () => {
  const note = byId('copy-note');
  try {
    await navigator.clipboard.writeText(copyText);
    note.textContent = 'Copied.';
  } catch {
    // Without clipboard access (an insecure origin, a denied permission)
    // the text is shown to copy by hand.
    const area = h('textarea', { readonly: true, rows: '12', 'aria-label': 'GraphQL query' }, [copyText]);
    fill(note, [area]);
    area.select();
  }
  setTimeout(() => { if (note.textContent === 'Copied.') note.textContent = ''; }, 2000);
});
byId('fit').addEventListener('click', () => graphView.fit());
byId('png').addEventListener('click', () => {
  const v = parseHash(location.hash);
  graphView.png(v.view === 'entity' ? `partnergraph-${v.id}` : 'partnergraph').catch(showProblem);
});

// An entity link in the panel opens the entity the way clicking its node
// does: the drawing stays and gains its neighbours. The link's own address
// (to copy or open in a new tab) is the entity alone.
panel.addEventListener('click', (e) => {
  const link = e.target instanceof Element ? e.target.closest('a[data-id]') : null;
  if (!link || !(e instanceof MouseEvent) || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  const id = link.getAttribute('data-id');
  if (!id) return;
  e.preventDefault();
  go(openEntity(parseHash(location.hash), id));
});

window.addEventListener('hashchange', () => render());

// Live: every committed change reloads what the view shows. Changes come
// in bursts (an import, a script), so one reload follows a burst.
/** @type {ReturnType<typeof setTimeout> | undefined} */
let reload;
watchChanges(
  (change) => {
    forget();
    status.dataset.version = String(change.graphVersion);
    status.textContent = change.graphVersion >= 0 ? `Live · graph version ${change.graphVersion}` : 'Live · reloaded';
    clearTimeout(reload);
    reload = setTimeout(() => render(), 150);
  },
  (connected) => {
    const wasOffline = status.classList.contains('offline');
    status.classList.toggle('offline', !connected);
    if (connected) {
      if (!status.dataset.version) status.textContent = 'Live';
      forget();
      // Changes made while the page was cut off were never announced to
      // it: what it shows is reloaded.
      if (wasOffline) {
        status.textContent = 'Live · reconnected';
        render();
      }
    } else {
      status.textContent = 'Offline · reconnecting…';
    }
  },
);

gql('{ graphVersion }')
  .then((d) => {
    status.dataset.version = String(d.graphVersion);
    if (!status.classList.contains('offline')) status.textContent = `Live · graph version ${d.graphVersion}`;
  })
  .catch(() => {});

render();

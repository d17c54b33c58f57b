// A search box with results as you type: arrow keys move through them,
// Enter opens one, Escape closes the list.
import { gql } from './api.js';
import { SEARCH } from './queries.js';
import { h, fill } from './dom.js';
import { kindLabel } from './format.js';

/**
 * @typedef {{ id: string, name: string, kind: string, aliases: string[] }} Hit
 */

/**
 * Makes `input` a search box whose results go in `list`.
 * @param {HTMLInputElement} input
 * @param {HTMLElement} list
 * @param {(hit: Hit) => void} onPick
 */
export function searchBox(input, list, onPick) {
  /** @type {Hit[]} */
  let hits = [];
  let active = -1;
  let asked = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    active = -1;
  };
  /** @param {Hit} hit */
  const pick = (hit) => {
    close();
    input.value = '';
    onPick(hit);
  };
  const draw = () => {
    fill(list, hits.length
      ? hits.map((hit, i) => h('li', {
        role: 'option',
        id: `${list.id}-${i}`,
        'aria-selected': i === active ? 'true' : 'false',
        class: i === active ? 'active' : '',
        onmousedown: (e) => { e.preventDefault(); pick(hit); },
      }, [h('span', { class: 'hit-name' }, [hit.name]), ' ', h('span', { class: `kind kind-${hit.kind}` }, [kindLabel(hit.kind)])]))
      : [h('li', { class: 'empty' }, [`No entity matches “${input.value.trim()}”.`])]);
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    if (active >= 0) input.setAttribute('aria-activedescendant', `${list.id}-${active}`);
    else input.removeAttribute('aria-activedescendant');
  };
  const run = async () => {
    const q = input.value.trim();
    const mine = ++asked;
    if (!q) {
      hits = [];
      close();
      return;
    }
    try {
      const data = await gql(SEARCH, { q });
      if (mine !== asked) return;
      hits = data.entities.nodes;
      active = hits.length ? 0 : -1;
      draw();
    } catch (e) {
      if (mine !== asked) return;
      fill(list, [h('li', { class: 'empty error' }, [`Search failed: ${e instanceof Error ? e.message : String(e)}`])]);
      list.hidden = false;
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 120);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!hits.length) return;
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : hits.length - 1)) % hits.length;
      draw();
    } else if (e.key === 'Enter') {
      const hit = hits[active >= 0 ? active : 0];
      if (hit && !list.hidden) {
        e.preventDefault();
        pick(hit);
      }
    } else if (e.key === 'Escape') {
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}

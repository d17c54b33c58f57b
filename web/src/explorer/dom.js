// Building elements with text set as text: nothing from the data is ever
// parsed as HTML.

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean | ((e: Event) => void)>} [attrs] attributes; `on…` functions become listeners
 * @param {(Node | string | null | undefined | false)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false) el.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/**
 * Replaces `el`'s children.
 * @param {Element} el
 * @param {(Node | string | null | undefined | false)[]} children
 */
export function fill(el, children) {
  el.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false).map((c) => /** @type {Node | string} */ (c)));
}

/**
 * A link to an entity's view.
 * @param {{ id: string, name: string }} entity
 */
export function entityLink(entity) {
  return h('a', { href: `#/entity/${encodeURIComponent(entity.id)}`, 'data-id': entity.id }, [entity.name]);
}

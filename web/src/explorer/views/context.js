// What every view is given by the page.

/**
 * @typedef {{
 *   go: (view: import('../state.js').View) => void,
 *   graph: import('../graph-view.js').GraphView,
 *   panel: HTMLElement,
 *   setCopy: (text: string) => void,
 * }} Context
 */

export {};

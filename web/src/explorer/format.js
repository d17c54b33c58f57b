// How amounts, dates and kinds read on screen. Pure functions, unit-tested.

/**
 * @typedef {{ amount: number, currency: string, qualifier: string, display: string }} Money
 */

const SYMBOLS = /** @type {Record<string, string>} */ ({ USD: '$', EUR: '€', GBP: '£' });

const QUALIFIER_WORDS = /** @type {Record<string, string>} */ ({
  EXACT: '',
  AT_LEAST: 'more than ',
  AT_MOST: 'up to ',
  APPROXIMATE: 'about ',
});

/**
 * An amount as the article would say it, keeping its hedge: 213,000,000
 * USD at least → "more than $213 million". The server's `display` says the
 * same; this is for amounts the explorer has to word itself (the legend of
 * edge widths, totals of what is on screen).
 * @param {number} amount
 * @param {string} currency ISO 4217
 * @param {string} [qualifier] EXACT, AT_LEAST, AT_MOST or APPROXIMATE
 * @returns {string}
 */
export function formatAmount(amount, currency, qualifier = 'EXACT') {
  const hedge = QUALIFIER_WORDS[qualifier] ?? '';
  const symbol = SYMBOLS[currency];
  const abs = Math.abs(amount);
  /** @type {[number, string][]} */
  const scales = [[1e12, 'trillion'], [1e9, 'billion'], [1e6, 'million']];
  let number = abs.toLocaleString('en-US', { maximumFractionDigits: 2 });
  for (const [scale, word] of scales) {
    if (abs >= scale) {
      const n = abs / scale;
      number = `${n.toLocaleString('en-US', { maximumFractionDigits: 3 })} ${word}`;
      break;
    }
  }
  const sign = amount < 0 ? '-' : '';
  const text = symbol ? `${sign}${symbol}${number}` : `${sign}${number} ${currency}`;
  return `${hedge}${text}`;
}

/**
 * Edge width for an amount: 1 without one, growing with the amount's
 * logarithm relative to the largest amount drawn, up to 8.
 * @param {number | null | undefined} amount
 * @param {number} largest the largest amount drawn
 * @returns {number}
 */
export function edgeWidth(amount, largest) {
  if (!amount || amount <= 0 || !largest || largest <= 0) return 1;
  const share = Math.log10(1 + amount) / Math.log10(1 + Math.max(largest, amount));
  return 1.5 + 6.5 * share;
}

/**
 * A calendar date (`2025-11-06`) as "6 Nov 2025"; other text unchanged.
 * @param {string | null | undefined} date
 * @returns {string}
 */
export function formatDate(date) {
  if (!date) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return date;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const month = months[Number(m[2]) - 1];
  return month ? `${Number(m[3])} ${month} ${m[1]}` : date;
}

/**
 * An enum value as words: `MILITARY_COMMAND` → "military command".
 * @param {string} kind
 * @returns {string}
 */
export function kindLabel(kind) {
  return kind.toLowerCase().replaceAll('_', ' ');
}

/**
 * Where `quote` stands in `text`: the surrounding context and the quote
 * itself, so that it can be shown highlighted in its document. Null when
 * the text does not hold the quote verbatim.
 * @param {string} text the document's text
 * @param {string} quote
 * @param {number} [context] characters of context either side
 * @returns {{ before: string, quote: string, after: string } | null}
 */
export function locateQuote(text, quote, context = 240) {
  const at = text.indexOf(quote);
  if (at < 0 || !quote) return null;
  const start = Math.max(0, at - context);
  const end = Math.min(text.length, at + quote.length + context);
  return {
    before: (start > 0 ? '…' : '') + text.slice(start, at),
    quote,
    after: text.slice(at + quote.length, end) + (end < text.length ? '…' : ''),
  };
}

/** Colours of entity kinds, chosen to stay apart for common colour blindness. */
export const KIND_COLOURS = /** @type {Record<string, string>} */ ({
  COUNTRY: '#4e79a7',
  REGION: '#76b7b2',
  CITY: '#59a14f',
  GOVERNMENT: '#2f4b7c',
  MINISTRY: '#665191',
  LEGISLATURE: '#a05195',
  MILITARY_COMMAND: '#d45087',
  ARMED_FORCE: '#f95d6a',
  SECURITY_SERVICE: '#ff7c43',
  ARMED_GROUP: '#b0413e',
  PERSON: '#edc948',
  FUND: '#1b9e77',
  LEGISLATION: '#9c755f',
  EVENT: '#bab0ac',
  MEDIA_OUTLET: '#8c8c8c',
});

/**
 * The colour of an entity kind (grey for a kind this page does not know).
 * @param {string} kind
 */
export function kindColour(kind) {
  return KIND_COLOURS[kind] ?? '#999999';
}

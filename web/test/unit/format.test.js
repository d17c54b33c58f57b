import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAmount, edgeWidth, formatDate, kindLabel, locateQuote, kindColour } from '../../src/explorer/format.js';

test('amounts read as the article says them, hedges kept', () => {
  assert.equal(formatAmount(213000000, 'USD', 'AT_LEAST'), 'more than $213 million');
  assert.equal(formatAmount(358000000, 'USD'), '$358 million');
  assert.equal(formatAmount(130000000, 'USD', 'EXACT'), '$130 million');
  assert.equal(formatAmount(1500000000, 'USD', 'APPROXIMATE'), 'about $1.5 billion');
  assert.equal(formatAmount(250000, 'USD', 'AT_MOST'), 'up to $250,000');
  assert.equal(formatAmount(2e6, 'IQD'), '2 million IQD');
  assert.equal(formatAmount(5e6, 'EUR'), '€5 million');
  assert.equal(formatAmount(-3e6, 'USD'), '-$3 million');
});

test('edge width grows with the amount and stays within bounds', () => {
  assert.equal(edgeWidth(null, 100), 1);
  assert.equal(edgeWidth(0, 100), 1);
  assert.equal(edgeWidth(5, 0), 1);
  const small = edgeWidth(1e6, 358e6);
  const large = edgeWidth(358e6, 358e6);
  assert.ok(small > 1 && small < large, `${small} < ${large}`);
  assert.equal(large, 8);
  assert.ok(edgeWidth(1e12, 358e6) <= 8);
});

test('dates, kinds and colours', () => {
  assert.equal(formatDate('2025-11-06'), '6 Nov 2025');
  assert.equal(formatDate('2025-13-06'), '2025-13-06');
  assert.equal(formatDate('FY2026'), 'FY2026');
  assert.equal(formatDate(null), '');
  assert.equal(kindLabel('MILITARY_COMMAND'), 'military command');
  assert.equal(kindColour('FUND'), '#1b9e77');
  assert.equal(kindColour('SOMETHING_NEW'), '#999999');
});

test('a quote is found in its document, with context either side', () => {
  const text = 'A'.repeat(300) + 'the quote' + 'B'.repeat(300);
  const at = locateQuote(text, 'the quote', 10);
  assert.deepEqual(at, { before: `…${'A'.repeat(10)}`, quote: 'the quote', after: `${'B'.repeat(10)}…` });
  assert.deepEqual(locateQuote('the quote', 'the quote'), { before: '', quote: 'the quote', after: '' });
  assert.equal(locateQuote(text, 'not there'), null);
  assert.equal(locateQuote(text, ''), null);
});

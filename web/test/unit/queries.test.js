import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inlineVariables, RELATIONS, PATHS, ENTITY } from '../../src/explorer/queries.js';
import { readmeExamples } from '../../src/graphiql/examples.js';
import { parse } from 'graphql';
import { tokenHeaders, operationFor } from '../../src/graphiql/request.js';

test('copy as GraphQL writes the variables in', () => {
  const text = inlineVariables(RELATIONS, { id: 'ctef', direction: 'OUTGOING', kinds: ['FUNDS', 'SUPPORTS'], first: 25, after: null });
  assert.match(text, /^query Relations \{/);
  assert.match(text, /entity\(id: "ctef"\)/);
  assert.match(text, /relations\(direction: OUTGOING, kinds: \[FUNDS, SUPPORTS\], first: 25\)/);
  assert.doesNotMatch(text, /\$/);
  const none = inlineVariables(RELATIONS, { id: 'ctef', direction: null, kinds: [], first: 25, after: null });
  assert.match(none, /relations\(first: 25\)/);
  const paths = inlineVariables(PATHS, { from: 'a"b', to: 'c', max: 4, direction: null, kinds: null });
  assert.match(paths, /shortestPath\(from: "a\\"b", to: "c"\)/);
  assert.match(paths, /paths\(from: "a\\"b", to: "c", maxLength: 4, first: 20\)/);
  assert.doesNotMatch(inlineVariables(ENTITY, { id: 'x' }), /\$/);
});

test('GraphiQL tabs are the README example queries, named', () => {
  const readme = [
    '# x', '## Example queries', 'Intro.', '### `fundingFlows` — money', 'Text.', '```graphql', '{ a }', '```', '```json', '{}', '```',
    '### `entity` — who', '```graphql', 'query Named { b }', '```', '### no query here', 'none', '## Next', '### `later`', '```graphql', '{ c }', '```',
  ].join('\n');
  assert.deepEqual(readmeExamples(readme), [
    { title: 'fundingFlows — money', query: '# fundingFlows — money\nquery FundingFlows { a }\n' },
    { title: 'entity — who', query: '# entity — who\nquery Named { b }\n' },
  ]);
  assert.deepEqual(readmeExamples('# nothing'), []);
});

test('the token button sets the Authorization header and keeps the others', () => {
  assert.deepEqual(JSON.parse(tokenHeaders('', 's3cret')), { Authorization: 'Bearer s3cret' });
  assert.deepEqual(JSON.parse(tokenHeaders('{"authorization":"Bearer old","X-A":"1"}', ' new ')), { 'X-A': '1', Authorization: 'Bearer new' });
  assert.deepEqual(JSON.parse(tokenHeaders('{"X-A":"1","Authorization":"Bearer old"}', '')), { 'X-A': '1' });
  assert.deepEqual(JSON.parse(tokenHeaders('not json', 't')), { Authorization: 'Bearer t' });
  assert.deepEqual(JSON.parse(tokenHeaders('[1]', 't')), { Authorization: 'Bearer t' });
});

test('a stale operation name from another tab gives way to the document\'s own', () => {
  const one = parse('subscription Live { graphChanged { id } }');
  assert.equal(operationFor(one, 'FundingFlows'), 'Live');
  assert.equal(operationFor(one, 'Live'), 'Live');
  assert.equal(operationFor(parse('{ stats { entities } }'), 'FundingFlows'), undefined);
  const two = parse('query A { stats { entities } } query B { graphVersion }');
  assert.equal(operationFor(two, 'B'), 'B');
  assert.equal(operationFor(two, 'C'), 'C');
  assert.equal(operationFor(null, 'X'), 'X');
});

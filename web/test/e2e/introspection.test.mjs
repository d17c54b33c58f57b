// What tools that build client types from introspection see (graphql-codegen,
// the Relay compiler, buildClientSchema): the live server's introspection,
// built into a schema by graphql-js, must be the committed SDL file, both
// ways, with every option GraphiQL turns on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildClientSchema,
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  getIntrospectionQuery,
  isInterfaceType,
  lexicographicSortSchema,
  printSchema,
  specifiedDirectives,
} from 'graphql';
import { startServer } from './server.mjs';

const sdlFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'schema', 'schema.graphql');

test('a client schema built from live introspection is the SDL file, both ways', async () => {
  const server = await startServer();
  try {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const response = await fetch(`${server.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query }),
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const live = buildClientSchema(body.data);
    const file = buildSchema(readFileSync(sdlFile, 'utf8'));

    // Nothing the file declares is missing from introspection, and nothing
    // introspection answers is missing from the file. graphql-js adds its
    // own built-in directives to a schema built from SDL (@oneOf, and
    // @deprecated with its newest locations) whether the file declares
    // them or not; those are graphql-js's, not the file's.
    const text = readFileSync(sdlFile, 'utf8');
    const own = (/** @type {{ description: string }} */ change) =>
      !specifiedDirectives.some(
        (d) => !text.includes(`directive @${d.name}`) && change.description.startsWith(`${d.name} was removed`),
      ) && !/^DIRECTIVE_DEFINITION was removed from deprecated/.test(change.description);
    assert.deepEqual(findBreakingChanges(file, live).filter(own), []);
    assert.deepEqual(findBreakingChanges(live, file).filter(own), []);
    assert.deepEqual(findDangerousChanges(file, live).filter(own), []);
    assert.deepEqual(findDangerousChanges(live, file).filter(own), []);
    // And the same text, descriptions and defaults included.
    assert.equal(printSchema(lexicographicSortSchema(live)), printSchema(lexicographicSortSchema(file)));

    // Interfaces that implement interfaces, named: what was once lost.
    const implementing = Object.values(file.getTypeMap())
      .filter(isInterfaceType)
      .filter((t) => t.getInterfaces().length > 0);
    assert.ok(implementing.length > 0, 'the schema has an interface implementing another');
    for (const t of implementing) {
      const seen = live.getType(t.name);
      assert.ok(isInterfaceType(seen), `${t.name} is an interface`);
      assert.deepEqual(
        seen.getInterfaces().map((i) => i.name),
        t.getInterfaces().map((i) => i.name),
        `${t.name}'s interfaces`,
      );
    }
  } finally {
    await server.stop();
  }
});

test('introspection mixed with data, and __type, answer the SDL too', async () => {
  const server = await startServer();
  try {
    const response = await fetch(`${server.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          'query Q($t: String!) { stats { entities } t: __type(name: $t) { kind name interfaces { name } } }',
        variables: { t: 'Entity' },
      }),
    });
    const body = await response.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    assert.deepEqual(Object.keys(body.data), ['stats', 't']);
    assert.ok(body.data.stats.entities > 0);
    assert.deepEqual(body.data.t, { kind: 'INTERFACE', name: 'Entity', interfaces: [{ name: 'Node' }] });
  } finally {
    await server.stop();
  }
});

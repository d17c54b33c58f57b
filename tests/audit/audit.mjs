// Runs graphql-http's server audits against a running partnergraph and
// fails on any MUST audit that does not pass. Usage: node audit.mjs URL
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}
let ok = 0;
let mustFailures = 0;
let otherFailures = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    ok++;
    continue;
  }
  if (audit.name.startsWith('MUST')) mustFailures++;
  else otherFailures++;
  console.log(`${result.status} ${audit.id} ${audit.name}: ${result.reason}`);
}
console.log(`graphql-http audits: ${ok} ok, ${mustFailures} MUST failures, ${otherFailures} SHOULD/MAY failures`);
process.exit(mustFailures === 0 ? 0 : 1);

// Bundles the explorer and GraphiQL into one folder of static files that the
// binary embeds (see build.rs). Every file is also written gzipped, and a
// manifest lists path, content type and a content hash (the ETag).
//
// Output folder: $PARTNERGRAPH_WEB_OUT, or dist/ when run by hand.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { dirname, join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import { readmeExamples } from './src/graphiql/examples.js';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.PARTNERGRAPH_WEB_OUT || join(here, 'dist');

/** @type {Record<string, string>} */
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });

// GraphiQL opens with the README's example queries, read from the README
// itself so that the two cannot drift apart.
const readme = await readFile(join(here, '..', 'README.md'), 'utf8');
const examples = readmeExamples(readme);
if (examples.length === 0) {
  throw new Error('no example queries found in README.md under "## Example queries"');
}

await esbuild.build({
  entryPoints: {
    explorer: join(here, 'src/explorer/main.js'),
    graphiql: join(here, 'src/graphiql/main.js'),
  },
  outdir: join(out, 'assets'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  legalComments: 'none',
  define: {
    'process.env.NODE_ENV': '"production"',
    PARTNERGRAPH_EXAMPLES: JSON.stringify(examples),
  },
  logLevel: 'warning',
});
for (const page of ['explorer', 'graphiql']) {
  await copyFile(join(here, `src/${page}/index.html`), join(out, `${page}.html`));
}

/** @param {string} dir @returns {Promise<string[]>} */
async function files(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await files(path)));
    else found.push(path);
  }
  return found;
}

const manifest = [];
let total = 0;
for (const path of (await files(out)).sort()) {
  const rel = path.slice(out.length + 1);
  const type = TYPES[extname(rel)];
  if (!type) throw new Error(`no content type for ${rel}`);
  const body = await readFile(path);
  const gz = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
  await writeFile(`${path}.gz`, gz);
  const etag = createHash('sha256').update(body).digest('hex').slice(0, 20);
  manifest.push(`${rel}\t${type}\t${etag}`);
  total += gz.length;
  console.log(`${rel.padEnd(24)} ${String(body.length).padStart(9)} B, ${String(gz.length).padStart(8)} B gzipped`);
}
await writeFile(join(out, 'manifest.tsv'), manifest.join('\n') + '\n');
console.log(`all assets: ${total} B gzipped`);

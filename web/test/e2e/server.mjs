// Starts the real partnergraph binary on a free local port with a fresh data
// directory, for the browser tests and the explorer's benchmark.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The binary under test: $PARTNERGRAPH_BIN, or the debug build. */
export const BIN = process.env.PARTNERGRAPH_BIN || join(repo, 'target', 'debug', 'partnergraph');

/** The binary measured: $PARTNERGRAPH_BIN, or the release build (as shipped). */
export const RELEASE_BIN = process.env.PARTNERGRAPH_BIN || join(repo, 'target', 'release', 'partnergraph');

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A running server; `stop()` kills it and removes its data.
 * @param {{ token?: string, args?: string[], dataDir?: string, bin?: string, port?: number }} [options]
 */
export async function startServer(options = {}) {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'partnergraph-web-'));
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...(options.args ?? [])];
  /** @type {Record<string, string | undefined>} */
  const env = { ...process.env, PARTNERGRAPH_LOG: 'warn' };
  if (options.token) env.PARTNERGRAPH_WRITE_TOKEN = options.token;
  const bin = options.bin ?? BIN;
  const child = spawn(bin, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${bin} exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${bin} did not become ready on ${base}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    port,
    dataDir,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

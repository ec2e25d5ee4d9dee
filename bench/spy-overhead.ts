/**
 * The coverage spy's cost on throughput and p99 latency: the same server with coverage off and
 * on, side by side in one run, rounds interleaved (off, on, off, on, ...) so that drift of the
 * machine hits both alike. Three targets: the api's real tenant-scoped read (GET
 * /v1/organisations with a token: JWT checks, a transaction under row-level security, two
 * queries), its GET /health (one query), and a hello-world fastify route, the floor V8's block
 * coverage sets.
 *
 *   node dist/bench/spy-overhead.js [--seconds 5] [--rounds 3] [--connections 10]
 *
 * Needs nothing running: it starts a process-engine stack (PostgreSQL, and auth for the token and
 * its JWKS) and takes it down. The measured api processes check JWTs without introspection.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '../src/util/net.js';
import { loadOptions, median } from './measure.js';
import { apiEnvironment, helpersFor, waitUntilUp, withStack } from './stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { seconds, rounds, connections } = loadOptions();

interface Server {
  url: string;
  stop(): Promise<void>;
}

/** A server process on a port of its own, with the spy and NODE_V8_COVERAGE when `coverage` is set. */
async function startServer(
  script: string,
  env: Record<string, string>,
  readyPath: string,
  coverage: boolean,
): Promise<Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', script], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      PORT: String(port),
      ...(coverage
        ? { NODE_OPTIONS: `--require ${path.join(root, 'coverage-spy', 'index.cjs')}`, NODE_V8_COVERAGE: dir }
        : {}),
    },
    // Drained, never read: a full pipe would stall the server.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}${readyPath}`, child);
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function load(url: string, headers: Record<string, string>): Promise<{ rps: number; p99: number }> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  if (result.non2xx > 0) throw new Error(`${url}: ${result.non2xx} answers were not 2xx`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

/** `pathname` measured with `headers`; `ready` answers 200 once the server is up. */
async function measure(
  name: string,
  script: string,
  env: Record<string, string>,
  {
    pathname,
    ready = pathname,
    headers = {},
  }: { pathname: string; ready?: string; headers?: Record<string, string> },
) {
  const off = await startServer(script, env, ready, false);
  const on = await startServer(script, env, ready, true);
  const samples = { off: [] as { rps: number; p99: number }[], on: [] as { rps: number; p99: number }[] };
  try {
    await load(`${off.url}${pathname}`, headers); // warm-up, both
    await load(`${on.url}${pathname}`, headers);
    for (let i = 0; i < rounds; i++) {
      samples.off.push(await load(`${off.url}${pathname}`, headers));
      samples.on.push(await load(`${on.url}${pathname}`, headers));
    }
  } finally {
    await off.stop();
    await on.stop();
  }
  const pick = (xs: { rps: number; p99: number }[]) => ({
    rps: median(xs.map((x) => x.rps)),
    p99: median(xs.map((x) => x.p99)),
  });
  const o = pick(samples.off);
  const n = pick(samples.on);
  return `| ${name} | ${Math.round(o.rps)} | ${Math.round(n.rps)} | ${(n.rps / o.rps).toFixed(2)} | ${o.p99} ms | ${n.p99} ms |`;
}

const rows = await withStack(async (urls) => {
  const { tenant, scope, cleanup } = await helpersFor(urls);
  const alice = await tenant.newTenant(scope);
  for (let i = 0; i < 20; i++) await tenant.createOrganisation(scope, alice, `Spy ${i}`);
  const api = apiEnvironment(urls);
  const script = 'dist/services/api/src/main.js';
  const measured = [
    await measure('api `GET /v1/organisations` (token, RLS transaction, 2 queries)', script, api, {
      pathname: '/v1/organisations',
      ready: '/health',
      headers: { authorization: `Bearer ${alice.token}` },
    }),
    await measure('api `GET /health` (one PostgreSQL query)', script, api, { pathname: '/health' }),
    await measure('hello-world fastify route', 'dist/bench/hello-server.js', {}, { pathname: '/' }),
  ];
  await cleanup();
  return measured;
});
process.stdout.write(
  `${seconds} s x ${rounds} rounds per mode, ${connections} connections, medians\n\n` +
    '| route | req/s off | req/s on | on/off | p99 off | p99 on |\n|---|---|---|---|---|---|\n' +
    `${rows.join('\n')}\n`,
);

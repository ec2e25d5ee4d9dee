/**
 * realstack against testcontainers-node on the same compose file, side by side, for
 * docs/performance.md: `up` until every service is healthy, then `down`, rounds interleaved
 * (realstack first in odd rounds, testcontainers first in even ones), medians.
 *
 *   node dist/bench/vs-testcontainers.js [--runs N] [--interval 10s]
 *
 * `--interval` gives every health check of the stack that interval (an overlay file): the
 * reference stack checks every second, where users' files often say 10 s or 30 s.
 *
 * testcontainers is not a dependency of realstack: the benchmark installs it once into a folder
 * of its own under the temp directory (npm, the registry) and loads it from there. Both run the
 * file realstack runs, the run's compose file (the reference stack's compose file with the
 * images chosen, ports and secrets filled in), with realstack's labels taken out of the copy
 * testcontainers gets and depends_on's conditions put back (realstack judges those itself and
 * leaves them out of its run file); both use compose v1 (`docker-compose`), as this machine has it, and
 * testcontainers waits on every container's health check (`Wait.forHealthCheck()`), as
 * realstack does. Its reaper (Ryuk) is off: its image cannot be pulled here.
 *
 * realstack runs as a user runs it, the CLI in a process of its own each time (its start-up
 * and its check that the images are current included); testcontainers runs in this process, as
 * a test file uses it, loaded once. Its `down` kills at once by default (`timeout: 0`); both
 * of its downs are measured, the default and a graceful one (`timeout: 15`, as compose's).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { projectStack } from '../src/stack/compose.js';
import type { StackSpec } from '../src/stack/spec.js';
import { median, timedCli } from './measure.js';

// 12.x needs Node 22 (its undici 8 fails on Node 20); 11.14 is the last that runs here.
const VERSION = '11.14.0';
const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, interval: { type: 'string' } },
});
const runs = Number(values.runs);
const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-bench-vs-'));

/** The part of testcontainers' API the benchmark uses (it is not installed for the type check). */
interface ComposeEnvironment {
  withProjectName(name: string): ComposeEnvironment;
  withClientOptions(options: { executable: { standalone: boolean } }): ComposeEnvironment;
  withDefaultWaitStrategy(strategy: unknown): ComposeEnvironment;
  up(): Promise<{ down(options?: { timeout?: number }): Promise<unknown> }>;
}
interface Testcontainers {
  DockerComposeEnvironment: new (dir: string, file: string) => ComposeEnvironment;
  Wait: { forHealthCheck(): unknown };
}

/** testcontainers from a folder of the benchmark's own, installed there the first time. */
function loadTestcontainers() {
  const dir = path.join(os.tmpdir(), `realstack-bench-testcontainers-${VERSION}`);
  if (!existsSync(path.join(dir, 'node_modules', 'testcontainers'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), '{"private":true}');
    process.stderr.write(`installing testcontainers ${VERSION} into ${dir}\n`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', `testcontainers@${VERSION}`], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  return createRequire(path.join(dir, 'package.json'))('testcontainers') as Testcontainers;
}

/**
 * The run's compose file as a user's compose would run it: without realstack's labels (a
 * testcontainers project is not a run), with the stack's depends_on conditions.
 */
function forTestcontainers(file: string, stack: StackSpec): string {
  const model = JSON.parse(readFileSync(file, 'utf8')) as Record<
    string,
    Record<string, { labels?: object; depends_on?: unknown }>
  >;
  for (const kind of ['services', 'networks', 'volumes'])
    for (const entry of Object.values(model[kind] ?? {})) {
      if (!entry.labels) continue;
      entry.labels = Object.fromEntries(
        Object.entries(entry.labels).filter(([k]) => !k.startsWith('dev.realstack.')),
      );
    }
  for (const svc of stack.services) {
    const entry = model.services?.[svc.name];
    if (entry && svc.dependsOn.length > 0)
      entry.depends_on = Object.fromEntries(
        svc.dependsOn.map((d) => [d.service, { condition: d.condition }]),
      );
  }
  return JSON.stringify(model, null, 2);
}

/** The stack's compose files, with an overlay giving every health check `interval` if asked. */
function composeFiles(stack: StackSpec, interval: string | undefined): string | undefined {
  if (!interval) return undefined;
  const overlay = path.join(work, 'interval.json');
  const services = stack.services.filter((s) => s.healthcheck);
  writeFileSync(
    overlay,
    JSON.stringify({
      services: Object.fromEntries(services.map((s) => [s.name, { healthcheck: { interval } }])),
    }),
  );
  return [...stack.files, overlay].join(',');
}

process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
const { DockerComposeEnvironment, Wait } = loadTestcontainers();
// The overlay changes health checks only: the services and their depends_on are the same.
const stack = projectStack(loadToolkitConfig(root, process.env));
const files = composeFiles(stack, values.interval);
const env = { REALSTACK_ENGINE: 'docker', ...(files ? { REALSTACK_COMPOSE_FILES: files } : {}) };
const runId = () => `bvs${randomBytes(3).toString('hex')}`;

// A first round of realstack's (not counted) builds what is missing and leaves its run file.
const first = runId();
timedCli(root, ['up'], { ...env, REALSTACK_RUN_ID: first });
writeFileSync(
  path.join(work, 'compose.json'),
  forTestcontainers(path.join(root, '.realstack', 'runs', first, 'compose.json'), stack),
);
timedCli(root, ['down'], { ...env, REALSTACK_RUN_ID: first });

async function testcontainers(graceful: boolean): Promise<[number, number]> {
  const start = performance.now();
  const started = await new DockerComposeEnvironment(work, 'compose.json')
    .withProjectName(`tcbench${randomBytes(3).toString('hex')}`)
    .withClientOptions({ executable: { standalone: true } })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .up();
  const up = performance.now();
  await started.down(graceful ? { timeout: 15 } : {});
  return [up - start, performance.now() - up];
}

function realstack(): [number, number] {
  const id = { ...env, REALSTACK_RUN_ID: runId() };
  return [timedCli(root, ['up'], id), timedCli(root, ['down'], id)];
}

const times = { realstack: [] as number[][], tc: [] as number[][], tcGraceful: [] as number[][] };
try {
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) times.realstack.push(realstack());
    times.tc.push(await testcontainers(false));
    times.tcGraceful.push(await testcontainers(true));
    if (i % 2 === 1) times.realstack.push(realstack());
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const med = (list: number[][], step: 0 | 1) => median(list.map((r) => r[step] as number));
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: [string, number, number][] = [
  ['`up` until every service is healthy', med(times.realstack, 0), med(times.tc, 0)],
  ['`down` (testcontainers: its default, kill at once)', med(times.realstack, 1), med(times.tc, 1)],
  ['`down` (testcontainers: graceful, `timeout: 15`)', med(times.realstack, 1), med(times.tcGraceful, 1)],
];
process.stdout.write(
  `| step (medians of ${runs}${values.interval ? `, checks every ${values.interval}` : ''}) | realstack | testcontainers ${VERSION} | realstack / testcontainers |\n| --- | --- | --- | --- |\n`,
);
for (const [label, mine, theirs] of rows)
  process.stdout.write(`| ${label} | ${s(mine)} | ${s(theirs)} | ${(mine / theirs).toFixed(2)} |\n`);

/**
 * Stack lifecycle figures for docs/performance.md: `realstack images` cold and warm, and
 * `up` (to all-ready) and `down` per engine, each through the real CLI as a user runs it.
 *
 *   node dist/bench/lifecycle.js [--runs N] [--cold]
 *
 * --cold first removes the stand-in and service images so that `images` builds them all
 * (debootstrap included); without it the cold figure is left out.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtImageTag } from '../src/images/state.js';
import { median, timedCli } from './measure.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, cold: { type: 'boolean' } },
});
const runs = Number(values.runs);

const timed = (args: string[], env: Record<string, string> = {}) => timedCli(root, args, env);

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: [string, string, string][] = [];

if (values.cold) {
  const images = [
    builtImageTag(root, 'auth'),
    builtImageTag(root, 'api'),
    `realstack/node:${process.versions.node}`,
    'realstack/postgres:15',
    'realstack/debian:bookworm',
  ];
  spawnSync('docker', ['rmi', '-f', ...images], { stdio: 'ignore' });
  spawnSync('rm', ['-f', '.realstack/images.json'], { cwd: root });
  rows.push([
    '`realstack images` cold (debootstrap, stand-ins, host build, service images)',
    fmt(timed(['images'])),
    '1 run',
  ]);
}
const warm = Array.from({ length: runs }, () => timed(['images']));
rows.push(['`realstack images` warm (nothing to do)', fmt(median(warm)), `median of ${runs}`]);

for (const engine of ['process', 'docker']) {
  const ups: number[] = [];
  const downs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const env = { REALSTACK_ENGINE: engine, REALSTACK_RUN_ID: `bench${randomBytes(3).toString('hex')}` };
    ups.push(timed(['up'], env));
    downs.push(timed(['down'], env));
  }
  rows.push([`\`up\` to all-ready, ${engine} engine`, fmt(median(ups)), `median of ${runs}`]);
  rows.push([`\`down\`, ${engine} engine`, fmt(median(downs)), `median of ${runs}`]);
}

process.stdout.write('| step | wall time | runs |\n|---|---|---|\n');
for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);

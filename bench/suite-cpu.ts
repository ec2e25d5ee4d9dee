/**
 * Where a suite run's CPU goes, for docs/performance.md: runs a command (by default the suite
 * with the coverage spy, as CI's first pass) while reading /proc every 100 ms, then prints the
 * machine's busy and idle time, CPU seconds by kind of process (test files, tap's runners,
 * realstack's commands, the services, PostgreSQL, the Docker daemon) and by test file, a test
 * file's count taking in every process it started.
 *
 *   node dist/bench/suite-cpu.js [--engine process] [-- command args...]
 *
 * A process's CPU is read from /proc/<pid>/stat (all its threads). One that lives less than the
 * 100 ms between reads is missed, and each one's last 100 ms may be: the figures are a floor.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { statFields } from '../src/util/pid.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values, positionals } = parseArgs({
  options: { engine: { type: 'string', default: 'process' } },
  allowPositionals: true,
});
const command = positionals.length > 0 ? positionals : ['npx', 'just', 'test-sidecar-coverage'];
const HZ = 100; // USER_HZ on Linux

interface Seen {
  pid: number;
  ppid: number;
  cmd: string;
  /** CPU ticks at the first read: what a process that was already running had spent before. */
  base: number;
  ticks: number;
}
const seen = new Map<string, Seen>();

function read(first: boolean): void {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (!f) continue; // gone between the listing and the read
    const ticks = Number(f[11]) + Number(f[12]);
    const key = `${d}:${f[19]}`; // pid and start time: a reused pid is another process
    const known = seen.get(key);
    if (known) {
      known.ticks = ticks;
      continue;
    }
    const proc = (file: string) => {
      try {
        return readFileSync(`/proc/${d}/${file}`, 'utf8');
      } catch {
        return '';
      }
    };
    const cmd = proc('cmdline').split('\0').join(' ').trim() || `[${proc('comm').trim()}]`;
    seen.set(key, { pid: Number(d), ppid: Number(f[1]), cmd, base: first ? ticks : 0, ticks });
  }
}

/** busy and idle ticks of the whole machine, from /proc/stat's first line. */
function machine(): { busy: number; idle: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: cpu.reduce((a, b) => a + b, 0) - idle, idle };
}

const TEST_FILE = /(tests?\/\S+\.test\.[cm]?[jt]s)/;
function kind(cmd: string): string {
  const cli = /bin\/realstack(?:\.js)?\s+(\S+)/.exec(cmd);
  if (cli) return `realstack ${cli[1]}`;
  if (/@tapjs\/run|tap\/dist\/esm\/run|\.bin\/tap\b/.test(cmd)) return "tap's runners";
  if (TEST_FILE.test(cmd) || /\.fixture\.ts/.test(cmd)) return 'test file processes';
  if (/dist\/src\/engine\/.*runner/.test(cmd)) return "realstack's process runners";
  const service = /dist\/services\/(\w+)/.exec(cmd);
  if (service) return `service ${service[1]}`;
  for (const [re, name] of [
    [/^postgres|\/postgres\b/, 'postgres'],
    [/^\[kdamond/, 'kdamond (the kernel)'],
    [/^\[/, 'other kernel threads'],
    [/dockerd/, 'dockerd'],
    [/containerd/, 'containerd'],
    [/docker-compose/, 'docker-compose'],
    [/^docker\b|\/docker\b/, 'docker CLI'],
    [/\bjust\b/, 'just'],
    [/^cp\b/, 'cp'],
    [/\bnpm\b/, 'npm'],
  ] as const)
    if (re.test(cmd)) return name;
  return cmd.split(' ')[0]?.split('/').at(-1)?.slice(0, 30) ?? '?';
}

read(true);
const before = machine();
const started = performance.now();
const timer = setInterval(() => read(false), 100);
const child = spawn(command[0] as string, command.slice(1), {
  cwd: root,
  env: { ...process.env, REALSTACK_ENGINE: values.engine },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (d: Buffer) => {
  out += d.toString();
});
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
clearInterval(timer);
read(false);
const wall = (performance.now() - started) / 1000;
const after = machine();

const cpuOf = (p: Seen) => (p.ticks - p.base) / HZ;
const sum = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const byKind = new Map<string, number>();
for (const p of seen.values()) if (p.pid !== process.pid) sum(byKind, kind(p.cmd), cpuOf(p));

// A test file's own process and everything under it (its CLI calls, inner runs, stacks): the
// outermost test file of a process's ancestry, so that an inner run counts for the test that ran it.
const byPid = new Map([...seen.values()].map((p) => [p.pid, p]));
const testFile = (p: Seen) =>
  /@tapjs\/mock/.test(p.cmd) && !/bin\/realstack/.test(p.cmd) ? TEST_FILE.exec(p.cmd)?.[1] : undefined;
const fileOf = (p: Seen | undefined, depth = 0): string | undefined =>
  !p || depth > 40 ? undefined : (fileOf(byPid.get(p.ppid), depth + 1) ?? testFile(p));
const byFile = new Map<string, number>();
for (const p of seen.values()) {
  const f = fileOf(p);
  if (f) sum(byFile, f, cpuOf(p));
}

const busy = (after.busy - before.busy) / HZ;
const idle = (after.idle - before.idle) / HZ;
const table = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `| ${k} | ${v.toFixed(1)} s |`)
    .join('\n');
console.log(`${command.join(' ')}: exit ${code}, ${out.trim().split('\n').at(-1) ?? ''}`);
console.log(
  `wall ${wall.toFixed(0)} s; the machine busy ${busy.toFixed(0)} s, idle ${idle.toFixed(0)} s (${((idle / (busy + idle)) * 100).toFixed(0)} %)\n`,
);
console.log(`| kind of process | CPU |\n| --- | --- |\n${table(byKind, 25)}\n`);
console.log(`| test file, with what it started | CPU |\n| --- | --- |\n${table(byFile, 25)}`);

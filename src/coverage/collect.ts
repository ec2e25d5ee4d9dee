import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/types.js';
import { DUMP_FILE, readMetas, type SpyMeta } from '../spy/files.js';

export interface InstanceDumps {
  service: string;
  instance: string;
  /** The dumps of the service's own processes. */
  dumps: string[];
  metas: SpyMeta[];
  /** Processes that are not the service (spy metadata marked them helpers): their dumps are left out. */
  helpers: SpyMeta[];
  exitCode?: number;
}

export interface Gap {
  service: string;
  instance?: string;
  message: string;
}

/** Reads what was copied to `rawDir/<instance>/`: dumps and the spy's metadata. */
export const EXIT_CODES_FILE = 'exit-codes.json';

export function readHarvest(rawDir: string): InstanceDumps[] {
  let exitCodes: Record<string, number | null> = {};
  try {
    exitCodes = JSON.parse(readFileSync(path.join(rawDir, EXIT_CODES_FILE), 'utf8'));
  } catch {}
  let entries: string[] = [];
  try {
    entries = readdirSync(rawDir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
  return entries.map((instance) => {
    const dir = path.join(rawDir, instance);
    const files = readdirSync(dir).sort();
    const all = readMetas(dir);
    const helpers = all.filter((m) => m.helper);
    const helperPids = new Set(helpers.map((m) => m.pid));
    const metas = all.filter((m) => !m.helper);
    // A merged harvest names an instance `auth-1@shard-2` (testing/merge.ts).
    const service = all[0]?.service ?? instance.replace(/@.*$/, '').replace(/-\d+$/, '');
    const exitCode = exitCodes[instance] ?? undefined;
    return {
      service,
      instance,
      dumps: files
        .filter((f) => DUMP_FILE.test(f) && !helperPids.has(Number(DUMP_FILE.exec(f)?.[1])))
        .map((f) => path.join(dir, f)),
      metas,
      helpers,
      ...(exitCode !== undefined ? { exitCode } : {}),
    };
  });
}

/**
 * The gaps that make a coverage figure a lie, each with what to change: a process killed
 * before it could flush, an instance with no dump at all, an expected service never seen.
 */
export function findGaps(
  instances: InstanceDumps[],
  expectedServices: string[],
  graceOf: (service: string) => number,
): Gap[] {
  const gaps: Gap[] = [];
  for (const i of instances) {
    if (i.exitCode === 137) {
      gaps.push({
        service: i.service,
        instance: i.instance,
        message:
          `${i.instance} exited 137: it was killed at the end of its grace period, so it flushed nothing. ` +
          `Raise stop_grace_period (now ${graceOf(i.service)}s) above the spy's REALSTACK_COVERAGE_FLUSH_MS, or find what keeps it from stopping.`,
      });
    }
    for (const m of i.metas.filter((m) => m.stop?.exitCode === undefined)) {
      if (i.exitCode === 137) continue;
      gaps.push({
        service: i.service,
        instance: i.instance,
        message: `${i.instance}: process ${m.pid} started ${m.startedAt} never reached its exit (killed, e.g. SIGKILL or OOM): its coverage since the last snapshot is lost.`,
      });
    }
    if (i.dumps.length === 0) {
      gaps.push({
        service: i.service,
        instance: i.instance,
        message: `${i.instance} wrote no coverage dump. Check that NODE_OPTIONS preloads coverage-spy and that it was stopped gracefully (not killed).`,
      });
    }
  }
  for (const service of expectedServices) {
    if (!instances.some((i) => i.service === service)) {
      gaps.push({
        service,
        message: `service ${service} has no instrumented instance: run it with the spy (\`npx realstack test-coverage\`, or \`npx realstack up --coverage\`), or set "coverage": false for it in realstack.json.`,
      });
    }
  }
  return gaps;
}

/**
 * What is worth knowing but is no gap: helper processes left out (a migration before the
 * server, npm, health probes), and processes that ended by themselves before the stop, whose
 * coverage counts.
 */
export function describeProcesses(instances: InstanceDumps[]): string[] {
  const notes: string[] = [];
  const scripts = (metas: SpyMeta[]) => {
    const byScript = new Map<string, number>();
    for (const m of metas) byScript.set(m.script ?? '?', (byScript.get(m.script ?? '?') ?? 0) + 1);
    return [...byScript].map(([s, n]) => (n > 1 ? `${s} ×${n}` : s)).join(', ');
  };
  const processes = (n: number, kind = '') => `${n} ${kind}process${n === 1 ? '' : 'es'}`;
  for (const i of instances) {
    if (i.helpers.length > 0)
      notes.push(
        `${i.instance}: left out ${processes(i.helpers.length, 'helper ')} (not its entry): ${scripts(i.helpers)}`,
      );
    // Not a cluster's workers, which run the script of the process that started them.
    const started = i.metas.filter(
      (m) => m.startedBy !== undefined && i.metas.find((p) => p.pid === m.startedBy)?.script !== m.script,
    );
    if (started.length > 0)
      notes.push(
        `${i.instance}: counted ${processes(started.length)} the service started itself: ${scripts(started)}`,
      );
    const shortLived = i.metas.filter(
      (m) => m.startedBy === undefined && m.stop?.how === 'exit' && m.stop.exitCode === 0,
    );
    if (shortLived.length > 0 && shortLived.length < i.metas.length)
      notes.push(
        `${i.instance}: ${shortLived.map((m) => `${m.script ?? `process ${m.pid}`}`).join(', ')} ended by ${shortLived.length === 1 ? 'itself' : 'themselves'} (exit 0) before the stop; counted as short-lived processes of the service (name the service's "entry" to leave them out)`,
      );
  }
  return notes;
}

/** Copies every instrumented instance's dumps out of the engine into `rawDir/<instance>/`. */
export async function harvest(engine: Engine, rawDir: string): Promise<number> {
  rmSync(rawDir, { recursive: true, force: true });
  mkdirSync(rawDir, { recursive: true });
  const copied = await engine.copyCoverage(rawDir);
  // How each instance ended is kept beside the dumps, for `realstack coverage report` later.
  const exitCodes = Object.fromEntries(copied.map((c) => [c.instance, c.exitCode ?? null]));
  writeFileSync(path.join(rawDir, EXIT_CODES_FILE), `${JSON.stringify(exitCodes, null, 2)}\n`);
  return copied.length;
}

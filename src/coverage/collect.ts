import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/types.js';

/** What the spy writes beside the dumps (coverage-spy/index.cjs). */
export interface SpyMeta {
  service: string;
  instance: string;
  host: string;
  pid: number;
  sourceRoot: string;
  startedAt: string;
  snapshots: string[];
  stop: null | { signal?: string; how: string; exitCode?: number; stoppedAt?: string };
}

export interface InstanceDumps {
  service: string;
  instance: string;
  dumps: string[];
  metas: SpyMeta[];
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
    const metas = files
      .filter((f) => f.startsWith('realstack-meta-') && f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as SpyMeta);
    const service = metas[0]?.service ?? instance.replace(/-\d+$/, '');
    const exitCode = exitCodes[instance] ?? undefined;
    return {
      service,
      instance,
      dumps: files.filter((f) => /^coverage-\d+-\d+-\d+\.json$/.test(f)).map((f) => path.join(dir, f)),
      metas,
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
        message: `service ${service} has no instrumented instance: add it to the coverage overlay (docker-compose.coverage.yml).`,
      });
    }
  }
  return gaps;
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

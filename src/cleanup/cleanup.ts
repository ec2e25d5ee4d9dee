import type { ToolkitConfig } from '../config/toolkit.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { openRun } from '../stack/stack.js';
import { describeImages, removeImages, surveyImages } from './images.js';
import { parseAge, type RunVerdict, reapDead, surveyRuns } from './reaper.js';
import { deleteTestData, listTestData, recordCount, type ServiceTestData } from './test-data.js';

export interface CleanupOptions {
  /** List only (`test-cleanup-show`). */
  show: boolean;
  /** Only this run's test data ("TEST <run> ..."); all "TEST " data without it. */
  run?: string;
  /** Kept runs older than this are dead too (default 24h). */
  olderThan?: string;
  json: boolean;
}

const DEFAULT_MAX_AGE = '24h';

/** The stack whose services hold the test data: the one ps/logs/down act on, if it answers. */
async function dataStack(config: ToolkitConfig, runs: RunVerdict[], log: Log): Promise<Engine | undefined> {
  let engine: Engine;
  try {
    engine = await openRun(config);
  } catch (err) {
    log(`test data: ${(err as Error).message.replace(/\.$/, '')}; no service to ask`);
    return undefined;
  }
  if (runs.some((r) => r.runId === engine.run.runId && r.dead)) {
    log(`test data: run ${engine.run.runId} is dead; its data goes with it`);
    return undefined;
  }
  // Where the data is, as realstack.json says it now: an entry written after `up` (what
  // cleanup --show suggests) counts without a restart.
  for (const svc of engine.stack.services) {
    const now = config.project.services[svc.name];
    if (now?.sqlCleanup) svc.sqlCleanup = now.sqlCleanup;
    if (now?.testData) svc.testData = now.testData;
  }
  return engine;
}

function describeData(services: ServiceTestData[], scope: string): string {
  const lines = [`test data (${scope}):`];
  for (const s of services) {
    if (s.via === 'none') {
      lines.push(`  ${s.service}: ${s.note}`);
      continue;
    }
    lines.push(`  ${s.service} (${s.via === 'api' ? 'its test-data API' : 'SQL'}):`);
    for (const [kind, records] of Object.entries(s.records)) {
      lines.push(`    ${kind}: ${records.length}`);
      for (const r of records) {
        const detail = Object.entries(r.detail ?? {})
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ');
        lines.push(
          `      ${r.name === r.id ? r.id : `${r.name}  (${r.id})`}${detail ? `  [${detail}]` : ''}`,
        );
      }
    }
  }
  const unlooked = services.filter((s) => s.via === 'none' && !s.found).map((s) => s.service);
  const uncleaned = services.filter((s) => s.found).map((s) => `${s.service} (${s.found})`);
  lines.push(
    `  ${recordCount(services)} records in all${uncleaned.length ? `; found, but not declared: ${uncleaned.join(', ')}` : ''}${unlooked.length ? `; not looked at: ${unlooked.join(', ')}` : ''}`,
  );
  return lines.join('\n');
}

function describeRuns(runs: RunVerdict[]): string {
  if (runs.length === 0) return 'runs: none on this machine';
  return [
    'runs:',
    ...runs.map(
      (r) =>
        `  ${r.dead ? 'dead' : 'live'}  ${r.runId}  ${r.reason}${r.resources.length ? `\n        ${r.resources.join(', ')}` : ''}`,
    ),
  ].join('\n');
}

/**
 * `just test-cleanup-show` / `just test-cleanup`: the running stack's test data, listed or
 * deleted through the services' admin APIs, and the resources of dead runs, listed or reaped.
 */
export async function runCleanup(config: ToolkitConfig, options: CleanupOptions, log: Log): Promise<number> {
  const olderThan = options.olderThan ?? DEFAULT_MAX_AGE;
  const maxAgeMs = parseAge(olderThan);
  if (maxAgeMs === undefined)
    throw new UserError(`--older-than ${olderThan}: write a number with m, h or d, e.g. 90m, 24h, 2d.`, 2);
  if (options.run !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(options.run))
    throw new UserError(`--run ${options.run}: a run id is 1 to 64 letters, digits, _ or -.`, 2);
  const runs = await surveyRuns(config, maxAgeMs);
  const engine = await dataStack(config, runs, log);
  if (options.show) {
    const data = engine ? await listTestData(engine, config.env, options.run) : undefined;
    const images = await surveyImages(config);
    const scope = `run ${engine?.run.runId} (${engine?.name}), ${options.run ? `data of run ${options.run}` : 'every "TEST " record'}`;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ testData: data?.services ?? null, runs, images }, null, 2)}\n`,
      );
    } else {
      if (data) process.stdout.write(`${describeData(data.services, scope)}\n`);
      process.stdout.write(`${describeRuns(runs)}\n${describeImages(images)}\n`);
      if (runs.some((r) => r.dead) || images.length > 0)
        log('`npx realstack cleanup` removes the test data, the dead runs and those images');
    }
    return 0;
  }

  const removed = engine ? await deleteTestData(engine, config.env, options.run) : [];
  for (const r of removed) {
    const what = Object.entries(r.removed).map(([k, n]) => `${n} ${k}`);
    log(`removed from ${r.service}: ${what.length ? what.join(', ') : 'nothing'}`);
  }
  const reaped = await reapDead(config, runs, log);
  // After the dead runs: their containers no longer hold their images.
  const images = await surveyImages(config);
  const removedImages = await removeImages(config, images, log);
  if (removedImages > 0)
    log(`removed ${removedImages} image${removedImages === 1 ? '' : 's'} no run will use again`);
  const after = engine ? (await listTestData(engine, config.env, options.run)).services : [];
  const left = recordCount(after);
  const unlooked = after.filter((s) => s.via === 'none');
  log(
    `cleanup done: ${reaped.length} dead run${reaped.length === 1 ? '' : 's'} reaped; ${
      engine
        ? `${left} test records left in ${after.length - unlooked.length} services looked at`
        : 'no stack to ask for test data'
    }`,
  );
  for (const s of unlooked) log(`  ${s.service}: ${s.note}`);
  if (options.json) process.stdout.write(`${JSON.stringify({ removed, reaped, removedImages }, null, 2)}\n`);
  return left === 0 ? 0 : 1;
}

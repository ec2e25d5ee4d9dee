import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { deleteTestData, listTestData } from '../cleanup/test-data.js';
import type { ToolkitConfig } from '../config.js';
import { dockerEndpoint } from '../engine/docker.js';
import type { Engine, Instance } from '../engine/types.js';
import { readImagesState } from '../images/build.js';
import { chooseEngine, openRun } from '../stack/stack.js';
import { lastRunLogsFile, readLastRun } from '../testing/results.js';
import { hidePassword } from '../util/net.js';
import { tokenRoundTrip } from './round-trip.js';

export interface Finding {
  what: string;
  status: 'ok' | 'FAIL' | 'note';
  detail: string;
  /** What to do about it, for a FAIL or a note. */
  todo?: string;
}

// A service's log line worth showing beside a failing test: pino's warn level and above, or
// an answer of 4xx/5xx. Lines without pino's "time" cannot be placed and are left out.
const NOTABLE = /"level":(40|50|60)|"statusCode":[45]\d\d/;
const SLACK_MS = 1000;

/** The services' notable lines from while a failing file ran (its window, give or take). */
function matchingLines(logs: string[], window: { from: number; to: number }): string[] {
  return logs.filter((line) => {
    const time = Number(/"time":(\d+)/.exec(line)?.[1]);
    return time >= window.from - SLACK_MS && time <= window.to + SLACK_MS && NOTABLE.test(line);
  });
}

async function engineFindings(config: ToolkitConfig): Promise<Finding[]> {
  try {
    const choice = await chooseEngine(config);
    const found: Finding[] = [
      { what: 'engine', status: 'ok', detail: `${choice.name} for new stacks (${choice.reason})` },
    ];
    if (choice.name !== 'docker') return found;
    const base = readImagesState(config).base;
    const { docker } = dockerEndpoint(config.env);
    const images = base ? [base.NODE_IMAGE, base.POSTGRES_IMAGE] : [];
    const missing = [];
    for (const image of images)
      if (
        !(await docker
          .getImage(image)
          .inspect()
          .then(
            () => true,
            () => false,
          ))
      )
        missing.push(image);
    found.push(
      base && missing.length === 0
        ? { what: 'images', status: 'ok', detail: images.join(', ') }
        : {
            what: 'images',
            status: 'FAIL',
            detail: base ? `missing: ${missing.join(', ')}` : 'never built',
            todo: 'build them: `npx realstack images` (or `npx just images`)',
          },
    );
    return found;
  } catch (err) {
    return [{ what: 'engine', status: 'FAIL', detail: (err as Error).message }];
  }
}

async function serviceFindings(engine: Engine, instances: Instance[]): Promise<Finding[]> {
  const found: Finding[] = [];
  for (const i of instances) {
    const healthy = i.state === 'running' && (i.health === 'healthy' || i.health === 'none');
    if (healthy) {
      found.push({
        what: `service ${i.name}`,
        status: 'ok',
        detail: `${i.state}, ${i.health}${i.url ? `, ${hidePassword(i.url)}` : ''}`,
      });
      continue;
    }
    const tail = await engine.tail(i.name, 8).catch(() => []);
    found.push({
      what: `service ${i.name}`,
      status: 'FAIL',
      detail: `${i.state}${i.exitCode !== undefined ? ` (exit ${i.exitCode})` : ''}, ${i.health}${tail.length ? `\n${tail.map((l) => `      | ${l}`).join('\n')}` : ''}`,
      todo: `read its log (\`npx just logs ${i.service}\`), then restart the stack (\`npx just down && npx just up\`)`,
    });
  }
  return found;
}

async function credentialFindings(
  engine: Engine,
  instances: Instance[],
  config: ToolkitConfig,
): Promise<Finding[]> {
  const token = config.env.REALSTACK_ADMIN_TOKEN;
  if (!token)
    return [
      {
        what: 'admin credential',
        status: 'FAIL',
        detail: 'REALSTACK_ADMIN_TOKEN is not set',
        todo: 'start the stack with `npx just up`, which writes it into .env',
      },
    ];
  try {
    await listTestData(engine, token);
  } catch (err) {
    return [{ what: 'admin credential', status: 'FAIL', detail: (err as Error).message }];
  }
  const found: Finding[] = [{ what: 'admin credential', status: 'ok', detail: 'every admin API accepts it' }];
  for (const svc of engine.stack.services.filter((s) => s.tokenProbe)) {
    const url = instances.find((i) => i.service === svc.name && i.url)?.url;
    if (!url) continue;
    const run = `diag${randomBytes(3).toString('hex')}`;
    const trip = await tokenRoundTrip({
      resourceUrl: url,
      probePath: svc.tokenProbe as string,
      adminToken: token,
      run,
    });
    // Whatever the round trip created goes, passed or not.
    await deleteTestData(engine, token, run).catch(() => undefined);
    found.push(
      trip.failed
        ? {
            what: `token round trip to ${svc.name}`,
            status: 'FAIL',
            detail: `passed: ${trip.passed.join(' → ') || 'nothing'}\n      failed: ${trip.failed}`,
            todo: 'the failing step names the service at fault: read its log (`npx just logs SERVICE`)',
          }
        : { what: `token round trip to ${svc.name}`, status: 'ok', detail: trip.passed.join(' → ') },
    );
  }
  return found;
}

function lastRunFindings(config: ToolkitConfig): Finding[] {
  const last = readLastRun(config);
  if (!last) return [{ what: 'last run', status: 'note', detail: 'no test run recorded here yet' }];
  const verdict = `${last.finishedAt}, run ${last.runId} (${last.engine}): ${last.passed} passed, ${last.failed} failed`;
  if (last.failed === 0) return [{ what: 'last run', status: 'ok', detail: verdict }];
  const logs = existsSync(lastRunLogsFile(config))
    ? readFileSync(lastRunLogsFile(config), 'utf8').split('\n')
    : [];
  const lines = [verdict, ...last.failures.map((f) => `      not ok: ${f}`)];
  for (const window of last.failedFiles) {
    const matching = matchingLines(logs, window);
    lines.push(
      matching.length
        ? `      while ${window.file} ran, the services logged (last ${Math.min(matching.length, 15)} of ${matching.length}):`
        : `      while ${window.file} ran, the services logged no warning, error or 4xx/5xx answer`,
      ...matching.slice(-15).map((l) => `      | ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`),
    );
  }
  return [
    {
      what: 'last run',
      status: 'FAIL',
      detail: lines.join('\n'),
      todo: `run one failing file alone with its output: \`npx just test FILE\`; the JUnit report is ${path.relative(config.projectDir, last.junit)}`,
    },
  ];
}

/**
 * `just diagnose-tests`: the engine and images, each service's health, the admin credential,
 * a full token round trip, and the last run's failures beside the services' error lines; with
 * what to do for each problem found.
 */
export async function diagnose(config: ToolkitConfig): Promise<Finding[]> {
  const found = await engineFindings(config);
  let engine: Engine | undefined;
  try {
    engine = openRun(config);
  } catch (err) {
    found.push({
      what: 'stack',
      status: 'note',
      detail: (err as Error).message,
      todo: 'start one with `npx just up` to check the services too',
    });
  }
  if (engine) {
    found.push({
      what: 'stack',
      status: 'ok',
      detail: `run ${engine.run.runId} on the ${engine.name} engine`,
    });
    const instances = await engine.instances();
    const services = await serviceFindings(engine, instances);
    found.push(...services);
    if (services.every((f) => f.status === 'ok'))
      found.push(...(await credentialFindings(engine, instances, config)));
  }
  found.push(...lastRunFindings(config));
  return found;
}

export const describeFindings = (found: Finding[]): string =>
  found
    .map(
      (f) => `${f.status.padEnd(4)}  ${f.what.padEnd(28)} ${f.detail}${f.todo ? `\n      → ${f.todo}` : ''}`,
    )
    .join('\n');

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { listTestData } from '../cleanup/test-data.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { dockerEndpoint } from '../engine/docker.js';
import type { Engine, Instance } from '../engine/types.js';
import { present } from '../images/resolve.js';
import { readImagesState } from '../images/state.js';
import { readinessRule } from '../stack/probe.js';
import { chooseEngine, openRun } from '../stack/stack.js';
import { lastRunLogsFile, readLastRun } from '../testing/results.js';
import { testEnv } from '../testing/test-env.js';
import { hidePassword } from '../util/net.js';
import { lineTime, notable } from './log-lines.js';

export interface Finding {
  what: string;
  status: 'ok' | 'FAIL' | 'note';
  detail: string;
  /** What to do about it, for a FAIL or a note. */
  todo?: string;
}

const SLACK_MS = 1000;

/** The services' notable lines from while a failing file ran (its window, give or take). */
function matchingLines(logs: string[], window: { from: number; to: number }): string[] {
  return logs.filter((line) => {
    const time = lineTime(line);
    return (
      time !== undefined && time >= window.from - SLACK_MS && time <= window.to + SLACK_MS && notable(line)
    );
  });
}

async function engineFindings(config: ToolkitConfig): Promise<Finding[]> {
  try {
    const choice = await chooseEngine(config);
    const found: Finding[] = [
      { what: 'engine', status: 'ok', detail: `${choice.name} for new stacks (${choice.reason})` },
    ];
    if (choice.name !== 'docker') return found;
    const endpoint = dockerEndpoint(config.env);
    const images = [...new Set(Object.values(readImagesState(config).resolved))];
    const missing = [];
    for (const image of images) if (!(await present(endpoint, image))) missing.push(image);
    found.push(
      images.length > 0 && missing.length === 0
        ? { what: 'images', status: 'ok', detail: images.join(', ') }
        : {
            what: 'images',
            status: images.length === 0 ? 'note' : 'FAIL',
            detail: images.length === 0 ? 'not chosen yet' : `missing: ${missing.join(', ')}`,
            todo: 'pull or build them: `npx realstack images` (`up` does too)',
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
    const svc = engine.stack.services.find((s) => s.name === i.service);
    const how = !svc
      ? 'not in the stack'
      : svc.healthcheck && engine.name === 'docker'
        ? 'its health check'
        : readinessRule(svc);
    if (i.state === 'running' && (i.health === 'healthy' || i.health === 'none')) {
      found.push({
        what: `service ${i.name}`,
        status: 'ok',
        detail: `${i.state}, ${i.health} (${how})${i.url ? `, ${hidePassword(i.url)}` : ''}`,
      });
      continue;
    }
    const tail = await engine.tail(i.name, 8).catch(() => []);
    found.push({
      what: `service ${i.name}`,
      status: 'FAIL',
      detail: `${i.state}${i.exitCode !== undefined ? ` (exit ${i.exitCode})` : ''}, ${i.health} (${how})${tail.length ? `\n${tail.map((l) => `      | ${l}`).join('\n')}` : ''}`,
      todo: `read its log (\`npx realstack logs ${i.service}\`), then restart the stack (\`npx realstack down && npx realstack up\`)`,
    });
  }
  return found;
}

/** The test-data APIs the stack declares, asked once with their tokens; nothing is sent elsewhere. */
async function testDataFindings(engine: Engine, config: ToolkitConfig): Promise<Finding[]> {
  const declared = engine.stack.services.filter((s) => s.testData || s.sqlCleanup?.length);
  if (declared.length === 0)
    return [
      {
        what: 'test data',
        status: 'note',
        detail:
          'not checked: no service declares a test-data API ("testData") or "sqlCleanup" in realstack.json',
      },
    ];
  try {
    const { services } = await listTestData(engine, config.env);
    return services
      .filter((s) => s.via !== 'none')
      .map((s) => ({
        what: `test data of ${s.service}`,
        status: 'ok' as const,
        detail:
          s.via === 'api'
            ? 'its test-data API answers and accepts the token'
            : 'its sqlCleanup tables answer',
      }));
  } catch (err) {
    return [{ what: 'test data', status: 'FAIL', detail: (err as Error).message }];
  }
}

/** The project's own checks (realstack.json diagnose.checks), each with the stack's URLs. */
async function customFindings(
  engine: Engine,
  instances: Instance[],
  config: ToolkitConfig,
): Promise<Finding[]> {
  const checks = config.project.diagnose.checks;
  if (checks.length === 0)
    return [
      {
        what: 'checks of your own',
        status: 'note',
        detail:
          'none declared: a round trip through your services (a login, a token) can be added to realstack.json diagnose.checks',
      },
    ];
  const found: Finding[] = [];
  for (const check of checks) {
    const [cmd, ...args] = check.command as [string, ...string[]];
    const res = await execa(cmd, args, {
      cwd: config.projectDir,
      env: { ...config.env, ...testEnv(engine, instances, config.project, config.env) },
      reject: false,
      all: true,
      timeout: 120_000,
    });
    const out = String(res.all ?? '')
      .trim()
      .split('\n')
      .filter(Boolean);
    found.push(
      res.exitCode === 0
        ? { what: check.name, status: 'ok', detail: out.at(-1) ?? 'passed' }
        : {
            what: check.name,
            status: 'FAIL',
            detail: `${check.command.join(' ')} exited ${res.exitCode ?? res.signal}\n${out
              .slice(-10)
              .map((l) => `      | ${l}`)
              .join('\n')}`,
            todo: 'its output names the step that failed; read the log of the service at fault (`npx realstack logs SERVICE`)',
          },
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
      todo: `run one failing file alone with its output: \`npx realstack test FILE\`; the JUnit report is ${path.relative(config.projectDir, last.junit)}`,
    },
  ];
}

/**
 * `just diagnose-tests`: the engine and images, each service's health (by the rule it is
 * judged by), the test-data APIs the stack declares, the project's own checks, and the last
 * run's failures beside the services' warning and error lines; with what to do for each.
 */
export async function diagnose(config: ToolkitConfig): Promise<Finding[]> {
  const found = await engineFindings(config);
  let engine: Engine | undefined;
  try {
    engine = await openRun(config);
  } catch (err) {
    found.push({
      what: 'stack',
      status: 'note',
      detail: (err as Error).message,
      todo: 'start one with `npx realstack up` to check the services too',
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
      found.push(
        ...(await testDataFindings(engine, config)),
        ...(await customFindings(engine, instances, config)),
      );
    else
      found.push({
        what: 'test data and checks',
        status: 'note',
        detail: 'not checked while a service is down',
      });
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

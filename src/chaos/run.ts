import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PerfProfile } from '../config/project.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { instrument, spyOptions } from '../coverage/instrument.js';
import { coveragePaths, describeOutcome, reportCoverage } from '../coverage/pipeline.js';
import { dockerEndpoint } from '../engine/docker.js';
import { describeStop } from '../engine/stop.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { stackToken } from '../perf/run.js';
import { ensureSecrets } from '../secrets.js';
import { DUMP_FILE, readMetas } from '../spy/files.js';
import { projectStack } from '../stack/compose.js';
import { prepareRun } from '../stack/prepare.js';
import type { ServiceSpec, StackSpec } from '../stack/spec.js';
import { chooseEngine, startStack } from '../stack/stack.js';
import { resultsFile } from '../testing/results.js';
import { harvestRun } from '../testing/run-coverage.js';
import { downOnce } from '../testing/run-tests.js';
import { writeFileWhole } from '../util/files.js';
import { apiProbe, type Check, sqlProbe } from './data.js';
import { throughProxy } from './links.js';
import { FaultProxy } from './proxy.js';
import { type ChaosContext, runScenario, SCENARIOS, type ScenarioResult } from './scenarios.js';

/** The service the faults go to, and its database: chaos.service / chaos.database, else inferred. */
function targets(config: ToolkitConfig, stack: StackSpec): { target: ServiceSpec; database?: ServiceSpec } {
  const chaos = config.project.chaos;
  const named = (name: string, what: string) => {
    const s = stack.services.find((x) => x.name === name);
    if (!s)
      throw new UserError(
        `realstack.json chaos.${what} names "${name}", which is not a service; the services are ${stack.services.map((x) => x.name).join(', ')}.`,
      );
    return s;
  };
  const target = chaos.service
    ? named(chaos.service, 'service')
    : stack.services.find((s) => s.role === 'node' && s.containerPort !== undefined);
  if (!target)
    throw new UserError(
      'no Node service with an HTTP port to aim faults at: name one in realstack.json chaos.service.',
    );
  const postgres = stack.services.filter((s) => s.role === 'postgres');
  const database = chaos.database
    ? named(chaos.database, 'database')
    : (postgres.find((p) => target.dependsOn.some((d) => d.service === p.name)) ??
      (postgres.length === 1 ? postgres[0] : undefined));
  return { target, ...(database ? { database } : {}) };
}

/** Where a container reaches a process of this machine: the default bridge's gateway (host-gateway). */
async function bridgeGateway(config: ToolkitConfig): Promise<string> {
  const { docker } = dockerEndpoint(config.env);
  const net = await docker.getNetwork('bridge').inspect();
  // The IPAM config names the gateway when the daemon was told one; else it is the bridge's own address.
  const ipam = (net.IPAM?.Config ?? []) as { Gateway?: string; Subnet?: string }[];
  const named = ipam.find((c) => c.Gateway)?.Gateway;
  const options = (net.Options ?? {}) as Record<string, string>;
  const bridge = options['com.docker.network.bridge.name'] ?? 'docker0';
  const own = os.networkInterfaces()[bridge]?.find((a) => a.family === 'IPv4')?.address;
  // A bridge with no container yet is down and has no address listed: docker's default is the subnet's first.
  const subnet = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(ipam.find((c) => c.Subnet)?.Subnet ?? '');
  const first = subnet ? `${subnet[1]}.${subnet[2]}.${subnet[3]}.${Number(subnet[4]) + 1}` : undefined;
  const gateway = named ?? own ?? first;
  if (!gateway)
    throw new UserError(
      `no address of the docker bridge (${bridge}) on this machine: the chaos proxy has nowhere to listen that containers reach (is the daemon remote?).`,
    );
  return gateway;
}

/** After the harvest: each killed and restarted instance kept its restarted process's coverage. */
function restartedCoverage(rawDir: string, restarted: string[]): Check[] {
  return restarted.map((instance) => {
    const dir = path.join(rawDir, instance);
    const lives = readMetas(dir).filter((m) => !m.helper);
    const files = existsSync(dir) ? readdirSync(dir) : [];
    // In a container every life is PID 1: a dump belongs to the lives that reached their exit.
    const killed = lives.filter((m) => m.stop === null);
    const dumped = lives.filter(
      (m) => m.stop !== null && files.some((f) => DUMP_FILE.exec(f)?.[1] === String(m.pid)),
    );
    return {
      what: `${instance}: the restarted process's coverage harvested`,
      ok: dumped.length > 0 && killed.length > 0,
      detail: `${lives.length} processes: ${killed.length} killed (no dump: named, not counted), ${dumped.length} with a dump`,
    };
  });
}

const chaosFile = (config: ToolkitConfig) => resultsFile(config, 'chaos.json');

export function chaosTable(results: ScenarioResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(
      `${r.scenario.padEnd(11)} ${r.skipped ? 'skipped' : r.ok ? 'ok' : 'FAIL'}${r.skipped ? `: ${r.skipped}` : ''}`,
    );
    for (const c of r.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}: ${c.detail}`);
  }
  return lines.join('\n');
}

/**
 * `just chaos [SCENARIO...]`: a fresh stack of its own (the coverage spy in every Node service, a
 * fault proxy between the target service and its database), each scenario in turn, then a
 * graceful stop, the harvest (restarted processes included) and the coverage report under
 * coverage/chaos/, where the error paths the faults took show. test-results/chaos.json.
 */
export async function runChaos(toolkit: ToolkitConfig, names: string[], log: Log): Promise<number> {
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0)
    throw new UserError(
      `no chaos scenario ${unknown.map((n) => `"${n}"`).join(', ')}; the scenarios are ${SCENARIOS.map((s) => s.name).join(', ')}.`,
      2,
    );
  const scenarios = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const base = ensureSecrets(toolkit);
  const config = { ...base, coverageDir: path.join(base.coverageDir, 'chaos') };
  const chaos = config.project.chaos;
  const { target, database } = targets(config, projectStack(config));
  const engineChoice = await chooseEngine(config);
  if (engineChoice.name === 'external')
    throw new UserError('chaos makes faults in a stack it runs: use the docker or process engine.', 2);
  const load: PerfProfile = chaos.load
    ? (config.project.perf.profiles[chaos.load] ??
      (() => {
        throw new UserError(
          `realstack.json chaos.load names "${chaos.load}", which is no perf profile; the profiles are ${Object.keys(config.project.perf.profiles).join(', ') || 'none'}.`,
        );
      })())
    : {
        service: target.name,
        method: 'GET',
        path: target.healthPath ?? '/',
        headers: {},
        auth: false,
        connections: 2,
        requests: chaos.requests,
      };

  const spy = spyOptions(config);
  let engine: Engine | undefined;
  const docker = engineChoice.name === 'docker';
  const proxy = database
    ? await FaultProxy.listen(docker ? await bridgeGateway(config) : '127.0.0.1', async () => {
        const url = (await engine?.instances())?.find((i) => i.service === database.name)?.url;
        const u = url ? new URL(url) : undefined;
        if (!u?.port) throw new Error(`${database.name} has no host port`);
        return { host: u.hostname, port: Number(u.port) };
      })
    : undefined;
  const results: ScenarioResult[] = [];
  try {
    const started = await startStack(config, {
      log,
      created: (e) => {
        engine = e;
      },
      prepare: prepareRun(config, log),
      overlay: (stack) => {
        const instrumented = instrument(stack, spy);
        if (!proxy || !database) return instrumented;
        const linked = throughProxy(instrumented, target.name, database.name, {
          host: docker ? 'host.docker.internal' : '127.0.0.1',
          port: proxy.port,
          ...(docker ? { extraHost: 'host.docker.internal:host-gateway' } : {}),
        });
        for (const r of linked.rewrites) log(`  chaos proxy: ${target.name} ${r.variable}=${r.to}`);
        return linked.stack;
      },
    });
    engine = started.engine;
    const takeDown = downOnce(engine, log);
    try {
      const instance = started.instances.find((i) => i.service === target.name);
      if (!instance?.url)
        throw new UserError(`${target.name} has no URL on the host: chaos needs to send it requests.`);
      const auth = load.auth || chaos.data?.write.auth || chaos.data?.read.auth;
      const token = auth
        ? await stackToken(engine, config.env, config.project, config.projectDir)
        : undefined;
      const dbUrl = database && started.instances.find((i) => i.service === database.name)?.url;
      const ctx: ChaosContext = {
        engine,
        config: chaos,
        log,
        instance: instance.name,
        url: instance.url,
        load,
        token,
        ...(database
          ? { database: started.instances.find((i) => i.service === database.name)?.name as string }
          : {}),
        ...(proxy ? { proxy } : {}),
        ...(chaos.data
          ? { data: apiProbe(() => ctx.url, chaos.data, token) }
          : dbUrl
            ? { data: sqlProbe(dbUrl) }
            : {}),
      };
      log(
        `chaos: faults at ${instance.name}${database ? ` and its database ${database.name}` : ''}; data checked by ${ctx.data?.how ?? 'nothing (no chaos.data and no database)'}`,
      );
      for (const s of scenarios) {
        const r = await runScenario(s, ctx);
        results.push(r);
        log(`chaos ${s.name}: ${r.skipped ? `skipped (${r.skipped})` : r.ok ? 'ok' : 'FAIL'}`);
      }
      log('stopping the services gracefully, so that every process flushes its coverage');
      for (const r of await engine.stop()) log(describeStop(r));
      await harvestRun(engine, config, log);
    } finally {
      await takeDown();
    }
  } finally {
    await proxy?.close();
  }
  const killed = results.some((r) => r.scenario === 'kill' && !r.skipped) ? [`${target.name}-1`] : [];
  const coverageChecks = restartedCoverage(coveragePaths(config.coverageDir).raw, killed);
  if (coverageChecks.length)
    results.push({ scenario: 'coverage', ok: coverageChecks.every((c) => c.ok), checks: coverageChecks });
  const outcome = await reportCoverage(
    (engine as Engine).stack,
    { ...config.coverage, global: {}, files: {}, diff: {} },
    config.coverageDir,
    log,
  );
  describeOutcome(outcome, log);
  log(
    `coverage of the chaos run: ${path.relative(config.projectDir, config.coverageDir)}/ (${Object.entries(
      outcome.lines,
    )
      .map(([s, p]) => `${s} ${p}%`)
      .join(', ')})`,
  );
  writeFileWhole(
    chaosFile(config),
    `${JSON.stringify({ ok: results.every((r) => r.ok), scenarios: results }, null, 2)}\n`,
  );
  process.stdout.write(`${chaosTable(results)}\n`);
  const failed = results.filter((r) => !r.ok).map((r) => r.scenario);
  log(failed.length ? `chaos failed: ${failed.join(', ')}` : 'chaos: every hypothesis held');
  return failed.length ? 1 : 0;
}

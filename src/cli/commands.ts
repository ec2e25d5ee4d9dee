import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { ToolkitConfig } from '../config/toolkit.js';
import { describeStop } from '../engine/stop.js';
import { UserError } from '../errors.js';
import type { LoadChoice } from '../lifecycle/change.js';
import type { StackSpec } from '../stack/spec.js';
import { psTable, servicesView } from './format.js';

type Values = Record<string, unknown>;

export interface Command {
  options?: ParseArgsConfig['options'];
  /** Arguments go through untouched (to tap). */
  passThrough?: boolean;
  run(config: ToolkitConfig, values: Values, positionals: string[]): Promise<number>;
}

const log = (message: string) => process.stderr.write(`${message}\n`);

function parseScale(values: unknown, flag = '--scale '): Record<string, number> {
  const scale: Record<string, number> = {};
  for (const item of (values as string[] | undefined) ?? []) {
    const m = /^([\w.-]+)=(\d+)$/.exec(item);
    if (!m || Number(m[2]) < 1)
      throw new UserError(`${flag}${item}: write SERVICE=N with N at least 1, e.g. ${flag}api=2`, 2);
    scale[m[1] as string] = Number(m[2]);
  }
  return scale;
}

/** The bounded load that `scale` and `restart` run during the change (docs/lifecycle.md). */
const loadOptions: ParseArgsConfig['options'] = {
  load: { type: 'string' },
  profile: { type: 'string' },
  rate: { type: 'string' },
};

function loadChoice(values: Values): LoadChoice {
  const rate = values.rate === undefined ? 50 : Number(values.rate);
  if (!Number.isInteger(rate) || rate < 0 || rate > 1000)
    throw new UserError(
      `--rate ${values.rate}: give requests per second, a whole number from 0 (no load) to 1000`,
      2,
    );
  const path = values.load as string | undefined;
  if (path !== undefined && !path.startsWith('/'))
    throw new UserError(`--load ${path}: give the path to request, starting with /, e.g. --load /health`, 2);
  return {
    rate,
    ...(path ? { path } : {}),
    ...(values.profile ? { profile: values.profile as string } : {}),
  };
}

/** The one service a command acts on, or `usage` when none or several are named. */
function oneService(positionals: string[], usage: string): string {
  const [service, ...rest] = positionals;
  if (!service || rest.length) throw new UserError(usage, 2);
  return service;
}

export const commands: Record<string, Command> = {
  up: {
    options: {
      scale: { type: 'string', multiple: true },
      coverage: { type: 'boolean' },
      profile: { type: 'string', multiple: true },
    },
    async run(config, values) {
      const { instrument, spyOptions } = await import('../coverage/instrument.js');
      const { ensureSecrets } = await import('../secrets.js');
      const { startStack } = await import('../stack/stack.js');
      const { prepareRun } = await import('../stack/prepare.js');
      const profiles = (values.profile as string[] | undefined) ?? [];
      if (profiles.length > 0) config = { ...config, profiles };
      const spy = values.coverage ? spyOptions(config) : undefined;
      const { engine, instances } = await startStack(ensureSecrets(config), {
        scale: parseScale(values.scale),
        ...(spy ? { overlay: (stack: StackSpec) => instrument(stack, spy) } : {}),
        keep: true,
        log,
        prepare: prepareRun(config, log),
      });
      log(`ready: run ${engine.run.runId} on the ${engine.name} engine`);
      process.stdout.write(`${psTable(instances)}\n`);
      return 0;
    },
  },

  down: {
    async run(config) {
      const { openRun } = await import('../stack/stack.js');
      const engine = await openRun(config);
      const results = await engine.stop();
      for (const r of results) log(describeStop(r));
      await engine.down();
      if (engine.name === 'docker') {
        const { countByLabel, dockerEndpoint, RUN_LABEL } = await import('../engine/docker.js');
        const left = await countByLabel(
          dockerEndpoint(config.env).docker,
          `${RUN_LABEL}=${engine.run.runId}`,
        );
        if (left > 0)
          throw new UserError(`${left} resources labelled ${RUN_LABEL}=${engine.run.runId} are still there`);
      }
      log(`run ${engine.run.runId} is down; nothing of it is left`);
      return 0;
    },
  },

  ps: {
    options: { json: { type: 'boolean' } },
    async run(config, values) {
      const { openRun } = await import('../stack/stack.js');
      const engine = await openRun(config);
      const instances = await engine.instances();
      if (values.json)
        process.stdout.write(
          `${JSON.stringify({ runId: engine.run.runId, services: servicesView(engine, instances) }, null, 2)}\n`,
        );
      else process.stdout.write(`run ${engine.run.runId} (${engine.name})\n${psTable(instances)}\n`);
      return 0;
    },
  },

  env: {
    options: { json: { type: 'boolean' } },
    async run(config, values) {
      const { openRun } = await import('../stack/stack.js');
      const { testEnv } = await import('../testing/test-env.js');
      const engine = await openRun(config);
      const env = testEnv(engine, await engine.instances(), config.project, config.env);
      // Shell-quoted, for `eval "$(npx realstack env)"` before a test runner of your own.
      const quote = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
      process.stdout.write(
        values.json
          ? `${JSON.stringify(env, null, 2)}\n`
          : Object.entries(env)
              .map(([k, v]) => `export ${k}=${quote(v)}\n`)
              .join(''),
      );
      return 0;
    },
  },

  logs: {
    options: { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' } },
    async run(config, values, positionals) {
      const { openRun } = await import('../stack/stack.js');
      const engine = await openRun(config);
      const service = positionals[0];
      if (service && !engine.stack.services.some((s) => s.name === service)) {
        throw new UserError(
          `there is no service "${service}"; the services are ${engine.stack.services.map((s) => s.name).join(', ')}.`,
          2,
        );
      }
      const tail = values.tail === undefined ? undefined : Number(values.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0))
        throw new UserError('--tail takes a whole number of lines', 2);
      await engine.logs(
        service,
        { follow: Boolean(values.follow), ...(tail !== undefined ? { tail } : {}) },
        process.stdout,
      );
      return 0;
    },
  },

  wait: {
    async run(config) {
      const { waitReady } = await import('../stack/readiness.js');
      const { openRun } = await import('../stack/stack.js');
      const engine = await openRun(config);
      const instances = await waitReady(engine, { timeoutMs: config.readyTimeoutMs });
      process.stdout.write(`${psTable(instances)}\n`);
      return 0;
    },
  },

  scale: {
    options: loadOptions,
    async run(config, values, positionals) {
      const { changeUnderLoad } = await import('../lifecycle/change.js');
      const { scaleService } = await import('../lifecycle/scale.js');
      const { openRun } = await import('../stack/stack.js');
      const targets = Object.entries(parseScale(positionals, 'scale '));
      if (targets.length === 0)
        throw new UserError(
          'realstack scale SERVICE=N [SERVICE=N...]: say how many instances, e.g. api=2',
          2,
        );
      const engine = await openRun(config);
      let failed = 0;
      for (const [service, n] of targets) {
        const summary = await changeUnderLoad(config, engine, service, loadChoice(values), log, (o) =>
          scaleService(engine, service, n, o),
        );
        failed += summary?.failed ?? 0;
      }
      process.stdout.write(`${psTable(await engine.instances())}\n`);
      return failed > 0 ? 1 : 0;
    },
  },

  restart: {
    options: { ...loadOptions, rolling: { type: 'boolean' } },
    async run(config, values, positionals) {
      const { changeUnderLoad } = await import('../lifecycle/change.js');
      const { restartService } = await import('../lifecycle/scale.js');
      const { openRun } = await import('../stack/stack.js');
      const service = oneService(positionals, 'realstack restart SERVICE [--rolling]: name one service');
      const engine = await openRun(config);
      const rolling = values.rolling === true;
      const summary = await changeUnderLoad(config, engine, service, loadChoice(values), log, (o) =>
        restartService(engine, service, rolling, o),
      );
      process.stdout.write(`${psTable(await engine.instances())}\n`);
      // A restart all at once has its downtime by design; a rolling one promises none.
      return rolling && (summary?.failed ?? 0) > 0 ? 1 : 0;
    },
  },

  update: {
    options: loadOptions,
    async run(config, values, positionals) {
      const { changeUnderLoad } = await import('../lifecycle/change.js');
      const { runningInstances, updateService } = await import('../lifecycle/scale.js');
      const { buildForRun } = await import('../stack/prepare.js');
      const { openRun } = await import('../stack/stack.js');
      const service = oneService(
        positionals,
        'realstack update SERVICE: name one service to roll onto its current build',
      );
      const engine = await openRun(config);
      await runningInstances(engine, service);
      await buildForRun(config, log, engine.name, engine.stack);
      const summary = await changeUnderLoad(config, engine, service, loadChoice(values), log, (o) =>
        updateService(engine, service, o),
      );
      process.stdout.write(`${psTable(await engine.instances())}\n`);
      return (summary?.failed ?? 0) > 0 ? 1 : 0;
    },
  },

  images: {
    options: { 'stand-ins': { type: 'boolean' } },
    async run(config, values) {
      const { daemonAnswers, dockerEndpoint } = await import('../engine/docker.js');
      const { ensureImages } = await import('../images/build.js');
      const { runHostBuild } = await import('../images/host-build.js');
      const { projectStack } = await import('../stack/compose.js');
      const endpoint = dockerEndpoint(config.env);
      if (!(await daemonAnswers(endpoint))) {
        throw new UserError(
          `no Docker daemon answers at ${endpoint.host}: images are only needed by the docker engine. Start dockerd, or use REALSTACK_ENGINE=process.`,
        );
      }
      const started = Date.now();
      await runHostBuild(config, log, 'docker');
      const state = await ensureImages(config, projectStack(config), log, {
        reuse: false,
        standIns: Boolean(values['stand-ins']),
      });
      const runs = Object.entries(state.run.images).map(([svc, image]) => `${svc} ${image}`);
      log(
        `images ready in ${((Date.now() - started) / 1000).toFixed(1)}s${runs.length ? `: ${runs.join(', ')}` : ''}`,
      );
      return 0;
    },
  },

  test: {
    passThrough: true,
    async run(config, _values, args) {
      const { runTests } = await import('../testing/run-tests.js');
      return runTests(config, args, log);
    },
  },

  perf: {
    passThrough: true,
    async run(config, _values, args) {
      const { runPerf } = await import('../perf/run.js');
      return runPerf(config, args, log);
    },
  },

  db: {
    options: { service: { type: 'string' }, out: { type: 'string' } },
    async run(config, values, positionals) {
      const { backup, databaseOf, restore } = await import('../lifecycle/db-backup.js');
      const { openRun } = await import('../stack/stack.js');
      const [action, file] = positionals;
      if (action !== 'backup' && action !== 'restore')
        throw new UserError(
          'realstack db backup [--out FILE] | db restore FILE (either with --service S)',
          2,
        );
      if (action === 'restore' && !file)
        throw new UserError('realstack db restore FILE: name the backup to restore.', 2);
      const engine = await openRun(config);
      const { service, url } = await databaseOf(engine, values.service as string | undefined);
      if (action === 'backup') {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const out = path.resolve(
          (values.out as string | undefined) ??
            path.join(config.stateDir, 'backups', `${service}-${stamp}.sql.gz`),
        );
        const started = performance.now();
        const h = await backup(service, url, out);
        const rows = h.tables.reduce((n, t) => n + t.rows, 0);
        log(
          `backed up ${service} (${h.database}, PostgreSQL ${h.server}): ${h.tables.length} tables, ${rows} rows, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
        process.stdout.write(`${out}\n`);
        return 0;
      }
      const h = await restore(url, path.resolve(file as string));
      log(
        `restored ${service} from ${file} (made ${h.createdAt}): ${h.tables.length} tables, ${h.tables.reduce((n, t) => n + t.rows, 0)} rows`,
      );
      return 0;
    },
  },

  chaos: {
    async run(config, _values, positionals) {
      const { runChaos } = await import('../chaos/run.js');
      return runChaos(config, positionals, log);
    },
  },

  gates: {
    options: { json: { type: 'boolean' } },
    async run(config, values, positionals) {
      const { gatesTable, runGates } = await import('../gates/quality-gates.js');
      const results = await runGates(config, positionals, log);
      if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else process.stdout.write(`${gatesTable(results)}\n`);
      const failed = results.filter((r) => !r.ok).map((r) => r.gate);
      log(failed.length ? `quality gates failed: ${failed.join(', ')}` : 'quality gates: all passed');
      return failed.length ? 1 : 0;
    },
  },

  flakiness: {
    options: { all: { type: 'boolean' }, json: { type: 'boolean' } },
    async run(config, values) {
      const { flakinessReport, flakinessTable, writeFlakinessHtml } = await import('../flaky/report.js');
      const { resultsFile } = await import('../testing/results.js');
      const report = await flakinessReport(config, Boolean(values.all));
      if (values.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return 0;
      }
      process.stdout.write(`${flakinessTable(report)}\n`);
      if (report.runs > 0)
        log(
          `as a page: ${path.relative(config.projectDir, writeFlakinessHtml(resultsFile(config, 'flakiness.html'), report))}`,
        );
      return 0;
    },
  },

  quarantine: {
    options: { json: { type: 'boolean' } },
    async run(config, values) {
      const { flakinessReport } = await import('../flaky/report.js');
      const { quarantined } = await flakinessReport(config);
      if (values.json) process.stdout.write(`${JSON.stringify(quarantined, null, 2)}\n`);
      else if (quarantined.length === 0) log('no test is quarantined');
      else
        process.stdout.write(
          `${quarantined.map((q) => `${q.file}: ${q.test}\n    since ${q.since.slice(0, 16).replace('T', ' ')}: ${q.reason}`).join('\n')}\n`,
        );
      return 0;
    },
  },

  'fix-quarantined': {
    options: { times: { type: 'string' } },
    async run(config, values) {
      const { fixQuarantined } = await import('../testing/fix-quarantined.js');
      return fixQuarantined(config, values.times === undefined ? undefined : Number(values.times), log);
    },
  },

  cleanup: {
    options: {
      show: { type: 'boolean' },
      run: { type: 'string' },
      'older-than': { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(config, values) {
      const { runCleanup } = await import('../cleanup/cleanup.js');
      return runCleanup(
        config,
        {
          show: Boolean(values.show),
          json: Boolean(values.json),
          ...(values.run !== undefined ? { run: values.run as string } : {}),
          ...(values['older-than'] !== undefined ? { olderThan: values['older-than'] as string } : {}),
        },
        log,
      );
    },
  },

  diagnose: {
    async run(config) {
      const { describeFindings, diagnose } = await import('../diagnose/diagnose.js');
      const found = await diagnose(config);
      process.stdout.write(`${describeFindings(found)}\n`);
      const failed = found.filter((f) => f.status === 'FAIL').length;
      log(failed ? `${failed} problem${failed === 1 ? '' : 's'} found` : 'no problem found');
      return failed ? 1 : 0;
    },
  },

  'test-coverage': {
    passThrough: true,
    async run(config, _values, args) {
      const { runTestsWithCoverage } = await import('../testing/run-coverage.js');
      return runTestsWithCoverage(config, args, log);
    },
  },

  merge: {
    async run(config, _values, dirs) {
      const { mergeShards } = await import('../testing/merge.js');
      return mergeShards(config, dirs, log);
    },
  },

  impact: {
    passThrough: true,
    async run(config, _values, args) {
      const { impactAnalysis } = await import('../testing/run-impact.js');
      await impactAnalysis(config, args, log);
      return 0;
    },
  },

  'test-impact': {
    passThrough: true,
    async run(config, _values, args) {
      const { runImpactTests } = await import('../testing/run-impact.js');
      return runImpactTests(config, args, log);
    },
  },

  coverage: {
    options: { base: { type: 'string' } },
    async run(config, values, positionals) {
      const { stringify: stringifyYaml } = await import('yaml');
      const { describeDiffCoverage, diffCoverage, writeDiffMarkdown } = await import('../coverage/diff.js');
      const { checkGatesOfLastReport } = await import('../coverage/gates.js');
      const { overlayOf, spyOptions } = await import('../coverage/instrument.js');
      const { describeOutcome, reportCoverage } = await import('../coverage/pipeline.js');
      const { readImpactMap, whoRan } = await import('../impact/map.js');
      const { projectStack } = await import('../stack/compose.js');
      const { openRun } = await import('../stack/stack.js');
      const { harvestRun } = await import('../testing/run-coverage.js');
      const [action] = positionals;
      if (action === 'snapshot') {
        const { signal } = spyOptions(config);
        const sent = await (await openRun(config)).signal(signal);
        if (sent.length === 0)
          throw new UserError(
            'no instrumented process is running: start the stack with the coverage spy (`npx realstack up --coverage`).',
          );
        log(`${signal} sent to ${sent.join(', ')}: each writes a coverage dump now and goes on from zero`);
        return 0;
      }
      if (action === 'harvest') {
        const engine = await openRun(config);
        for (const r of await engine.stop()) log(describeStop(r));
        await harvestRun(engine, config, log);
        return 0;
      }
      if (action === 'report') {
        const outcome = await reportCoverage(projectStack(config), config.coverage, config.coverageDir, log);
        return describeOutcome(outcome, log) ? 0 : 1;
      }
      if (action === 'check') {
        const failures = checkGatesOfLastReport(config.projectDir, config.coverageDir, config.coverage);
        const ok = describeOutcome({ gaps: [], allowedGaps: [], gateFailures: failures, notes: [] }, log);
        if (ok) log('coverage gates: all met');
        return ok ? 0 : 1;
      }
      if (action === 'who') {
        const where = /^(.+):(\d+)$/.exec(positionals[1] ?? '');
        if (!where)
          throw new UserError('realstack coverage who FILE:LINE, e.g. services/api/src/routes.ts:42', 2);
        const file = path.relative(config.projectDir, path.resolve(where[1] as string));
        const line = Number(where[2]);
        const map = readImpactMap(config);
        if (!map.sources[file])
          throw new UserError(
            `${file}: no recorded test or start ran it (the map knows ${Object.keys(map.sources).length} service files; record again after a change: just test-impact-record).`,
          );
        const { tests, startup } = whoRan(map, file, line);
        if (startup) log(`${file}:${line} ran as the services started (before every test)`);
        if (tests.length === 0 && !startup) log(`${file}:${line}: no recorded test ran it`);
        if (tests.length > 0) process.stdout.write(`${tests.join('\n')}\n`);
        return 0;
      }
      if (action === 'diff') {
        const base = values.base as string | undefined;
        if (!base)
          throw new UserError(
            'realstack coverage diff --base REF (the branch a change goes into, e.g. main)',
            2,
          );
        const d = await diffCoverage(config, projectStack(config), base);
        process.stdout.write(`${describeDiffCoverage(d)}\n`);
        log(`markdown summary: ${path.relative(config.projectDir, writeDiffMarkdown(config, d))}`);
        return d.failed ? 1 : 0;
      }
      if (action === 'overlay') {
        process.stdout.write(`${stringifyYaml(overlayOf(projectStack(config), spyOptions(config)))}`);
        return 0;
      }
      throw new UserError(
        `realstack coverage ${action ?? ''}: use snapshot, harvest, report, check, who, diff or overlay`,
        2,
      );
    },
  },

  init: {
    options: { force: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
    async run(config, values) {
      const { init } = await import('../init/init.js');
      return init(config, { force: Boolean(values.force), dryRun: Boolean(values['dry-run']) }, log);
    },
  },

  config: {
    options: { explain: { type: 'boolean' }, json: { type: 'boolean' } },
    async run(config, values) {
      const { projectStack } = await import('../stack/compose.js');
      const { configSummary, explainStack } = await import('./explain.js');
      const stack = projectStack(config);
      if (values.json) process.stdout.write(`${JSON.stringify({ ...stack, model: undefined }, null, 2)}\n`);
      else
        process.stdout.write(
          `${values.explain ? explainStack(stack, config) : configSummary(config, stack)}\n`,
        );
      return 0;
    },
  },

  doctor: {
    async run(config) {
      const { execa } = await import('execa');
      const { findComposeCli } = await import('../engine/compose-cli.js');
      const { daemonAnswers, dockerEndpoint } = await import('../engine/docker.js');
      const { postgresBinDir } = await import('../engine/postgres-binaries.js');
      const { readImagesState } = await import('../images/state.js');
      // 'note' is worth knowing but blocks nothing (e.g. images that `up` will build anyway).
      const checks: { what: string; ok: boolean | 'note'; detail: string }[] = [];
      const add = (what: string, ok: boolean | 'note', detail: string) => checks.push({ what, ok, detail });
      const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
      add('node', major > 20 || (major === 20 && minor >= 6), `v${process.versions.node} (needs >= 20.6)`);
      const endpoint = dockerEndpoint(config.env);
      const { host } = endpoint;
      const daemon = await daemonAnswers(endpoint);
      add(
        'docker daemon',
        daemon,
        daemon
          ? host
          : `none at ${host}: the process engine will be used (start dockerd for the docker engine)`,
      );
      // Found by where it is installed; here it is also run, to see that it works.
      const compose = await findComposeCli(config.env).then(
        async (c) => {
          const name = c.version === 2 ? 'docker compose (v2)' : 'docker-compose (v1)';
          const v = await execa(c.command, [...c.prefix, 'version', '--short'], {
            env: { ...config.env, ...c.env },
            reject: false,
            all: true,
          });
          return v.exitCode === 0
            ? { ok: true, detail: `${name} ${v.stdout.trim()}` }
            : {
                ok: false,
                detail: `${name} does not run: ${(v.all ?? '').trim().split('\n').slice(-3).join(' ')}`,
              };
        },
        (e: Error) => ({ ok: false, detail: e.message }),
      );
      add('compose CLI', compose.ok || !daemon, compose.detail);
      const images = Object.entries(readImagesState(config).resolved);
      add(
        'images',
        images.length ? true : 'note',
        images.length
          ? images.map(([from, to]) => (from === to ? from : `${from} → ${to}`)).join(', ')
          : 'not chosen yet: `npx realstack images` pulls or builds them (`up` does too)',
      );
      const debootstrap =
        (
          await execa('sh', ['-c', 'command -v debootstrap || test -x /usr/sbin/debootstrap'], {
            reject: false,
          })
        ).exitCode === 0;
      add(
        'debootstrap',
        debootstrap || !daemon,
        debootstrap ? 'installed' : 'missing: `apt-get install debootstrap` to build stand-in images',
      );
      let pgBin = '';
      try {
        pgBin = postgresBinDir(config.env);
      } catch (e) {
        pgBin = (e as Error).message;
      }
      add('postgres binaries', existsSync(`${pgBin}/postgres`), pgBin);
      const { redisServer } = await import('../stack/redis-settings.js');
      const redis = redisServer(config.env);
      add(
        'redis-server',
        redis ? true : 'note',
        redis ??
          'not on the PATH: the process engine runs a redis service with it (`apt-get install redis-server`)',
      );
      add('compose files', config.composeFiles.every(existsSync), config.composeFiles.join(', '));
      add(
        'realstack.json',
        config.project.file ? true : 'note',
        config.project.file ?? 'none: everything is inferred (`npx realstack init` writes one)',
      );
      for (const c of checks) {
        const status = c.ok === 'note' ? 'note' : c.ok ? 'ok  ' : 'FAIL';
        process.stdout.write(`${status}  ${c.what.padEnd(18)} ${c.detail}\n`);
      }
      return checks.every((c) => c.ok) ? 0 : 1;
    },
  },
};

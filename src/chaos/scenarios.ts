import type { ChaosConfig, PerfProfile } from '../config/project.js';
import type { Engine, Instance } from '../engine/types.js';
import type { Log } from '../log.js';
import { type Figures, runLoad } from '../perf/load.js';
import { waitReady } from '../stack/readiness.js';
import type { Check, DataProbe } from './data.js';
import type { FaultProxy } from './proxy.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What every scenario works with: the stack, its target, the steady-state load, the data probe. */
export interface ChaosContext {
  engine: Engine;
  config: ChaosConfig;
  log: Log;
  /** The target service's instance (its first) and its URL. */
  instance: string;
  url: string;
  /** The database's instance, when the target has one. */
  database?: string;
  /** Between the target and its database. */
  proxy?: FaultProxy;
  load: PerfProfile;
  token: string | undefined;
  data?: DataProbe;
}

export interface Scenario {
  name: string;
  summary: string;
  /** Why it cannot run on this stack, if it cannot. */
  refuse?(ctx: ChaosContext): string | undefined;
  /** Makes the fault, checks the stack during it, and undoes it (also when a check throws). */
  fault(ctx: ChaosContext): Promise<Check[]>;
}

export interface ScenarioResult {
  scenario: string;
  ok: boolean;
  /** Not run, and why (no database to stop, say). */
  skipped?: string;
  checks: Check[];
}

const instanceOf = async (engine: Engine, name: string): Promise<Instance | undefined> =>
  (await engine.instances()).find((i) => i.name === name);

const load = (ctx: ChaosContext, bound?: { requests?: number; seconds?: number; timeoutSeconds?: number }) =>
  runLoad(ctx.url, ctx.load, ctx.token, bound ?? ctx.load);

const statusList = (f: Figures) =>
  Object.entries(f.statuses)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');

/** Answers of a load during a fault: none a 500, each 2xx or a 503 (the service saying so). */
function honestAnswers(what: string, f: Figures, allowed: (status: string) => boolean): Check {
  const bad = Object.keys(f.statuses).filter((s) => !allowed(s));
  return {
    what,
    ok: bad.length === 0,
    detail: `${statusList(f)}${bad.length && f.sample ? ` (${f.sample})` : ''}`,
  };
}

/** The target is still the process it was: not exited, not restarted (no crash loop). */
async function sameProcess(ctx: ChaosContext, before: Instance | undefined): Promise<Check> {
  const now = await instanceOf(ctx.engine, ctx.instance);
  const ok = now?.state === 'running' && now.startedAt === before?.startedAt;
  return {
    what: `${ctx.instance} kept running, not restarted`,
    ok,
    detail: now
      ? `${now.state}${now.exitCode !== undefined ? ` (exit ${now.exitCode})` : ''}, started ${now.startedAt ?? '?'}`
      : 'gone',
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'kill',
    summary: 'the service killed (SIGKILL) mid-load, then started again',
    async fault(ctx) {
      const before = await instanceOf(ctx.engine, ctx.instance);
      const seconds = Math.max(2, Math.ceil((ctx.config.faultMs * 2) / 1000));
      const during = load(ctx, { seconds, timeoutSeconds: 2 });
      await sleep(ctx.config.faultMs / 2);
      const killed = await ctx.engine.stopInstance(ctx.instance, 'kill');
      ctx.log(`  kill: ${ctx.instance} killed (exit ${killed.exitCode}); starting it again`);
      await sleep(ctx.config.faultMs / 2);
      await ctx.engine.startInstance(ctx.instance);
      const f = await during;
      const after = await instanceOf(ctx.engine, ctx.instance);
      return [
        {
          what: `${ctx.instance} killed mid-load`,
          ok: killed.exitCode === 137,
          detail: `exit ${killed.exitCode}; the load meanwhile: ${statusList(f)}`,
        },
        {
          what: `${ctx.instance} started again`,
          ok: after?.state === 'running' && after.startedAt !== before?.startedAt,
          detail: `${after?.state ?? 'gone'}, started ${after?.startedAt ?? '?'}`,
        },
      ];
    },
  },
  {
    name: 'pause',
    summary: 'the service frozen (docker pause, SIGSTOP), then thawed',
    async fault(ctx) {
      await ctx.engine.pause(ctx.instance, true);
      try {
        const seen = await instanceOf(ctx.engine, ctx.instance);
        // One request per connection, all in flight at once: each unanswered costs its timeout.
        const f = await load(ctx, { requests: ctx.load.connections, timeoutSeconds: 1 });
        await sleep(ctx.config.faultMs);
        return [
          {
            what: `${ctx.instance} paused`,
            ok: seen?.state === 'paused',
            detail: `the engine says ${seen?.state}`,
          },
          {
            what: 'a paused service answers nothing',
            ok: f.failed === f.requests,
            detail: statusList(f),
          },
        ];
      } finally {
        await ctx.engine.pause(ctx.instance, false);
      }
    },
  },
  {
    name: 'db-stop',
    summary: 'PostgreSQL stopped, then started: 503s meanwhile, recovery without a restart',
    refuse: (ctx) => (ctx.database ? undefined : 'the service has no PostgreSQL to stop'),
    async fault(ctx) {
      const db = ctx.database as string;
      const before = await instanceOf(ctx.engine, ctx.instance);
      const stopped = await ctx.engine.stopInstance(db, 'graceful');
      try {
        await sleep(500);
        const f = await load(ctx, { requests: 20, timeoutSeconds: 5 });
        // A route of the service's own that reads the database, not only its health check.
        const read = await ctx.data?.readOne?.();
        await sleep(ctx.config.faultMs);
        return [
          { what: `${db} stopped`, ok: stopped.graceful, detail: `exit ${stopped.exitCode}` },
          ...(read
            ? [
                {
                  what: 'a read of committed data: 503, said why',
                  ok: read.status === 503,
                  detail: `${read.status}: ${read.text.slice(0, 200)}`,
                },
              ]
            : []),
          honestAnswers('during the outage: 503s, no 500, no dropped request', f, (s) => s === '503'),
          ...(f.sample ? [{ what: 'the 503 says why', ok: /503: \{/.test(f.sample), detail: f.sample }] : []),
          await sameProcess(ctx, before),
        ];
      } finally {
        await ctx.engine.startInstance(db);
        await waitReady(ctx.engine, { timeoutMs: ctx.config.recoverMs }).catch(() => undefined);
      }
    },
  },
  {
    name: 'db-latency',
    summary: `latency added between the service and PostgreSQL (proxy)`,
    refuse: (ctx) => (ctx.proxy ? undefined : 'the service has no PostgreSQL to slow down'),
    async fault(ctx) {
      const proxy = ctx.proxy as FaultProxy;
      const before = await instanceOf(ctx.engine, ctx.instance);
      proxy.setLatency(ctx.config.latencyMs);
      try {
        const f = await load(ctx, { requests: 20, timeoutSeconds: 10 });
        return [
          honestAnswers('slow, but every answer 2xx', f, (s) => s.startsWith('2')),
          {
            what: `answers wait on the database (+${ctx.config.latencyMs} ms each way)`,
            ok: f.p50 >= ctx.config.latencyMs,
            detail: `p50 ${f.p50.toFixed(0)} ms, p95 ${f.p95.toFixed(0)} ms`,
          },
          await sameProcess(ctx, before),
        ];
      } finally {
        proxy.setLatency(0);
      }
    },
  },
  {
    name: 'db-drop',
    summary: "the service's connections to PostgreSQL dropped (proxy)",
    refuse: (ctx) => (ctx.proxy ? undefined : 'the service has no PostgreSQL connection to drop'),
    async fault(ctx) {
      const before = await instanceOf(ctx.engine, ctx.instance);
      const dropped = (ctx.proxy as FaultProxy).dropAll();
      const f = await load(ctx, { requests: 20, timeoutSeconds: 5 });
      return [
        { what: 'open connections dropped', ok: dropped > 0, detail: `${dropped} connections reset` },
        honestAnswers('right after: 2xx or 503, no 500', f, (s) => s.startsWith('2') || s === '503'),
        await sameProcess(ctx, before),
      ];
    },
  },
];

/**
 * One scenario as a steady-state hypothesis: the stack healthy and a bounded load within its
 * error rate; committed data written; the fault and its checks; then healthy again within
 * recoverMs, the load within its error rate and latency, and every record read back.
 */
export async function runScenario(s: Scenario, ctx: ChaosContext): Promise<ScenarioResult> {
  const refused = s.refuse?.(ctx);
  if (refused) return { scenario: s.name, ok: true, skipped: refused, checks: [] };
  ctx.log(`chaos ${s.name}: ${s.summary}`);
  const checks: Check[] = [];
  try {
    await hypothesis(s, ctx, checks);
  } catch (err) {
    // A stack that never came back, say: the scenario fails with why, and the next one runs.
    checks.push({
      what: 'the scenario ran to its end',
      ok: false,
      detail: (err as Error).message.split('\n')[0] as string,
    });
  }
  return { scenario: s.name, ok: checks.every((c) => c.ok), checks };
}

async function hypothesis(s: Scenario, ctx: ChaosContext, checks: Check[]): Promise<void> {
  const rate = (f: Figures) => (f.requests ? (f.failed / f.requests) * 100 : 100);
  await waitReady(ctx.engine, { timeoutMs: ctx.config.recoverMs });
  const steady = await load(ctx);
  checks.push({
    what: 'steady state before',
    ok: rate(steady) <= ctx.config.maxErrorRate,
    detail: `${steady.requests} requests, ${rate(steady).toFixed(1)}% failed, p95 ${steady.p95.toFixed(1)} ms`,
  });
  if (ctx.data) checks.push(await ctx.data.write(3));
  checks.push(...(await s.fault(ctx)));
  const started = Date.now();
  const healthy = await waitReady(ctx.engine, { timeoutMs: ctx.config.recoverMs }).then(
    (list) => {
      // A restarted container may publish its port anew.
      ctx.url = list.find((i) => i.name === ctx.instance)?.url ?? ctx.url;
      return undefined;
    },
    (err: Error) => err.message.split('\n')[0],
  );
  checks.push({
    what: 'healthy again',
    ok: !healthy,
    detail: healthy ?? `within ${((Date.now() - started) / 1000).toFixed(1)} s`,
  });
  if (!healthy) {
    const after = await load(ctx);
    const limit = Math.max(steady.p95 * ctx.config.latencyFactor, steady.p95 + 50);
    checks.push({
      what: 'steady state after',
      ok: rate(after) <= ctx.config.maxErrorRate && after.p95 <= limit,
      detail: `${after.requests} requests, ${rate(after).toFixed(1)}% failed, p95 ${after.p95.toFixed(1)} ms (at most ${limit.toFixed(1)})`,
    });
    if (ctx.data) checks.push(await ctx.data.readBack());
  }
}

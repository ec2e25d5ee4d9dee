import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { peerNames, rewriteEnvironment } from '../engine/rewrite-env.js';
import { SCHEME_PORTS } from '../stack/references.js';
import type { ServiceSpec, StackSpec } from '../stack/spec.js';
import { firstPortPeers } from '../testing/test-env.js';
import { sourceFiles } from './source-files.js';

/** A URL written into a test or an env file that points at this machine: `http://localhost:3000/api`. */
const LOCAL_URL =
  /^(https?|postgres(?:ql)?|redis|mysql|mariadb|mongodb|amqp):\/\/(?:[^@/\s]*@)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?([^?#\s]*)/;
/** `process.env.API_URL` or `process.env['API_URL']`, and the rest of its line (where a fallback is). */
const ENV_READ = /process\.env(?:\.([A-Za-z_]\w*)|\[\s*['"]([A-Za-z_]\w*)['"]\s*\])([^\n]*)/g;
const QUOTED_URL = /(['"`])([a-z]+:\/\/[^'"`\s]+)\1/g;
/** `API_URL=http://localhost:3000` in a dotenv file. */
const ENV_LINE = /^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*['"]?([a-z]+:\/\/[^'"\s#]+)/gm;

export interface TestUrls {
  /** For realstack.json's testEnv: the variable, and its value with the run's URL in it. */
  env: Record<string, string>;
  found: string[];
  todo: string[];
}

/**
 * The service a local URL reaches, through the port the compose file publishes it on (or, for a
 * service that publishes none, the port it listens on), and what the URL becomes in a run:
 * `{api}` and its path. Only a service's first port has a URL of its own in a run.
 */
function serviceOf(url: string, services: ServiceSpec[]): { service: string; value: string } | undefined {
  const m = LOCAL_URL.exec(url);
  if (!m) return undefined;
  const scheme = m[1] as string;
  const port = m[2] ? Number(m[2]) : SCHEME_PORTS[scheme];
  const written = (s: ServiceSpec) => s.ports[0]?.moved ?? s.ports[0]?.host;
  const published = services.filter((s) => written(s) === port);
  const listening = services.filter((s) => written(s) === undefined && s.containerPort === port);
  const [svc] = published.length === 1 ? published : listening.length === 1 ? listening : [];
  if (!svc) return undefined;
  const rest = scheme.startsWith('http') && m[3] && m[3] !== '/' ? m[3] : '';
  return { service: svc.name, value: `{${svc.name}}${rest}` };
}

/**
 * The variables a project's tests read a service's address from, and the local URL each falls
 * back to (`process.env.API_URL ?? 'http://localhost:3000'`, or `API_URL=...` in .env.test or
 * .env): a run publishes the service elsewhere, so realstack.json's testEnv hands each the
 * run's URL. A local URL a test uses with no variable to read is named, with what to do.
 */
export function inferTestUrls(projectDir: string, testDirs: string[], services: ServiceSpec[]): TestUrls {
  const out: TestUrls = { env: {}, found: [], todo: [] };
  const rel = (f: string) => path.relative(projectDir, f);
  const take = (name: string, url: string, where: string) => {
    const target = serviceOf(url, services);
    if (!target || name in out.env) return;
    out.env[name] = target.value;
    out.found.push(
      `tests: ${name} = ${target.value} (${where} ${url}, where the compose file has ${target.service}; each run has it at a URL of its own. Edit testEnv in realstack.json to change it)`,
    );
  };
  const hardCoded = new Map<string, string>();
  const files = testDirs.flatMap((d) => {
    const dir = path.join(projectDir, d);
    return existsSync(dir) ? sourceFiles(dir, 500) : [];
  });
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const read = new Set<string>();
    for (const m of text.matchAll(ENV_READ)) {
      const name = (m[1] ?? m[2]) as string;
      const fallback = [...(m[3] as string).matchAll(QUOTED_URL)][0]?.[2];
      if (fallback) {
        read.add(fallback);
        take(name, fallback, `${rel(file)} reads it, falling back to`);
      }
    }
    for (const m of text.matchAll(QUOTED_URL)) {
      const url = m[2] as string;
      const target = read.has(url) ? undefined : serviceOf(url, services);
      if (target && !hardCoded.has(target.service)) hardCoded.set(target.service, `${rel(file)} (${url})`);
    }
  }
  for (const name of ['.env.test', '.env']) {
    const file = path.join(projectDir, name);
    if (!existsSync(file)) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(ENV_LINE))
      take(m[1] as string, m[2] as string, `${name} sets it to`);
  }
  for (const [service, where] of hardCoded)
    if (!Object.values(out.env).some((v) => v.startsWith(`{${service}}`)))
      out.todo.push(
        `${where} connects to ${service} where the compose file publishes it; each run publishes it at a URL of its own: read it from a variable with that fallback (process.env.${service.toUpperCase().replace(/\W/g, '_')}_URL ?? '...') and map the variable in realstack.json's testEnv ("NAME": "{${service}}"), or read serviceUrl('${service}') from 'realstack'`,
      );
  return out;
}

/** A command that runs a project's tests: `npm test`, `npm run test:e2e`, `npx vitest run`, `node --test`. */
const RUNS_TESTS =
  /(?:^|[\s;&|])(?:(?:npm|yarn|pnpm)\s+(?:run\s+)?(?:test|e2e)[\w:.-]*|npm\s+t|(?:npx\s+)?(?:jest|vitest|mocha|ava|tap|playwright\s+test)|node\s+--test)(?=$|[\s;&|])/;

export interface TestRunner {
  service: ServiceSpec;
  profiles: string[];
  /** The variables of its environment that name another service's address (`API_URL=http://api:3000`). */
  addresses: string[];
}

/**
 * The compose file's own test runners: services whose command runs the tests (`npm test`, run
 * with `docker compose run tests`). realstack runs the tests on this machine instead, with the
 * runner's environment (testEnvFrom), its addresses of the other services made each run's.
 */
export function testRunners(stack: StackSpec): TestRunner[] {
  const runners = stack.services.filter((s) => RUNS_TESTS.test((s.command ?? []).join(' ')));
  // Only which variables change is asked, so any host and port serve.
  const peers = firstPortPeers(stack, (s) =>
    runners.includes(s) ? undefined : { host: 'host', port: 'port' },
  );
  const names = peerNames(stack, peers);
  return runners.map((service) => ({
    service,
    profiles: serviceProfiles(stack, service.name),
    addresses: rewriteEnvironment(service.environment, names, undefined).rewrites.map((r) => r.variable),
  }));
}

/** The profiles a service of the compose model starts with (none: always). */
export function serviceProfiles(stack: StackSpec, name: string): string[] {
  const profiles = (stack.model.services as Record<string, { profiles?: unknown }>)[name]?.profiles;
  return Array.isArray(profiles) ? profiles.map(String) : [];
}

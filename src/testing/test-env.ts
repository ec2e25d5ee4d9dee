import { type ProjectConfig, placeholders } from '../config/project.js';
import { urlVariable } from '../conventions/urls.js';
import { type Peer, peerNames, rewriteEnvironment } from '../engine/rewrite-env.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import { composeEnvironment } from '../stack/compose.js';
import type { ServiceSpec, StackSpec } from '../stack/spec.js';

/**
 * The environment a test receives (and a perf token command, a diagnose check): the
 * environment of the compose file's test runner when realstack.json names one (testEnvFrom),
 * the run id, every service's URL as REALSTACK_<SERVICE>_URL, and realstack.json's testEnv,
 * the variables the project's tests already read (`API_URL`), filled in with this run's URLs.
 */
export function testEnv(
  engine: Engine,
  instances: { service: string; url?: string }[],
  project: Pick<ProjectConfig, 'testEnv' | 'testEnvFrom'>,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const urls = new Map<string, string>();
  for (const svc of engine.stack.services) {
    const url = instances.find((i) => i.service === svc.name && i.url)?.url;
    if (url) urls.set(svc.name, url);
  }
  const out: Record<string, string> = {
    ...(project.testEnvFrom
      ? runnerEnvironment(engine.stack, project.testEnvFrom, runPeers(engine, urls), env)
      : {}),
    REALSTACK_RUN_ID: engine.run.runId,
    REALSTACK_ENGINE: engine.name,
  };
  for (const [service, url] of urls) out[urlVariable(service)] = url;
  const names = engine.stack.services.map((s) => s.name);
  for (const [name, value] of Object.entries(project.testEnv)) {
    let filled = value;
    for (const p of placeholders(value)) {
      const service = p.service as string;
      const where = `realstack.json: testEnv.${name} names {${p.text}}`;
      if (!names.includes(service))
        throw new UserError(
          `${where}, and the stack has no service "${service}" (it has ${names.join(', ')}). Fix the name in realstack.json.`,
        );
      const url = urls.get(service);
      if (!url)
        throw new UserError(
          `${where}, and ${service} has no URL in this run (it publishes no port, or it has stopped): \`npx realstack ps\` shows the URLs there are.`,
        );
      const parsed = new URL(url);
      filled = filled.replace(
        `{${p.text}}`,
        p.part === 'url' ? url : p.part === 'host' ? parsed.hostname : parsed.port,
      );
    }
    out[name] = filled;
  }
  return out;
}

/** Each service where this run has it: the host and port of its URL. */
const runPeers = (engine: Engine, urls: Map<string, string>) =>
  firstPortPeers(engine.stack, (svc) => {
    const url = urls.get(svc.name);
    if (!url) return undefined;
    const at = new URL(url);
    return { host: at.hostname, port: at.port };
  });

/**
 * The peers of a rewrite by each service's first port, the one its URL names, where `at` says
 * that port is (a run's URL; a placeholder); a service `at` gives nothing for is no peer.
 */
export function firstPortPeers(
  stack: StackSpec,
  at: (svc: ServiceSpec) => { host: string; port: string } | undefined,
): Map<string, Peer> {
  const peers = new Map<string, Peer>();
  for (const svc of stack.services) {
    const port = svc.containerPort ?? svc.ports[0]?.container;
    const where = port === undefined ? undefined : at(svc);
    if (port !== undefined && where)
      peers.set(svc.name, {
        service: svc.name,
        ports: new Map([[port, where.port]]),
        defaultPort: port,
        host: where.host,
      });
  }
  return peers;
}

/**
 * The environment compose gives the test runner service, each address of another service in
 * it (`http://api:3000`, `DB_HOST=db` and its port) made where `peers` are, as the process
 * engine does for its services (rewrite-env.ts).
 */
export function runnerEnvironment(
  stack: StackSpec,
  runner: string,
  peers: Map<string, Peer>,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const raw = (stack.model.services as Record<string, Record<string, unknown>>)[runner];
  if (!raw)
    throw new UserError(
      `realstack.json: testEnvFrom names "${runner}", which no compose file has; the services are ${Object.keys(stack.model.services as object).join(', ')}.`,
    );
  const own = composeEnvironment(raw, stack.projectDir, env, `compose service "${runner}" (testEnvFrom)`);
  return rewriteEnvironment(own, peerNames(stack, peers), undefined).env;
}

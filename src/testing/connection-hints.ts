import { urlVariable, variableName } from '../conventions/urls.js';
import type { Engine, Instance } from '../engine/types.js';
import { rewrittenForms, unresolvedName } from '../engine/unresolved.js';
import type { FileCounts } from '../results/model.js';
import { composeNames } from '../stack/references.js';
import type { ServiceSpec } from '../stack/spec.js';
import { hidePassword } from '../util/net.js';

const REFUSED = /ECONNREFUSED (?:127\.0\.0\.1|::1|localhost)?:(\d+)/g;
const UNKNOWN_HOST = /getaddrinfo (?:ENOTFOUND|EAI_AGAIN) ([\w.-]+)/g;

/** What failed tests said of connections meant for the compose network. */
export interface Misdirected {
  /** Ports a service publishes in the compose file that this run published elsewhere. */
  moved: { port: number; service: string; container: number }[];
  /** Service names used as host names. */
  named: string[];
}

/** The failures' refused ports and unresolved host names that a service of the stack explains. */
export function misdirected(files: FileCounts[], services: ServiceSpec[]): Misdirected {
  const refused = new Set<number>();
  const unknown = new Set<string>();
  for (const f of files)
    for (const t of f.tests)
      if (t.status !== 'passed')
        for (const failure of t.failures) {
          for (const m of failure.matchAll(REFUSED)) refused.add(Number(m[1]));
          for (const m of failure.matchAll(UNKNOWN_HOST)) unknown.add(m[1] as string);
        }
  return {
    moved: [...refused].flatMap((port) =>
      services.flatMap((svc) => {
        const published = svc.ports.find((p) => p.moved === port);
        return published ? [{ port, service: svc.name, container: published.container }] : [];
      }),
    ),
    named: services.filter((svc) => unknown.has(svc.name)).map((svc) => svc.name),
  };
}

/** One line per misdirected connection: the service, where this run has it, and what to change. */
export function hintsFor(found: Misdirected, urls: Record<string, string | undefined>): string[] {
  const at = (service: string) => {
    const url = urls[service];
    return url ? hidePassword(url) : undefined;
  };
  const read = (service: string) =>
    `Read the URL from ${urlVariable(service)} in the test (or serviceUrl('${service}') from 'realstack')`;
  return [
    ...found.moved.map(
      ({ port, service, container }) =>
        `a test connected to port ${port}, which ${service} publishes in the compose file (${port}:${container}); realstack publishes it on a free port of 127.0.0.1 instead${at(service) ? `, at ${at(service)} in this run` : ''}, so that runs never clash. ${read(service)}, or set "pinPorts": true in ${service}'s entry in realstack.json to keep the compose file's ports.`,
    ),
    ...found.named.map(
      (service) =>
        `a test connected to the host "${service}", a service of the compose file: the tests run on this machine, where the compose network's names do not resolve. ${read(service)}${at(service) ? `: ${at(service)} in this run` : ''}.`,
    ),
  ];
}

/**
 * Tests written for the compose network fail in ways that do not say why: a port the compose
 * file publishes (`http://localhost:3000`) refuses, since realstack publishes it elsewhere so
 * that two runs never clash; a service's name (`db:5432`, from a .env written for the
 * containers) does not resolve, since the tests run on this machine.
 */
export async function connectionHints(files: FileCounts[], engine: Engine): Promise<string[]> {
  const found = misdirected(files, engine.stack.services);
  const failed = files.some((f) => f.tests.some((t) => t.status !== 'passed' && t.failures.length > 0));
  const logs = failed && engine.name === 'process';
  if (found.moved.length === 0 && found.named.length === 0 && !logs) return [];
  const instances = await engine.instances().catch(() => []);
  return [
    ...hintsFor(found, Object.fromEntries(instances.map((i) => [i.service, i.url]))),
    ...(logs ? await unresolvedInServices(engine, instances) : []),
  ];
}

/**
 * A service that asked for a peer by its compose name while the tests ran, where the name is not
 * in its environment or command but in its code (`process.env.USERS_URL ?? 'http://users:4000'`):
 * on the process engine the name resolves nowhere, and the test sees only the service's error.
 */
async function unresolvedInServices(engine: Engine, instances: Instance[]): Promise<string[]> {
  const names = composeNames(engine.stack);
  const hints: string[] = [];
  const seen = new Set<string>();
  for (const i of instances) {
    if (seen.has(i.service)) continue;
    seen.add(i.service);
    const found = unresolvedName(await engine.tail(i.name, 200).catch(() => []), names);
    if (found)
      hints.push(
        `${i.name} could not resolve ${found.name} while the tests ran ("${found.line.length > 200 ? `${found.line.slice(0, 200)}…` : found.line}"): on the process engine every service runs on this machine, where compose names resolve nowhere. ${rewrittenForms(found.name)}; an address in the code needs one of those (\`${variableName(found.name)}_URL: http://${found.name}:PORT\` in ${i.service}'s environment, read by the code), or run the stack on the docker engine (REALSTACK_ENGINE=docker).`,
      );
  }
  return hints;
}

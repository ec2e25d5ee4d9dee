import type { ToolkitConfig } from '../config/toolkit.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { stackToken } from '../perf/run.js';
import { describeLoad, type LoadRequest, type LoadSummary, RotationLoad } from './rotation-load.js';
import { type ChangeOptions, runningInstances } from './scale.js';

/** What the load during a change sends: --profile, --load PATH, or the service's health path. */
export interface LoadChoice {
  profile?: string;
  path?: string;
  /** Requests per second; 0 for none. */
  rate: number;
}

/** The request to repeat, or none when nothing says what to send. */
async function loadRequest(
  config: ToolkitConfig,
  engine: Engine,
  service: string,
  choice: LoadChoice,
): Promise<LoadRequest | undefined> {
  if (choice.rate === 0) return undefined;
  if (choice.profile) {
    const perf = config.project.perf;
    const p = perf.profiles[choice.profile];
    if (!p)
      throw new UserError(
        `there is no perf profile "${choice.profile}" in realstack.json; there are ${Object.keys(perf.profiles).join(', ') || 'none'}.`,
        2,
      );
    if (p.service !== service)
      throw new UserError(
        `perf profile "${choice.profile}" loads ${p.service}, not ${service}: name a profile of ${service}.`,
        2,
      );
    const headers: Record<string, string> = { ...p.headers };
    if (p.body !== undefined) headers['content-type'] ??= 'application/json';
    if (p.auth)
      headers.authorization = `Bearer ${await stackToken(engine, config.env, config.project, config.projectDir)}`;
    return {
      method: p.method,
      path: p.path,
      headers,
      ...(p.body !== undefined ? { body: typeof p.body === 'string' ? p.body : JSON.stringify(p.body) } : {}),
    };
  }
  const path = choice.path ?? engine.stack.services.find((s) => s.name === service)?.healthPath;
  return path ? { method: 'GET', path, headers: {} } : undefined;
}

/**
 * Runs a change of `service` (a scale, a restart) under a bounded load on its instances, and
 * says what the load saw. The load goes on a second after the change, on the new rotation.
 */
export async function changeUnderLoad(
  config: ToolkitConfig,
  engine: Engine,
  service: string,
  choice: LoadChoice,
  log: Log,
  change: (o: ChangeOptions) => Promise<void>,
): Promise<LoadSummary | undefined> {
  const request = await loadRequest(config, engine, service, choice);
  const serving = (await runningInstances(engine, service)).filter((i) => i.url?.startsWith('http'));
  const active = request !== undefined && serving.length > 0;
  const load = new RotationLoad(
    request ?? { method: 'GET', path: '/', headers: {} },
    active ? choice.rate : 0,
  );
  for (const i of serving) load.join(i.name, i.url as string);
  if (active) {
    const first = serving[0] as { name: string; url: string };
    await load.check(first.name, first.url);
    log(`load: ${request.method} ${request.path}, ${choice.rate} requests/s over the instances in rotation`);
  } else
    log(
      request
        ? `load: none, ${service} has no HTTP port`
        : `load: none (${service} has no health path: give --load PATH or --profile NAME to measure requests during the change)`,
    );
  load.start();
  let summary: LoadSummary | undefined;
  try {
    await change({ timeoutMs: config.readyTimeoutMs, log, load });
    if (active) await new Promise((r) => setTimeout(r, 1000));
  } finally {
    summary = await load.stop();
  }
  if (summary) log(describeLoad(summary));
  return summary;
}

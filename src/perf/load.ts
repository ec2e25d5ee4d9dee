import type { PerfProfile } from '../config/project.js';
import { percentile } from '../util/stats.js';

/** One bounded load's figures: latencies in ms from every response, throughput in requests/s. */
export interface Figures {
  requests: number;
  /** Answers outside 2xx, and requests that got no answer (errors, timeouts). */
  failed: number;
  /** One failed answer, asked again: what a user needs to see to fix the profile. */
  sample?: string;
  statuses: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  rps: number;
}

/**
 * Runs a profile with autocannon against `baseUrl` (the service's loopback URL). autocannon keeps
 * latencies in a histogram with p50, p90, p97.5 and p99, but no p95: the percentiles here come from
 * every response's own time instead, so all three are exact for the requests sent.
 */
export async function runLoad(
  baseUrl: string,
  profile: PerfProfile,
  token: string | undefined,
  bound: { requests?: number; seconds?: number; timeoutSeconds?: number } = profile,
): Promise<Figures> {
  // autocannon is a bench tool: loaded by the command that needs it, not with the CLI.
  const { default: autocannon } = await import('autocannon');
  const headers: Record<string, string> = { ...profile.headers };
  if (profile.body !== undefined) headers['content-type'] ??= 'application/json';
  if (profile.auth && token) headers.authorization = `Bearer ${token}`;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  // Throughput over the time the answers came in, not until autocannon's next sample tick.
  let lastAnswer = started;
  const options = {
    url: new URL(profile.path, baseUrl).href,
    method: profile.method as 'GET',
    headers,
    ...(profile.body !== undefined
      ? { body: typeof profile.body === 'string' ? profile.body : JSON.stringify(profile.body) }
      : {}),
    connections: profile.connections,
    ...(bound.requests !== undefined ? { amount: bound.requests } : { duration: bound.seconds ?? 5 }),
    timeout: bound.timeoutSeconds ?? 10,
    // autocannon ends a run on its next sample tick (1 s by default): a load of 200 requests that
    // took 0.1 s held its caller for a second. Its per-tick samples are not used here.
    sampleInt: 25,
  };
  const result = await new Promise<{ errors: number }>((resolve, reject) => {
    const instance = autocannon(options, (err, res) => (err ? reject(err) : resolve(res)));
    instance.on('response', (_client, status, _bytes, ms) => {
      lastAnswer = performance.now();
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
  });
  const elapsed = Math.max(lastAnswer - started, 1) / 1000;
  latencies.sort((a, b) => a - b);
  const answered = latencies.length;
  const ok = Object.entries(statuses)
    .filter(([s]) => s.startsWith('2'))
    .reduce((n, [, c]) => n + c, 0);
  // autocannon counts timeouts among its errors.
  const noAnswer = result.errors;
  if (noAnswer > 0) statuses['no answer'] = noAnswer;
  const failed = answered - ok + noAnswer;
  return {
    ...(failed > 0 ? { sample: await sampleAnswer(options.url, options) } : {}),
    requests: answered + noAnswer,
    failed,
    statuses,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    rps: answered / elapsed,
  };
}

async function sampleAnswer(
  url: string,
  o: { method: string; headers: Record<string, string>; body?: string; timeout: number },
): Promise<string> {
  try {
    const res = await fetch(url, {
      method: o.method,
      headers: o.headers,
      ...(o.body !== undefined ? { body: o.body } : {}),
      // The load's own bound: a service that answered nothing then (paused, say) is not waited on longer now.
      signal: AbortSignal.timeout(o.timeout * 1000),
    });
    return `${o.method} ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`;
  } catch (err) {
    return `${o.method} ${url}: ${(err as Error).message}`;
  }
}

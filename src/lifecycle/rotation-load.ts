import { Agent, request } from 'undici';
import { UserError } from '../errors.js';
import { percentile } from '../util/stats.js';

/** The request the load repeats: a perf profile's, or a GET of a path. */
export interface LoadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadSummary {
  sent: number;
  /** Answers outside 2xx and 3xx, and requests that got none. */
  failed: number;
  /** By status; "no instance" when none was in rotation, else the error's code (ECONNRESET). */
  outcomes: Record<string, number>;
  p99Ms: number;
  worstMs: number;
  /** The first failure: which instance, what happened, when in the change. */
  firstFailure?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ok = (outcome: string) => /^[23]\d\d$/.test(outcome);

/**
 * A bounded load spread round-robin over a service's instances in rotation, as a load balancer
 * spreads it: an instance joins once it is ready and leaves before it is stopped, once what was
 * sent to it is answered. So a failure here is a request an instance took and did not answer: a
 * shutdown that drops what it was doing, or a moment with none in rotation.
 */
export class RotationLoad {
  private readonly rotation = new Map<string, string>();
  private readonly inFlight = new Map<string, Set<Promise<string>>>();
  private readonly agent = new Agent({ connect: { timeout: 5000 } });
  private readonly latencies: number[] = [];
  private readonly outcomes: Record<string, number> = {};
  private readonly started = performance.now();
  private workers: Promise<void>[] = [];
  private running = false;
  private turn = 0;
  private failed = 0;
  private firstFailure: string | undefined;

  /**
   * @param rate requests per second over all instances
   * @param cap the most requests it sends, however long the change takes
   */
  constructor(
    private readonly req: LoadRequest,
    private readonly rate: number,
    private readonly cap = 30_000,
  ) {}

  join(instance: string, url: string): void {
    this.rotation.set(instance, url);
  }

  /**
   * Takes an instance out of rotation and resolves once the requests already sent to it have
   * their answers (connection draining, as a balancer does it): stopped before that, a server
   * closing its idle connections meets a request still on the wire, and that is the load's race,
   * not the service's fault.
   */
  async leave(instance: string): Promise<void> {
    this.rotation.delete(instance);
    await Promise.all(this.inFlight.get(instance) ?? []);
  }

  /** One request to `instance` before any change: a load that fails already measures nothing. */
  async check(instance: string, url: string): Promise<void> {
    const outcome = await this.send(url);
    if (!ok(outcome))
      throw new UserError(
        `the load's ${this.req.method} ${this.req.path} answered ${outcome} on ${instance} before any change: give --load a path that answers 2xx (or --profile a perf profile), or --rate 0 for no load.`,
        2,
      );
  }

  start(concurrency = 4): void {
    if (this.rate <= 0) return;
    this.running = true;
    const gap = (1000 * concurrency) / this.rate;
    this.workers = Array.from({ length: concurrency }, async () => {
      while (this.running && this.latencies.length < this.cap) {
        const began = performance.now();
        await this.one();
        await sleep(Math.max(0, gap - (performance.now() - began)));
      }
    });
  }

  async stop(): Promise<LoadSummary | undefined> {
    this.running = false;
    await Promise.all(this.workers);
    await this.agent.close();
    if (this.rate <= 0) return undefined;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      sent: sorted.length,
      failed: this.failed,
      outcomes: this.outcomes,
      p99Ms: Math.round(percentile(sorted, 0.99)),
      worstMs: Math.round(sorted.at(-1) ?? 0),
      ...(this.firstFailure ? { firstFailure: this.firstFailure } : {}),
    };
  }

  private async send(url: string): Promise<string> {
    try {
      const res = await request(new URL(this.req.path, url), {
        dispatcher: this.agent,
        method: this.req.method as 'GET',
        headers: this.req.headers,
        body: this.req.body ?? null,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await res.body.dump();
      return String(res.statusCode);
    } catch (err) {
      return (err as { code?: string }).code ?? 'error';
    }
  }

  private async one(): Promise<void> {
    const list = [...this.rotation];
    const target = list.length ? list[this.turn++ % list.length] : undefined;
    const began = performance.now();
    let outcome = 'no instance';
    if (target) {
      const sent = this.send(target[1]);
      const mine = this.inFlight.get(target[0]) ?? new Set();
      this.inFlight.set(target[0], mine.add(sent));
      outcome = await sent;
      mine.delete(sent);
    }
    const ms = performance.now() - began;
    this.latencies.push(ms);
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    if (ok(outcome)) return;
    this.failed++;
    const at = ((began - this.started) / 1000).toFixed(1);
    this.firstFailure ??= `${target ? `${target[0]} answered ${outcome}` : 'no instance in rotation'}, ${at} s into the change`;
  }
}

export function describeLoad(s: LoadSummary): string {
  const outcomes = Object.entries(s.outcomes)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  return (
    `load: ${s.sent} requests sent, ${s.failed} failed (${outcomes}); p99 ${s.p99Ms} ms, worst ${s.worstMs} ms` +
    (s.firstFailure ? `; first failure: ${s.firstFailure}` : '')
  );
}

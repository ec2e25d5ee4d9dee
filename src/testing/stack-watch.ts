import type { Engine, Instance } from '../engine/types.js';

/** Something the engine saw happen to the stack while tests ran. */
export interface StackEvent {
  at: number;
  what: string;
}

const describe = (i: Instance) =>
  i.state === 'exited'
    ? `exited with code ${i.exitCode}${i.restarting ? ' (its restart policy starts it again)' : ''}`
    : i.state !== 'running'
      ? i.state
      : i.health === 'unhealthy'
        ? 'went unhealthy'
        : i.health === 'starting'
          ? 'is starting'
          : i.health === 'healthy'
            ? 'is healthy'
            : 'is running';

/**
 * Looks at the stack's instances once a second while tests run and keeps what changed: a
 * process that exited, restarted (a new start time), paused or went unhealthy. A test that
 * failed while such an event happened failed with the stack, not by itself: the flaky-test
 * history records that class. Engines see a restart only through a start time, so a process
 * that restarts and is healthy again within a second is seen by that time alone.
 */
export class StackWatch {
  readonly events: StackEvent[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly engine: Engine,
    private readonly everyMs: number,
  ) {
    this.loop = this.run();
  }

  static start(engine: Engine, everyMs = 1000): StackWatch {
    return new StackWatch(engine, everyMs);
  }

  private async run(): Promise<void> {
    const last = new Map<string, Instance>();
    let first = true;
    while (!this.stopped) {
      const now = Date.now();
      const list = await this.engine.instances({ polling: true }).catch(() => undefined);
      if (list) {
        for (const i of list) {
          const before = last.get(i.name);
          last.set(i.name, i);
          if (!before) {
            if (!first) this.events.push({ at: now, what: `${i.name} appeared (${describe(i)})` });
            else if (i.state !== 'running' || i.health === 'unhealthy')
              this.events.push({ at: now, what: `${i.name} ${describe(i)} as the tests started` });
            continue;
          }
          if (i.startedAt && before.startedAt && i.startedAt !== before.startedAt)
            this.events.push({ at: now, what: `${i.name} restarted (${describe(i)})` });
          else if (i.state !== before.state || i.health !== before.health)
            this.events.push({
              at: now,
              // A ready service whose probe fails is not starting again: it stopped answering
              // (a process about to exit drops the probe's connection first).
              what: `${i.name} ${before.health === 'healthy' && i.health === 'starting' ? 'stopped answering' : describe(i)}`,
            });
        }
        for (const name of [...last.keys()])
          if (!list.some((i) => i.name === name)) {
            last.delete(name);
            this.events.push({ at: now, what: `${name} is gone` });
          }
        first = false;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.everyMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async stop(): Promise<StackEvent[]> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    return this.events;
  }

  /** Events from `from` to `to` (epoch ms), a poll's width either side. */
  between(from: number, to: number): StackEvent[] {
    return this.events.filter((e) => e.at >= from - this.everyMs && e.at <= to + this.everyMs);
  }
}

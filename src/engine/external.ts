import type { Writable } from 'node:stream';
import { urlVariable } from '../conventions/urls.js';
import { UserError } from '../errors.js';
import { probeService } from '../stack/probe.js';
import type { StackSpec } from '../stack/spec.js';
import type { RunState } from '../stack/state.js';
import type { CopiedCoverage, Engine, Instance, StopResult, UpOptions } from './types.js';

/**
 * LIVE_SMOKE: a stack somebody else runs. URLs come from the environment; nothing is
 * started, stopped or removed.
 */
export class ExternalEngine implements Engine {
  readonly name = 'external' as const;
  readonly startsCurrentBuild = false;

  constructor(
    readonly stack: StackSpec,
    readonly run: RunState,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private urls(): { service: string; url: string }[] {
    const missing = this.stack.services.filter((s) => !this.env[urlVariable(s.name)]);
    if (missing.length > 0) {
      throw new UserError(
        `the external engine attaches to a running stack, and needs its URLs: set ${missing.map((s) => urlVariable(s.name)).join(', ')} (in the environment or .env).`,
      );
    }
    return this.stack.services.map((s) => ({
      service: s.name,
      url: this.env[urlVariable(s.name)] as string,
    }));
  }

  async up(options: UpOptions): Promise<void> {
    this.urls();
    await options.built;
  }

  async instances(): Promise<Instance[]> {
    return Promise.all(
      this.urls().map(async ({ service, url }): Promise<Instance> => {
        const health = await probeService(
          this.stack.services.find((s) => s.name === service),
          url,
        );
        return { service, name: `${service}-1`, state: 'running', health, url };
      }),
    );
  }

  async tail(): Promise<string[]> {
    return [];
  }

  async logs(_service: string | undefined, _options: unknown, out: Writable): Promise<void> {
    out.write('the external engine has no access to the logs of a stack it did not start\n');
  }

  async stop(): Promise<StopResult[]> {
    return [];
  }

  async copyCoverage(): Promise<CopiedCoverage[]> {
    throw new UserError(
      'the external engine cannot reach the processes of a stack it did not start: no coverage to collect.',
    );
  }

  async signal(): Promise<string[]> {
    throw new UserError('the external engine cannot signal the processes of a stack it did not start.');
  }

  private refuse(): never {
    throw new UserError(
      'the external engine starts, stops, scales and pauses nothing of a stack it did not start: run it on the docker or process engine.',
    );
  }

  async stopInstance(): Promise<StopResult> {
    this.refuse();
  }

  async startInstance(): Promise<void> {
    this.refuse();
  }

  async addInstance(): Promise<string> {
    this.refuse();
  }

  async retireInstance(): Promise<StopResult> {
    this.refuse();
  }

  async pause(): Promise<void> {
    this.refuse();
  }

  async down(): Promise<void> {}
}

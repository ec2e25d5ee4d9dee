import type { Writable } from 'node:stream';
import type { StackSpec } from '../stack/compose.js';
import type { RunState } from '../stack/state.js';

export type EngineName = 'docker' | 'process' | 'external';

export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none';

/** One running (or exited) process of a service: a container or a child process. */
export interface Instance {
  service: string;
  /** e.g. "api-2": service name and replica number. */
  name: string;
  state: 'running' | 'exited' | 'missing';
  health: Health;
  exitCode?: number;
  /** http://127.0.0.1:PORT for HTTP services, a postgres:// URL for the database. */
  url?: string;
}

export interface UpOptions {
  scale: Record<string, number>;
}

export interface StopResult {
  instance: string;
  exitCode: number | undefined;
  /** Graceful means the process exited by itself within its grace period. */
  graceful: boolean;
}

export interface Engine {
  readonly name: EngineName;
  readonly stack: StackSpec;
  readonly run: RunState;
  /** Creates and starts everything; does not wait for readiness. */
  up(options: UpOptions): Promise<void>;
  instances(): Promise<Instance[]>;
  /** The last lines a process wrote, for error messages. */
  tail(instance: string, lines: number): Promise<string[]>;
  logs(
    service: string | undefined,
    options: { follow: boolean; tail?: number },
    out: Writable,
  ): Promise<void>;
  /** Stops every process gracefully (SIGTERM, then the kill after the grace period). */
  stop(): Promise<StopResult[]>;
  /** Removes everything the run created. Safe to call twice and after a failed up. */
  down(): Promise<void>;
}

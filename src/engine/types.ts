import type { Writable } from 'node:stream';
import type { StackSpec } from '../stack/spec.js';
import type { EngineName, RunState } from '../stack/state.js';

export type { EngineName };

export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none';

/** One running (or exited) process of a service: a container or a child process. */
export interface Instance {
  service: string;
  /** e.g. "api-2": service name and replica number. */
  name: string;
  /** paused: frozen (docker pause, SIGSTOP), so it answers nothing until thawed. */
  state: 'running' | 'paused' | 'exited' | 'missing';
  health: Health;
  exitCode?: number;
  /** Exited, and its restart policy starts it again (Docker's "restarting"). */
  restarting?: boolean;
  /** How many times its restart policy has started it again. */
  restarts?: number;
  /** When its process last started (ISO 8601): a change means it restarted. */
  startedAt?: string;
  /** http://127.0.0.1:PORT for HTTP services, a postgres:// URL for the database. */
  url?: string;
  /** Why it will not get ready as it runs now, when the engine can tell (it listens elsewhere). */
  problem?: string;
}

export interface LogOptions {
  follow: boolean;
  tail?: number;
  /** Each line after the time it was written (ISO 8601), for placing it beside a test. */
  timestamps?: boolean;
}

export interface UpOptions {
  scale: Record<string, number>;
  /** Where the engine says what it changed of the stack to run it (docker: keys compose v1 lacks). */
  log?: (line: string) => void;
  /** How long the whole start may wait for services that others depend on. */
  timeoutMs?: number;
  /**
   * The run's build (the host build, and docker's images), under way. The engine makes ready
   * meanwhile what does not run the project's files, and starts those only once it is done.
   */
  built?: Promise<void>;
}

export interface StopResult {
  instance: string;
  exitCode: number | undefined;
  /** Graceful means the process exited by itself within its grace period. */
  graceful: boolean;
  /** It had ended before the stop (a one-shot's run, or a crash): nothing was stopped. */
  endedBefore?: boolean;
}

/** An instance whose coverage directory was copied out, with how it ended if it has. */
export interface CopiedCoverage {
  service: string;
  instance: string;
  /** Where its files are now: dest/<instance>. */
  dir: string;
  exitCode?: number;
}

export interface Engine {
  readonly name: EngineName;
  readonly stack: StackSpec;
  readonly run: RunState;
  /**
   * Whether `startInstance` runs the service's current build: true where an instance runs the
   * project's own files (the process engine), false where it runs what its container was made
   * from (an image): there an update needs new instances.
   */
  readonly startsCurrentBuild: boolean;
  /** Creates and starts everything; does not wait for readiness. */
  up(options: UpOptions): Promise<void>;
  /**
   * What runs of the stack, and how each is. `polling`: the caller looks again shortly (the wait
   * for readiness), so a health check the engine starts need not be waited for.
   */
  instances(options?: { polling?: boolean }): Promise<Instance[]>;
  /**
   * Settles when what a polling look sees may have changed, so that the poller looks again at
   * once rather than at its next step: a health check the engine ran for a look has ended
   * (docker), a service wrote output or ended (process: most servers say so when they listen).
   */
  changed?(): Promise<void>;
  /** The last lines a process wrote, for error messages. */
  tail(instance: string, lines: number): Promise<string[]>;
  logs(service: string | undefined, options: LogOptions, out: Writable): Promise<void>;
  /** Stops every process gracefully (SIGTERM, then the kill after the grace period). */
  stop(): Promise<StopResult[]>;
  /**
   * Copies every instrumented instance's NODE_V8_COVERAGE directory, stopped ones included,
   * to dest/<instance>/. Instances without the variable are not instrumented and left out.
   */
  copyCoverage(dest: string): Promise<CopiedCoverage[]>;
  /** Sends a signal to every running process of the instrumented services (coverage snapshots). */
  signal(signal: NodeJS.Signals): Promise<string[]>;
  /**
   * Stops one instance: gracefully, as `stop` stops every one, or at once with SIGKILL (its
   * process flushes nothing: exit 137).
   */
  stopInstance(instance: string, how: 'graceful' | 'kill'): Promise<StopResult>;
  /** Starts a stopped instance again: the same command, environment, ports and data. */
  startInstance(instance: string): Promise<void>;
  /**
   * Starts one more instance of a service, numbered after its highest, from the same spec as
   * `up` started the others (environment, coverage spy, peers); does not wait for readiness.
   */
  addInstance(service: string): Promise<string>;
  /**
   * Stops an instance gracefully and takes it out of the stack: `instances` no longer lists it,
   * while `copyCoverage` still copies what it wrote.
   */
  retireInstance(instance: string): Promise<StopResult>;
  /** Freezes every process of an instance (docker pause, SIGSTOP to its group), or thaws it. */
  pause(instance: string, paused: boolean): Promise<void>;
  /** Removes everything the run created. Safe to call twice and after a failed up. */
  down(): Promise<void>;
}

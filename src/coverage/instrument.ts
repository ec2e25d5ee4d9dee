import os from 'node:os';
import { UserError } from '../errors.js';
import { SLICE_MOUNT } from '../spy/slices.js';
import { environmentOf, type ServiceSpec, type StackSpec } from '../stack/spec.js';
import { spyDir } from '../util/package-root.js';

/** Where the spy is mounted in a container, and where V8 writes its dumps there. */
export const SPY_MOUNT = '/coverage-spy';
export const DUMP_DIR = '/tmp/realstack-coverage';

/**
 * The coverage overlay, made from the stack instead of written by hand: for every Node service
 * to measure, the spy preloaded (after the service's own NODE_OPTIONS), mounted read-only from
 * where realstack is installed, V8's dump directory inside the container, and a grace period
 * above the spy's fallback, so that a service held open by keep-alive sockets still flushes.
 * A service that sets NODE_V8_COVERAGE itself is instrumented by its own overlay and left alone.
 */
export function instrument(stack: StackSpec, spy: SpyOptions, sliceDir?: string): StackSpec {
  const services = stack.services.map((svc) => {
    if (!svc.coverage || environmentOf(svc).NODE_V8_COVERAGE) return svc;
    // Per-test recording: the slice channel's folder, the same one in every container.
    const slices = sliceDir ? [{ host: sliceDir, container: SLICE_MOUNT, readOnly: false }] : [];
    return {
      ...svc,
      environment: {
        ...svc.environment,
        ...spyEnvironment(svc, spy),
        ...(sliceDir ? { REALSTACK_SLICE_DIR: SLICE_MOUNT } : {}),
      },
      binds: [
        ...svc.binds.filter((b) => b.container !== SPY_MOUNT && b.container !== SLICE_MOUNT),
        { host: spyDir(), container: SPY_MOUNT, readOnly: true },
        ...slices,
      ],
      stopGraceSeconds: Math.max(svc.stopGraceSeconds, Math.ceil(spy.flushMs / 1000) + 10),
    };
  });
  return { ...stack, services };
}

/** What the spy of a run is told: how long a stop may take to flush, and the snapshot signal. */
export interface SpyOptions {
  flushMs: number;
  signal: NodeJS.Signals;
}

/** The signals that end or stop a process: never a snapshot's. */
const STOPPING = new Set(['SIGTERM', 'SIGINT', 'SIGKILL', 'SIGSTOP', 'SIGQUIT', 'SIGHUP']);

/** The run's spy options: realstack.json's flush time, and REALSTACK_COVERAGE_SIGNAL checked. */
export function spyOptions(config: { coverage: { flushMs: number }; env: NodeJS.ProcessEnv }): SpyOptions {
  const signal = config.env.REALSTACK_COVERAGE_SIGNAL || 'SIGUSR2';
  const why = !(signal in os.constants.signals)
    ? 'there is no such signal'
    : signal === 'SIGUSR1'
      ? "it opens Node's inspector"
      : STOPPING.has(signal)
        ? 'it ends or stops a process'
        : undefined;
  if (why)
    throw new UserError(
      `REALSTACK_COVERAGE_SIGNAL=${signal} cannot be the coverage snapshot signal: ${why}. ` +
        'Leave it unset for SIGUSR2, or name one the services do not use themselves, such as SIGWINCH.',
      2,
    );
  return { flushMs: config.coverage.flushMs, signal: signal as NodeJS.Signals };
}

/** The variables that make the spy measure a service (coverage-spy/index.cjs reads them). */
function spyEnvironment(svc: ServiceSpec, spy: SpyOptions): Record<string, string> {
  // The image's own NODE_OPTIONS (a preload, a heap size) too: the overlay's value replaces it.
  const own = environmentOf(svc).NODE_OPTIONS;
  return {
    NODE_OPTIONS: `${own ? `${own} ` : ''}--require ${SPY_MOUNT}/index.cjs`,
    NODE_V8_COVERAGE: DUMP_DIR,
    REALSTACK_COVERAGE_FLUSH_MS: String(spy.flushMs),
    ...(spy.signal !== 'SIGUSR2' ? { REALSTACK_COVERAGE_SIGNAL: spy.signal } : {}),
    REALSTACK_SERVICE: svc.name,
    ...(svc.sourceRoot ? { REALSTACK_SOURCE_ROOT: svc.sourceRoot.container } : {}),
    ...(svc.entry ? { REALSTACK_ENTRY: svc.entry.join(',') } : {}),
  };
}

/** The overlay as compose YAML would say it, for a user who wants to see it (`realstack coverage overlay`). */
export function overlayOf(stack: StackSpec, spy: SpyOptions): Record<string, unknown> {
  const instrumented = instrument(stack, spy);
  return {
    services: Object.fromEntries(
      instrumented.services
        .filter((s, i) => s !== stack.services[i])
        .map((s) => [
          s.name,
          {
            environment: spyEnvironment(stack.services.find((o) => o.name === s.name) as ServiceSpec, spy),
            volumes: [`${spyDir()}:${SPY_MOUNT}:ro`],
            stop_grace_period: `${s.stopGraceSeconds}s`,
          },
        ]),
    ),
  };
}

import type { StopResult } from './types.js';

/** One line per stopped process: its exit code, and what a kill means for the service. */
export function describeStop(r: StopResult): string {
  const why = r.endedBefore
    ? ' (it had ended before the stop)'
    : r.exitCode === 137
      ? ' (killed at the end of its grace period: it did not stop on SIGTERM. Give it a SIGTERM handler, start its last step with `exec` when its command runs in a shell, or raise stop_grace_period)'
      : !r.graceful
        ? ' (not a graceful stop)'
        : r.exitCode !== undefined && r.exitCode !== 0 && r.exitCode !== 143
          ? ' (it stopped on SIGTERM, with an error: its log says why)'
          : '';
  return `  ${r.instance}: exit ${r.exitCode ?? '-'}${why}`;
}

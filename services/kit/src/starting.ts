/**
 * Imported first by each service's main, before its dependencies load: until `runService`
 * installs the graceful stop, a SIGTERM or SIGINT means "do not start", and the process ends at
 * once (exit 0). Without a handler a container's PID 1 ignores the signal, and Docker waits out
 * the grace period before it kills: a `down` right after a failed `up` did, 15 s.
 */
export function stopWhileStarting(signal: NodeJS.Signals): void {
  process.stderr.write(`${signal} while starting; not starting\n`);
  process.exit(0);
}

process.on('SIGTERM', stopWhileStarting);
process.on('SIGINT', stopWhileStarting);

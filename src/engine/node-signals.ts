import path from 'node:path';
import type Docker from 'dockerode';
import { execIn } from './container-exec.js';

/**
 * Docker gives a stop's signal to a container's PID 1 only. A service started through npm or a
 * shell (`CMD ["npm", "start"]`, `sh -c "node server.js"`) has them as PID 1: npm passes SIGTERM
 * to its shell, the shell does not pass it on, and node dies with PID 1 without ever seeing it
 * (no graceful stop, no coverage dump). The process engine signals a service's whole process
 * group; for a container, realstack gives its node processes the signal itself.
 */

/** PID 1 is node: run directly, or by the official image's entrypoint, which execs it. */
export function pid1IsNode(info: Docker.ContainerInspectInfo): boolean {
  const first = path.basename(info.Path);
  return (
    first === 'node' || (first === 'docker-entrypoint.sh' && path.basename(info.Args[0] ?? '') === 'node')
  );
}

/**
 * More than one node process in the container (cluster workers, a forked job), asked of the
 * daemon (`docker top`, no exec): Docker's signal reaches PID 1 only, and the others would die
 * with the container, killed, their coverage lost.
 */
export async function severalNodes(container: Docker.Container): Promise<boolean> {
  try {
    // The daemon runs the host's ps on the container's processes, and needs its PID column.
    const top = await container.top({ ps_args: '-o pid,comm' });
    const at = (top.Titles as string[]).indexOf('COMMAND');
    return (top.Processes as string[][]).filter((p) => p[at] === 'node').length > 1;
  } catch {
    return false;
  }
}

// POSIX sh, as every image with a shell has it: each process named node gets the signal; the
// exit status says whether one did.
const SIGNAL_NODES =
  'n=0; cd /proc || exit 1; for p in [0-9]*; do read -r c 2>/dev/null <"$p/comm" || continue; ' +
  'if [ "$c" = node ] && kill -s "$1" "$p" 2>/dev/null; then n=$((n + 1)); fi; done; [ "$n" -gt 0 ]';

/** Gives the container's node processes `signal`; false when none got it (or it has no shell). */
export async function signalNodes(docker: Docker, id: string, signal: NodeJS.Signals): Promise<boolean> {
  const name = signal.replace(/^SIG/, '');
  return (await execIn(docker, id, ['/bin/sh', '-c', SIGNAL_NODES, 'sh', name], 5000))?.exitCode === 0;
}

import { readFileSync } from 'node:fs';

/** The state letter of /proc/PID/stat ("R", "S", "T" for stopped, "Z"), or undefined. */
function procState(pid: number): string | undefined {
  try {
    // "pid (comm) STATE ...": comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Stopped by a signal (SIGSTOP): a paused process of the process engine. */
export const isStopped = (pid: number | undefined): boolean => pid !== undefined && procState(pid) === 'T';

/** Running, not merely a zombie: a runner whose parent has exited waits for init to reap it. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = procState(pid);
  return state === undefined ? process.platform !== 'linux' : state !== 'Z';
}

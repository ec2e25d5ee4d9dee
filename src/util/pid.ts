import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/PID/stat after the command's name, the state letter first ("R", "S", "T"
 * for stopped, "Z"), then ppid, pgrp, ...; undefined where there is none (gone, or not Linux).
 * The name may hold spaces and parentheses, so the fields are read after its last ')'.
 */
export function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const procState = (pid: number): string | undefined => statFields(pid)?.[0];

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

import { readdirSync } from 'node:fs';
import { statFields } from '../util/pid.js';

/**
 * The signals a runner passes on to its service's group: the stops compose files ask for
 * (`stop_signal`). Not SIGUSR1, which starts Node's inspector in the runner itself.
 */
export const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const;

/**
 * The processes of process group `group` (the runner starts each service as a group's leader),
 * from /proc; none where /proc cannot tell (not Linux). Zombies, which have ended and wait only
 * to be reaped, are not counted.
 */
export function groupMembers(group: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    const [state, , pgrp] = statFields(entry) ?? [];
    return Number(pgrp) === group && state !== 'Z' ? [Number(entry)] : [];
  });
}

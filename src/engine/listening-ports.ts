import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { groupMembers } from './process-group.js';

/** A socket inode to the TCP port it listens on, from the kernel's tables (state 0A: LISTEN). */
function listeningSockets(): Map<string, number> {
  const out = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && f[1] && f[9]) out.set(f[9], Number.parseInt(f[1].split(':')[1] ?? '', 16));
    }
  }
  return out;
}

/**
 * The TCP ports the processes of a service's process group listen on, sorted; undefined where
 * /proc cannot tell (not Linux). The process engine uses it to say which port a service took
 * when it does not answer on the one realstack gave it.
 */
export function groupListeningPorts(group: number): number[] | undefined {
  let sockets: Map<string, number>;
  try {
    readdirSync('/proc/self/fd');
    sockets = listeningSockets();
  } catch {
    return undefined;
  }
  const ports = new Set<number>();
  for (const pid of groupMembers(group)) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        const port = inode && sockets.get(inode);
        if (port) ports.add(port);
      } catch {}
    }
  }
  return [...ports].sort((a, b) => a - b);
}

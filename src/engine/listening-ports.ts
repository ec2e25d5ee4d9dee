import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { groupMembers } from './process-group.js';

const LISTEN = '0A';

/**
 * A socket inode to the TCP port it listens on, from the kernel's tables. The kernel lists
 * listening sockets first and makes the table as it is read, so reading stops at the first line
 * that is not one: the rest walks every bucket of the connections' hash, 8 ms a table on this
 * machine, paid on each look while the services it waits for are starting.
 */
function listeningSockets(): Map<string, number> {
  const out = new Map<string, number>();
  const chunk = Buffer.alloc(1024);
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let fd: number;
    try {
      fd = openSync(table, 'r');
    } catch {
      continue;
    }
    try {
      let pending = '';
      let header = true;
      for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
        const lines = (pending + chunk.toString('latin1', 0, n)).split('\n');
        pending = lines.pop() ?? '';
        if (header) lines.shift();
        header = false;
        const done = lines.some((line) => {
          const f = line.trim().split(/\s+/);
          if (f[3] !== LISTEN) return true;
          if (f[1] && f[9]) out.set(f[9], Number.parseInt(f[1].split(':')[1] ?? '', 16));
          return false;
        });
        if (done) break;
      }
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/** The inodes of the sockets the processes of a group hold open. */
function groupSockets(group: number): Set<string> {
  const inodes = new Set<string>();
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
        if (inode) inodes.add(inode);
      } catch {}
    }
  }
  return inodes;
}

/**
 * The TCP ports the processes of a service's process group listen on, sorted; undefined where
 * /proc cannot tell (not Linux). The process engine uses it to say which port a service took
 * when it does not answer on the one realstack gave it.
 */
export function groupListeningPorts(group: number): number[] | undefined {
  try {
    readdirSync('/proc/self/fd');
  } catch {
    return undefined;
  }
  const mine = groupSockets(group);
  if (mine.size === 0) return [];
  const ports = new Set<number>();
  for (const [inode, port] of listeningSockets()) if (mine.has(inode)) ports.add(port);
  return [...ports].sort((a, b) => a - b);
}

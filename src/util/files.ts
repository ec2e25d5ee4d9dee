import { closeSync, mkdirSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Writes `text` to `file` (its folder made if need be), then renames: a reader never sees half a
 * file. The temp file is this process's own, so two writers of one file never write into each
 * other's.
 */
export function writeFileWhole(file: string, text: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** realstack's folder in the user's cache (XDG_CACHE_HOME, else ~/.cache): no other user writes there. */
export const userCacheDir = (...parts: string[]): string =>
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'realstack', ...parts);

/** The last `lines` lines of a file, reading at most its last 64 KiB. */
export function tailFile(file: string, lines: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const all = buf.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}

/** Reads all of `file` into `buf` (grown when too small) and returns the part it fills. */
async function readInto(file: string, slot: { buf: Buffer }): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (slot.buf.length < size) slot.buf = Buffer.allocUnsafe(Math.max(size, slot.buf.length * 2));
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await fh.read(slot.buf, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return slot.buf.subarray(0, filled);
  } finally {
    await fh.close();
  }
}

/**
 * The files' contents in order, read `ahead` at a time before the caller needs them: the reads
 * run on libuv's threads while the caller works on the file before. The buffers are reused:
 * each one is valid until the caller asks for the next (hundreds of fresh megabyte buffers
 * would keep the garbage collector busy).
 */
export async function* readAhead(files: string[], ahead = 4): AsyncGenerator<Buffer> {
  const slots = Array.from({ length: ahead + 1 }, () => ({ buf: Buffer.alloc(0) }));
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const more = () => {
    while (next < files.length && pending.length < ahead) {
      pending.push(readInto(files[next] as string, slots[next % slots.length] as { buf: Buffer }));
      next++;
    }
  };
  more();
  while (pending.length > 0) {
    const buf = await (pending.shift() as Promise<Buffer>);
    more();
    yield buf;
  }
}

/** `p` is the folder `dir` or inside it (container paths: POSIX, `dir` with or without its final `/`). */
export function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir.replace(/\/$/, '')}/`);
}

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { isAlive } from './pid.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` while holding `<file>.lock` (made with O_EXCL, holding this pid), so two runs that
 * read, change and write the same file one after the other never lose each other's change. A
 * lock whose process is gone (killed mid-write) is taken over. `onWait` hears once which
 * process holds it, when this one has to wait.
 */
export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T> | T,
  { timeoutMs = 30_000, onWait }: { timeoutMs?: number; onWait?: (holder: number) => void } = {},
): Promise<T> {
  const lock = `${file}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: number;
      try {
        holder = Number(readFileSync(lock, 'utf8').trim() || 0);
      } catch {
        continue; // released between our try and this read
      }
      if (holder > 0 && !isAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (holder > 0) {
        onWait?.(holder);
        onWait = undefined;
      }
      if (Date.now() > deadline)
        throw new UserError(
          `${file} is locked by process ${holder}, which still runs; wait for it, or remove ${lock} if that process is not realstack.`,
        );
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StackSpec } from '../stack/spec.js';

/**
 * Writes the secrets and configs whose text the compose file gives (`environment: VAR`, a
 * config's `content:`) into `dir`, readable by this user only, and points every service's mount
 * of them at their file. Returns each one's file by its key (`secrets.token`), for the docker
 * run's compose file: compose v1 knows only secrets and configs with a `file`.
 */
export function writeInlineFiles(stack: StackSpec, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const svc of stack.services)
    for (const mount of svc.fileMounts) {
      if (mount.inline === undefined) continue;
      let file = files.get(mount.inline);
      if (!file) {
        file = path.join(dir, mount.inline);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(file, mount.text ?? '', { mode: 0o600 });
        files.set(mount.inline, file);
      }
      mount.host = file;
    }
  return files;
}

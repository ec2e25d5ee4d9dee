import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

/** A project folder of its own holding these files (paths relative to it), removed after the test. */
export function tempProject(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-project-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

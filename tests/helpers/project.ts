import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { root, run } from './cli.js';

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

/**
 * The plugins this checkout's tap is built with. A project that links it must ask for the same
 * set: with another, tap rebuilds its shared build under the tests running beside this one.
 */
export const tapPlugins = (
  (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { tap: { plugin?: string[] } }).tap
    .plugin ?? []
).join('\n');

/**
 * A project of its own with realstack and tap installed as a user's project has them (linked to
 * this checkout's), and the CLI run in it on the process engine under a run id of the test's.
 */
export function linkedProject(t: Test, files: Record<string, string>, runId: string) {
  const dir = tempProject(t, files);
  mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(root, path.join(dir, 'node_modules', 'realstack'));
  symlinkSync(path.join(root, 'node_modules', 'tap'), path.join(dir, 'node_modules', 'tap'));
  symlinkSync(path.join(root, 'node_modules', '.bin', 'tap'), path.join(dir, 'node_modules', '.bin', 'tap'));
  const realstack = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [path.join(root, 'bin/realstack.js'), ...args], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REALSTACK_ENGINE: 'process',
        REALSTACK_RUN_ID: runId,
        TAP_PLUGIN: tapPlugins,
        ...env,
      },
      extendEnv: false,
    });
  return { dir, realstack };
}

/** A Node service that answers JSON on every path, for a project's compose file. */
export const tinyService = (extra = '') => `const http = require('node:http');
http
  .createServer((req, res) => {
${extra}    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  })
  .listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * A project's test file that says it runs (its pid in REALSTACK_TEST_MARKER's file, written aside
 * and renamed, so a test that sees the file never reads it empty), then waits to be killed.
 */
export const waitingTest = `import { renameSync, writeFileSync } from 'node:fs';
import t from 'tap';
t.test('waits to be killed', async (t) => {
  writeFileSync(process.env.REALSTACK_TEST_MARKER + '.tmp', String(process.pid));
  renameSync(process.env.REALSTACK_TEST_MARKER + '.tmp', process.env.REALSTACK_TEST_MARKER);
  await new Promise((r) => setTimeout(r, 120_000));
  t.pass('was not killed');
});
`;

export const tinyCompose = `services:
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "server.cjs"]
    environment:
      PORT: 8080
    ports: ["8080"]
`;

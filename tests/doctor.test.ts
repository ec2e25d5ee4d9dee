import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { hasStackTrace, realstack } from './helpers/cli.js';
import { availableEngines, dockerPassOnly, dockerSkipReason } from './helpers/engines.js';

// `doctor` says what this machine has for realstack. The compose CLI is found where it is
// installed, without running it (compose v1 takes half a second to give its version, and every
// `up` used to ask); doctor also runs it, so that one installed but broken is named there.
const docker = (await availableEngines()).includes('docker');
const skip = dockerPassOnly() || (!docker && dockerSkipReason);

/** A folder of its own for PATH (the commands named, linked from this machine) and DOCKER_CONFIG. */
function machine(t: Test, commands: string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-doctor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const c of commands) symlinkSync(`/usr/bin/${c}`, path.join(bin, c));
  return { dir, env: { PATH: bin, DOCKER_CONFIG: path.join(dir, 'docker') } };
}

const line = (stdout: string, what: string) =>
  stdout.split('\n').find((l) => l.slice(6).startsWith(what)) ?? '';

t.test(
  'doctor on this machine: every check passes, the compose CLI with its version',
  { skip },
  async (t) => {
    const res = await realstack(['doctor']);
    t.equal(res.exitCode, 0, res.all);
    t.match(line(res.stdout, 'compose CLI'), /^ok {4}compose CLI +docker[- ]compose \(v[12]\) v?\d+\.\d+/);
    t.match(line(res.stdout, 'docker daemon'), /^ok/);
    t.match(line(res.stdout, 'redis-server'), /^ok {4}redis-server +\/\S+\/redis-server$/);
  },
);

t.test('doctor where no compose CLI is installed: named, with what to install', { skip }, async (t) => {
  const { env } = machine(t, ['env', 'sh', 'docker']);
  const res = await realstack(['doctor'], env);
  t.equal(res.exitCode, 1, 'a daemon without compose cannot run the docker engine');
  t.match(
    line(res.stdout, 'compose CLI'),
    /^FAIL {2}compose CLI +no compose CLI found: install the docker compose plugin \(v2\) or docker-compose \(v1\)/,
  );
  t.match(
    line(res.stdout, 'redis-server'),
    /^note {2}redis-server +not on the PATH: the process engine runs a redis service with it/,
    'a note, not a failure: only a stack with Redis needs it',
  );
  t.notOk(hasStackTrace(res.all ?? ''), 'no stack trace');
});

t.test(
  'doctor where the compose plugin is installed but does not run: named as broken',
  { skip },
  async (t) => {
    const { dir, env } = machine(t, ['env', 'sh', 'docker', 'docker-compose']);
    const plugin = path.join(dir, 'docker', 'cli-plugins', 'docker-compose');
    mkdirSync(path.dirname(plugin), { recursive: true });
    writeFileSync(plugin, '#!/bin/sh\necho "compose: cannot start" >&2\nexit 1\n');
    chmodSync(plugin, 0o755);
    const res = await realstack(['doctor'], env);
    t.equal(res.exitCode, 1);
    t.match(
      line(res.stdout, 'compose CLI'),
      /^FAIL {2}compose CLI +docker compose \(v2\) does not run: /,
      'the plugin is preferred, and found broken when run',
    );
    t.notOk(hasStackTrace(res.all ?? ''), 'no stack trace');
  },
);

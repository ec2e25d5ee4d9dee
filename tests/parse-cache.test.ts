// What a parser made of a text is kept for the next command (src/util/parse-cache.ts): the compose
// files are read by every `up` and `test`, and loading the YAML parser was a tenth of an `up`.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { cachedParse } from '../src/util/parse-cache.js';
import { root, run } from './helpers/cli.js';
import { tempProject, tinyCompose } from './helpers/project.js';

/** A cache folder of the test's own, as XDG_CACHE_HOME; its entries' folder. */
function ownCache(t: Test): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'realstack-cache-'));
  const before = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = home;
  t.teardown(() => {
    if (before === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = before;
    rmSync(home, { recursive: true, force: true });
  });
  return path.join(home, 'realstack', 'parsed');
}

/** A parse that counts how often it ran. */
function counted<T>(value: () => T) {
  const parse = () => {
    parse.runs++;
    return value();
  };
  parse.runs = 0;
  return parse;
}

t.test('a text parsed once is read back, whole, by the next call', async (t) => {
  ownCache(t);
  const value = { services: { db: { ports: [5432], at: new Date(0), limit: Number.POSITIVE_INFINITY } } };
  const parse = counted(() => value);
  t.same(cachedParse('p 1', 'text', parse), value);
  const again = cachedParse('p 1', 'text', parse);
  t.equal(parse.runs, 1, 'parsed once');
  t.same(again, value, 'the same value, its Date and Infinity too (what JSON would lose)');
  t.not(again, value, 'a copy of its own: a caller that changes it changes nothing kept');
});

t.test('another text, or another parser (a new version of it), parses again', async (t) => {
  ownCache(t);
  const parse = counted(() => ({ n: 1 }));
  cachedParse('yaml 2.9.1', 'a: 1', parse);
  cachedParse('yaml 2.9.1', 'a: 2', parse);
  cachedParse('yaml 2.9.2', 'a: 1', parse);
  t.equal(parse.runs, 3);
});

t.test('a parse that throws keeps nothing: the next call says the same', async (t) => {
  const dir = ownCache(t);
  const parse = counted(() => {
    throw new Error('line 4: bad indentation');
  });
  t.throws(() => cachedParse('p', 'bad', parse), /line 4/);
  t.throws(() => cachedParse('p', 'bad', parse), /line 4/);
  t.equal(parse.runs, 2);
  t.notOk(existsSync(dir), 'nothing written');
});

t.test('an entry that cannot be read is parsed again and made whole', async (t) => {
  const dir = ownCache(t);
  const parse = counted(() => ({ ok: true }));
  cachedParse('p', 'text', parse);
  const [entry] = readdirSync(dir);
  writeFileSync(path.join(dir, entry as string), 'not what v8 serialised');
  t.same(cachedParse('p', 'text', parse), { ok: true });
  t.same(cachedParse('p', 'text', parse), { ok: true });
  t.equal(parse.runs, 2, 'parsed again once, then read');
});

t.test('a cache folder that cannot be made costs only the parse', async (t) => {
  const dir = ownCache(t);
  // A file where the folder should go: mkdir fails (ENOTDIR), even for root.
  writeFileSync(path.dirname(dir), '');
  const parse = counted(() => ({ ok: true }));
  t.same(cachedParse('p', 'text', parse), { ok: true });
  t.same(cachedParse('p', 'text', parse), { ok: true });
  t.equal(parse.runs, 2);
});

t.test('bounded: past 200 entries, the newest 100 stay', async (t) => {
  const dir = ownCache(t);
  for (let i = 0; i <= 200; i++) cachedParse('p', `text ${i}`, () => i);
  t.equal(readdirSync(dir).length, 100);
  const parse = counted(() => 200);
  t.equal(cachedParse('p', 'text 200', parse), 200);
  t.equal(parse.runs, 0, 'the newest is among them');
});

t.test('the CLI loads the YAML parser only for a compose file new to this machine', async (t) => {
  const dir = ownCache(t);
  const project = tempProject(t, { 'docker-compose.yml': tinyCompose });
  const config = () =>
    run(process.execPath, [path.join(root, 'bin', 'realstack.js'), 'config', '--json'], {
      cwd: project,
      // Node says which CommonJS files it loads: yaml is one.
      env: { NODE_DEBUG: 'module', XDG_CACHE_HOME: process.env.XDG_CACHE_HOME },
    });
  const loadsYaml = (stderr: string) => /node_modules\/yaml\/dist\/index\.js/.test(stderr);
  const first = await config();
  t.equal(first.exitCode, 0, first.stderr.slice(-500));
  t.ok(loadsYaml(first.stderr), 'the first command parses');
  t.equal(readdirSync(dir).length, 1, 'and keeps what it read');
  const second = await config();
  t.equal(second.exitCode, 0);
  t.notOk(loadsYaml(second.stderr), 'the second reads it back');
  t.equal(second.stdout, first.stdout, 'and reads the same stack');

  writeFileSync(
    path.join(project, 'docker-compose.yml'),
    `${readFileSync(path.join(project, 'docker-compose.yml'), 'utf8')}\n# a change\n`,
  );
  t.ok(loadsYaml((await config()).stderr), 'a changed file is parsed again');
});

import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE, type ServiceConfig } from '../config/project.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { projectOutputs } from '../conventions/outputs.js';
import { UserError } from '../errors.js';
import { INSTALLS_PACKAGES } from '../images/build-failure.js';
import { sentToBuild } from '../images/hash.js';
import type { Log } from '../log.js';
import { loadStack, stackProfiles } from '../stack/compose.js';
import { readDockerfile } from '../stack/dockerfile.js';
import { programOf } from '../stack/infer.js';
import { initScripts, runsOnHost } from '../stack/postgres-settings.js';
import { redisServer } from '../stack/redis-settings.js';
import type { ServiceSpec } from '../stack/spec.js';
import { inferHostBuild } from './host-build.js';
import { migrationFiles } from './migration-files.js';
import { sourceFiles } from './source-files.js';
import { cleanupColumnIn } from './sql-tables.js';
import { justfile, sampleTest, TAP_KEYS, taprc } from './templates.js';
import { testLayout } from './test-files.js';
import { inferTestUrls, serviceProfiles, testRunners } from './test-urls.js';

export interface InitOptions {
  force: boolean;
  dryRun: boolean;
}

/** Paths that look like a health check, where sources define a route: `app.get('/health'`, `url: '/health'`. */
const PATHS = String.raw`\/(?:api\/)?(?:healthz|health|healthcheck|readyz|ready|livez|live|status|ping)`;
const HEALTH = new RegExp(
  String.raw`(?:\.(?:get|head|all|route)\(\s*|\b(?:url|path|pathname|route)\s*(?:[:=]|===?)\s*|\bcase\s+)['"\`](${PATHS})['"\`]`,
  'g',
);
const PREFERENCE = [
  '/healthz',
  '/health',
  '/api/health',
  '/healthcheck',
  '/readyz',
  '/ready',
  '/livez',
  '/status',
  '/ping',
];
const NAMES = String.raw`(?:api\/)?(?:healthz|health|healthcheck|readyz|ready|livez|live|status|ping)`;
/** NestJS: a controller's path (`@Controller('health')`, `@Controller({ path: 'health' })`), and a handler's. */
const NEST_CONTROLLER = /@Controller\(\s*(?:\{[^}]*?\bpath\s*:\s*)?(?:['"`]\/?([^'"`]*)['"`])?/g;
const NEST_HANDLER = /@(?:Get|Head|All)\(\s*(?:['"`]\/?([^'"`]*)['"`])?\s*\)/g;
const NEST_PREFIX = /\.setGlobalPrefix\(\s*['"`]\/?([^'"`]+)['"`]\s*(,[^)]*)?\)/;

/**
 * The health routes a NestJS controller declares: a health controller's handler without a path
 * (`@Controller('health')` with `@Get()`), or a health handler in a controller without one.
 */
function nestRoutes(text: string): string[] {
  const names = new RegExp(`^${NAMES}$`);
  const controllers = [...text.matchAll(NEST_CONTROLLER)].map((m) => m[1] ?? '');
  const handlers = [...text.matchAll(NEST_HANDLER)].map((m) => m[1] ?? '');
  return controllers.flatMap((c) =>
    handlers.flatMap((h) => {
      const route = [c, h].filter(Boolean).join('/');
      return route && names.test(route) ? [`/${route}`] : [];
    }),
  );
}

/** The health paths a service's own sources mention (not node_modules), best first. */
export function healthCandidates(root: string): string[] {
  const found = new Set<string>();
  const nest = new Set<string>();
  let prefix: { name: string; options: string } | undefined;
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(HEALTH)) found.add(m[1] as string);
    for (const r of nestRoutes(text)) nest.add(r);
    const global = NEST_PREFIX.exec(text);
    if (global) prefix = { name: global[1] as string, options: global[2] ?? '' };
  }
  // A global prefix moves every route under it, but those its `exclude` names.
  for (const r of nest) found.add(prefix && !prefix.options.includes(r.slice(1)) ? `/${prefix.name}${r}` : r);
  return [...found].sort((a, b) => PREFERENCE.indexOf(a) - PREFERENCE.indexOf(b));
}

/**
 * The package command a service runs (`npx knex migrate:latest`, `prisma migrate deploy` from
 * node_modules/.bin), when it runs no script of its own.
 */
function packageCommand(svc: ServiceSpec): string | undefined {
  const { cmd, npx } = programOf(svc.command ?? []);
  if (!cmd) return undefined;
  if (npx) return `npx ${cmd}`;
  const bin = svc.sourceRoot && path.join(svc.sourceRoot.host, 'node_modules', '.bin', cmd);
  return bin && existsSync(bin) ? cmd : undefined;
}

/**
 * Where a service's own sources are, nearest first: its entry's folder, its working directory,
 * its source root. A source root shared by several services (`.:/srv`, each with a working_dir
 * of its own) holds the others' routes too.
 */
function serviceDirs(svc: ServiceSpec): string[] {
  const root = svc.sourceRoot as NonNullable<ServiceSpec['sourceRoot']>;
  const onHost = (container: string) => path.join(root.host, path.posix.relative(root.container, container));
  const dirs = [
    ...(svc.entry?.[0] ? [path.dirname(path.join(root.host, svc.entry[0]))] : []),
    ...(svc.workingDir ? [onHost(svc.workingDir)] : []),
    root.host,
  ];
  const inside = (d: string) => !path.relative(root.host, d).startsWith('..');
  return [...new Set(dirs.filter((d) => inside(d) && existsSync(d)))];
}

interface Plan {
  files: { file: string; text: string; append?: boolean }[];
  /** What could not be inferred, each with the exact line to add. */
  todo: string[];
  /** What was inferred, for the user to check. */
  found: string[];
}

const rel = (config: ToolkitConfig, p: string) => path.relative(config.projectDir, p) || '.';

function serviceEntry(config: ToolkitConfig, svc: ServiceSpec, plan: Plan): ServiceConfig {
  const entry: ServiceConfig = { role: svc.role };
  for (const n of svc.notes.filter((n) => n.kind !== 'missing')) plan.found.push(`${svc.name}: ${n.text}`);
  if (svc.role === 'postgres') {
    const found = cleanupColumnIn([
      ...initScripts(svc)
        .filter((s) => runsOnHost(s.name))
        .map((s) => s.file),
      ...migrationFiles(config.projectDir),
    ]);
    const example = found ?? { table: 'users', column: 'email' };
    plan.todo.push(
      `${svc.name}: to let \`npx realstack cleanup\` delete rows your tests leave, add to its entry in ${CONFIG_FILE}${found ? '' : ' a table of yours and a text column your tests fill, such as'}: "sqlCleanup": [{"table": "${example.table}", "column": "${example.column}"}] (rows whose value starts with TEST${found ? `; ${found.table}.${found.column} is a text column ${rel(config, found.file)} creates` : ''}; with test rows in it, \`npx realstack cleanup --show\` reads its schema and names them)`,
    );
    return entry;
  }
  if (svc.role === 'redis') {
    plan.found.push(
      `${svc.name}: Redis: the process engine runs it with this machine's redis-server, ${redisServer(config.env) ? 'which is here' : 'which is not on the PATH here (`apt-get install redis-server`)'}`,
    );
    return entry;
  }
  if (svc.role !== 'node') {
    plan.found.push(
      `${svc.name}: not Node, PostgreSQL or Redis; the docker engine runs it, the process engine cannot`,
    );
    return entry;
  }
  if (svc.sourceRoot) entry.sourceRoot = `${svc.sourceRoot.container}=${rel(config, svc.sourceRoot.host)}`;
  else
    plan.todo.push(
      `${svc.name}: its source root is unknown (no bind mount covers its working_dir, no build context): add "sourceRoot": "/app=." to its entry in ${CONFIG_FILE}`,
    );
  const tool = packageCommand(svc);
  if (svc.entry) entry.entry = svc.entry;
  else if (tool)
    plan.found.push(
      `${svc.name}: runs a package's command (${tool}), not a script of its own: every Node process in it counts as the service, so its coverage is of the project's files it loads (set "entry" to narrow it)`,
    );
  else
    plan.todo.push(
      `${svc.name}: which script is the service could not be read from its command: add "entry": ["dist/server.js"] (relative to its source root), or every Node process in it counts as the service`,
    );
  const checked = svc.checkFetches?.port === svc.containerPort ? svc.checkFetches?.path : undefined;
  if (checked) {
    // The compose file's own check says it: a route of a sibling's in a shared source tree does not.
    entry.healthPath = checked;
    plan.found.push(`${svc.name}: health path ${checked} (what its health check fetches)`);
  } else if (svc.containerPort && svc.sourceRoot) {
    const [best, ...others] =
      serviceDirs(svc)
        .map(healthCandidates)
        .find((found) => found.length > 0) ?? [];
    if (best) {
      entry.healthPath = best;
      plan.found.push(
        `${svc.name}: health path ${best} (its sources name it${others.length ? `; also ${others.join(', ')}` : ''})`,
      );
    } else
      plan.todo.push(
        `${svc.name}: no health route found in its sources; it counts as ready once port ${svc.containerPort} accepts connections. Add "healthPath": "/health" if it has one`,
      );
  }
  return entry;
}

/** Test runners whose files tap cannot run (their globals, their own runtime). */
const OTHER_RUNNERS = ['vitest', 'jest', 'mocha', 'ava'];

function readPackage(projectDir: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Every service, whatever its profiles: init describes the whole stack. */
function wholeStack(config: ToolkitConfig) {
  const profiles = stackProfiles(config.composeFiles);
  const stack = loadStack(config.composeFiles, config.env, { profiles, projectDir: config.projectDir });
  return { stack, profiles };
}

function plan(config: ToolkitConfig): Plan {
  const missing = config.composeFiles.filter((f) => !existsSync(f));
  if (missing.length > 0 && config.composeFilesFrom === 'COMPOSE_FILE')
    throw new UserError(
      `COMPOSE_FILE=${config.env.COMPOSE_FILE} names ${missing.map((f) => rel(config, f)).join(', ')}, which is not there: realstack runs the files compose would. Fix COMPOSE_FILE (in the environment or .env), or name the files: REALSTACK_COMPOSE_FILES=compose.yml,compose.dev.yml npx realstack init`,
    );
  if (missing.length > 0)
    throw new UserError(
      `no compose file at ${missing.map((f) => rel(config, f)).join(', ')}: realstack runs your stack from it. Run init where your compose file is, or name it: REALSTACK_COMPOSE_FILES=deploy/compose.yml npx realstack init`,
    );
  const out: Plan = { files: [], todo: [], found: [] };
  const { stack, profiles: all } = wholeStack(config);
  const runners = testRunners(stack);
  const runnerNames = new Set(runners.map((r) => r.service.name));
  // A test runner is no service of the stack to measure or wait for: realstack runs the tests.
  const services = Object.fromEntries(
    stack.services.filter((s) => !runnerNames.has(s.name)).map((s) => [s.name, serviceEntry(config, s, out)]),
  );
  // A profile that holds only the compose file's test runners is not started: realstack runs the tests.
  const runnerOnly = all.filter((p) =>
    Object.keys(stack.model.services as object)
      .filter((name) => serviceProfiles(stack, name).includes(p))
      .every((name) => runnerNames.has(name)),
  );
  const profiles = all.filter((p) => !runnerOnly.includes(p));
  const project: Record<string, unknown> = {};
  const files = config.composeFiles.map((f) => rel(config, f));
  // COMPOSE_FILE stays compose's to say: a machine without it (a CI's clone, without .env) runs
  // what `docker compose up` runs there, and so does realstack.
  const fromVariable = config.composeFilesFrom === 'COMPOSE_FILE';
  project.compose = { ...(fromVariable ? {} : { files }), ...(profiles.length ? { profiles } : {}) };
  if (fromVariable)
    out.found.push(
      `compose files ${files.join(', ')}: COMPOSE_FILE names them, and realstack reads it as compose does (from the environment or .env) wherever it runs; set compose.files in ${CONFIG_FILE} to fix the files instead`,
    );
  if (profiles.length)
    out.found.push(
      `profiles ${profiles.join(', ')}: every one is started; edit compose.profiles in ${CONFIG_FILE} to start fewer`,
    );
  project.services = services;
  const dockerfiles = stack.services.map((spec) => ({
    spec,
    dockerfile: spec.build
      ? readDockerfile(spec.build.dockerfile, spec.build.args, spec.build.target)
      : undefined,
  }));
  const hostBuild = inferHostBuild(dockerfiles, config.projectDir, projectOutputs(config));
  if (hostBuild) {
    // The images build it themselves (their Dockerfile runs it): only the process engine needs it here.
    project.images = {
      hostBuild: { command: hostBuild.command, inputs: hostBuild.inputs, engines: ['process'] },
    };
    out.found.push(
      `host build \`${hostBuild.command.join(' ')}\` before a stack starts, whenever ${hostBuild.inputs.join(', ')} changed (${hostBuild.from.map((f) => `the Dockerfile of ${f.services.join(', ')} runs \`${f.step}\``).join('; ')}: the process engine runs the services from this machine's files, so it builds them as the images do, and the docker engine leaves it to the images; edit images.hostBuild in ${CONFIG_FILE} to change it)`,
    );
  }
  const tests = testLayout(config.projectDir);
  out.found.push(...tests.found);
  const urls = inferTestUrls(config.projectDir, tests.dirs, stack.services);
  out.found.push(...urls.found);
  out.todo.push(...urls.todo);
  if (Object.keys(urls.env).length > 0) project.testEnv = urls.env;
  const [runner, ...others] = runners;
  if (runner) {
    project.testEnvFrom = runner.service.name;
    const addresses = runner.addresses.length
      ? `, its addresses of the stack (${runner.addresses.join(', ')}) made each run's`
      : '';
    const apart = runner.profiles.length > 0 && runner.profiles.every((p) => runnerOnly.includes(p));
    const what = `${runner.service.name} runs the tests in a container (\`${(runner.service.command ?? []).join(' ')}\`${apart ? `, profile ${runner.profiles.join(', ')}` : ''})`;
    const instead = `\`npx realstack test\` runs them on this machine instead, with its environment${addresses} (testEnvFrom in ${CONFIG_FILE})${others.length ? `; ${others.map((o) => o.service.name).join(', ')} too, whose environment is not used` : ''}`;
    if (apart) out.found.push(`${what}: ${instead}; that profile is not started`);
    else
      out.todo.push(
        `${what}, and every service without a profile starts with the stack: give it \`profiles: [test]\` in the compose file. ${instead}`,
      );
  }
  project.coverage = { global: {}, files: {}, allowMissing: [] };
  // Seed 003's policy: two retries, and a test that passes on one is counted flaky, not failed.
  project.flaky = { retries: 2, failOnFlaky: false };
  out.files.push({ file: CONFIG_FILE, text: `${JSON.stringify(project, null, 2)}\n` });

  const hasJustfile = ['justfile', 'Justfile', '.justfile'].find((f) =>
    existsSync(path.join(config.projectDir, f)),
  );
  if (hasJustfile) {
    out.files.push({ file: 'realstack.just', text: justfile() });
    out.todo.push(
      `your ${hasJustfile} is kept: add the line \`import 'realstack.just'\` to it for realstack's recipes`,
    );
  } else out.files.push({ file: 'justfile', text: justfile() });
  const pkg = readPackage(config.projectDir);
  const deps = { ...(pkg?.dependencies as object), ...(pkg?.devDependencies as object) };
  if (!('rust-just' in deps))
    out.todo.push(
      'the recipes need `just`: `npm install -D rust-just` (or use `npx realstack ...` directly, the same commands)',
    );

  const dir = tests.dir;
  const tool = 'tap' in deps ? undefined : OTHER_RUNNERS.find((r) => r in deps);
  if (tool || tests.others.length > 0) {
    const files = tests.others.map(
      ({ dir, count }) => `${count} test file${count === 1 ? '' : 's'} in ${dir}/`,
    );
    const runner = tool ?? 'Vitest, Jest, Mocha or Playwright';
    const one = tests.others.length === 1 && tests.others[0]?.count === 1;
    const them = one ? 'it' : 'them';
    const command = tool === 'vitest' ? 'vitest run' : (tool ?? '<your runner>');
    out.todo.push(
      `${files.length ? `${files.join(', ')} run${one ? 's' : ''} with ${runner}, which tap cannot run: .taprc leaves ${them} out` : `your tests run with ${runner} (package.json), and \`npx realstack test\` runs tap (node:test files too)`}. Run ${them} on a stack with \`npx realstack up\`, then \`(eval "$(npx realstack env)"; npx ${command})\`, then \`npx realstack down\`; for the services' coverage, \`up --coverage\` and, after the tests, \`npx realstack coverage harvest\` and \`coverage report\` (docs/adopting.md)`,
    );
  }
  if (pkg && 'tap' in pkg)
    out.todo.push(
      `package.json has tap settings of its own, kept; add to its "tap": ${JSON.stringify({ include: tests.include, ...(tests.exclude.length ? { exclude: tests.exclude } : {}), ...TAP_KEYS })}`,
    );
  else out.files.push({ file: '.taprc', text: taprc(tests.include, tests.exclude) });

  const ignore = path.join(config.projectDir, '.gitignore');
  // A line the user wrote for a folder (`coverage`, `/coverage/`, `coverage/`) counts as there.
  const bare = (line: string) => line.trim().replace(/^\/|\/$/g, '');
  const present = new Set(existsSync(ignore) ? readFileSync(ignore, 'utf8').split(/\r?\n/).map(bare) : []);
  const lines = projectOutputs(config)
    .map((dir) => path.relative(config.projectDir, dir))
    .filter((rel) => rel && !rel.startsWith('..') && !path.isAbsolute(rel) && !present.has(rel))
    .map((rel) => `/${rel}/`);
  if (lines.length > 0)
    out.files.push({
      file: '.gitignore',
      text: `# realstack's outputs\n${lines.join('\n')}\n`,
      append: true,
    });

  for (const context of new Set(stack.services.flatMap((s) => (s.build ? [s.build.context] : [])))) {
    const file = path.join(context, '.dockerignore');
    const dockerignore = rel(config, file);
    // A build context that holds the project takes in realstack's outputs too, unless told not to.
    const sent = sentToBuild(context, projectOutputs(config));
    const text = sent.length
      ? `# realstack's outputs (runs, logs, generated secrets, reports) stay out of images\n${sent.join('\n')}\n`
      : '';
    // Its node_modules sent to a build that installs its own: seconds to minutes of every build,
    // and a `COPY . .` after the install puts this machine's packages over the image's.
    const modules = path.join(context, 'node_modules');
    const installing = dockerfiles
      .filter(
        (d) =>
          d.spec.build?.context === context &&
          d.dockerfile?.runs.some((r) => INSTALLS_PACKAGES.test(r.command)),
      )
      .map((d) => d.spec.name)
      .join(', ');
    const modulesSent = installing && existsSync(modules) && sentToBuild(context, [modules]).length > 0;
    if (modulesSent && !existsSync(file)) {
      // A .dockerignore of init's own: what Docker's own templates write for a Node project.
      out.files.push({
        file: dockerignore,
        text: `# the image installs its own packages (its Dockerfile's RUN)\nnode_modules\n${text}`,
      });
      out.found.push(
        `${dockerignore}: node_modules stays out of the builds of ${installing}, whose Dockerfile installs its own packages (sending it costs every build its upload, and a COPY . . after the install would put this machine's packages over the image's)`,
      );
      continue;
    }
    if (text) out.files.push({ file: dockerignore, text, append: true });
    if (modulesSent)
      out.todo.push(
        `${rel(config, modules)} goes to every build of ${installing}, whose Dockerfile installs its own packages: add node_modules to ${dockerignore} (a COPY . . after the install would also put this machine's packages over the image's)`,
      );
  }

  const web = stack.services.find((s) => s.role === 'node' && s.containerPort);
  out.files.push({
    file: path.join(dir, 'realstack.test.mjs'),
    text: sampleTest(web?.name, web ? (services[web.name]?.healthPath ?? undefined) : undefined),
  });
  return out;
}

/**
 * `npx realstack init`: reads the project's compose files, infers what it can (which services
 * are PostgreSQL and which Node, each Node service's source root, entry script, port and
 * health path), and writes realstack.json, a justfile, tap settings, .gitignore lines and one
 * sample test. No file is overwritten without --force; the compose files are never written.
 */
export function init(config: ToolkitConfig, options: InitOptions, log: Log): number {
  const p = plan(config);
  const written: string[] = [];
  const kept: string[] = [];
  for (const f of p.files) {
    const file = path.join(config.projectDir, f.file);
    if (!f.append && existsSync(file) && !options.force) {
      kept.push(f.file);
      continue;
    }
    const existed = existsSync(file);
    if (!options.dryRun) {
      mkdirSync(path.dirname(file), { recursive: true });
      if (f.append)
        appendFileSync(file, `${existed && !readFileSync(file, 'utf8').endsWith('\n') ? '\n' : ''}${f.text}`);
      else writeFileSync(file, f.text);
    }
    written.push(f.append && existed ? `${f.file} (lines added)` : f.file);
  }
  const say = (title: string, items: string[]) =>
    items.length && log(`${title}\n${items.map((i) => `  ${i}`).join('\n')}`);
  say(options.dryRun ? 'would write:' : 'wrote:', written);
  say('kept (they exist; --force overwrites them):', kept);
  say('inferred, and what runs will change (check them):', p.found);
  say('could not infer; to do:', p.todo);
  log(
    'next: `npx realstack config --explain` shows what realstack reads of the stack; `npx realstack test` runs the tests.',
  );
  return 0;
}

/**
 * The files `realstack init` writes into a project. The justfile is also this repository's own
 * (a test keeps the two the same, but for how the CLI is reached), so the recipes users get are
 * the ones realstack is tested with.
 */

const RECIPES: [string, string, string][] = [
  [
    'test *args',
    'test "$@"',
    'Stack up if needed, readiness, the tap tests, then "N passed, N failed" (args go to tap)',
  ],
  [
    'test-parallel *args',
    'test --jobs auto "$@"',
    'The tests with one tap job per core (serial tests still run alone)',
  ],
  ['test-n n *args', 'test --jobs "$@"', 'The tests with N tap jobs (`just test-n 4 test/some.test.js`)'],
  [
    'test-fast *args',
    'test --set parallel-safe --jobs auto --bail "$@"',
    'The quick loop: everything but the serial tests, one job per core, stop at the first failure',
  ],
  ['test-serial *args', 'test --set serial --jobs 1 "$@"', "Only tap's serial tests, one file at a time"],
  [
    'test-parallel-safe *args',
    'test --set parallel-safe --jobs auto "$@"',
    'Everything but the serial tests, one job per core',
  ],
  [
    'test-by-module *args',
    'test --by-module --jobs auto "$@"',
    "One file per worker, then a table of each file's results and time",
  ],
  [
    'test-smoke *args',
    'test --set smoke "$@"',
    'The smoke tests against an already running stack (URLs from the environment or .env)',
  ],
  [
    'test-golden-update *args',
    'test --set golden --update-golden "$@"',
    'Rewrite the golden snapshots from real responses (refused under CI=true)',
  ],
  [
    'test-sidecar-coverage *args',
    'test-coverage "$@"',
    'The tests on a fresh stack with the coverage spy; then stop, harvest, reports, gates, down',
  ],
  [
    'test-merge *args',
    'merge "$@"',
    "CI's shards as one run (`just test-merge shard-1 shard-2 ...`): JUnit, closing line, coverage and gates",
  ],
  [
    'test-impact-record *args',
    'test-coverage --per-test "$@"',
    'The same, one file at a time, recording which test ran which service lines (the impact map)',
  ],
  [
    'test-impact *args',
    'test-impact "$@"',
    'The tests a change needs, each with its reason, then run (`--since main`, or the changed files)',
  ],
  ['impact-analysis *args', 'impact "$@"', 'Which tests a change needs and why, nothing run'],
  [
    'test-selective *args',
    'test-impact --brief "$@"',
    'Run only the tests a change needs, and say how much of the suite was skipped',
  ],
  [
    'test-cleanup-show *args',
    'cleanup --show "$@"',
    "Test data the services hold (TEST names, or a run's) and resources of dead runs",
  ],
  ['test-cleanup *args', 'cleanup "$@"', "Delete that test data, and reap the dead runs' resources"],
  [
    'perf *args',
    'perf "$@"',
    'The load profiles: p50/p95/p99 and throughput against perf/baselines/ (`--update-baseline`, `--against REF`)',
  ],
  [
    'db *args',
    'db "$@"',
    "The stack's PostgreSQL: `just db backup [--out FILE]`, `just db restore FILE` (schema checked first)",
  ],
  [
    'scale *args',
    'scale "$@"',
    'More or fewer instances of a running service (`just scale api=3`), under a bounded load that counts lost requests',
  ],
  [
    'restart *args',
    'restart "$@"',
    'Restart a service in place: `just restart api --rolling`, one instance at a time, each ready before the next',
  ],
  [
    'update *args',
    'update "$@"',
    'Roll a service onto its current build (`just update api`), a new instance ready before each old one leaves',
  ],
  [
    'chaos *args',
    'chaos "$@"',
    'Faults in a stack of its own: kill, pause, db-stop, db-latency, db-drop (all, or those named)',
  ],
  [
    'quality-gates *args',
    'gates "$@"',
    'Every gate in one table: security suite, flakiness, performance, coverage (exit 1 if any fails)',
  ],
  [
    'security-gate',
    'gates security',
    'The security suite (realstack.json gates.security) passes, quarantine or not',
  ],
  ['performance-gate', 'gates performance', 'The load profiles within their thresholds of the baselines'],
  ['flakiness-gate', 'gates flakiness', 'Flaky test runs within the budget (realstack.json gates.flakiness)'],
  [
    'flakiness-report *args',
    'flakiness "$@"',
    "Each test's failure rate, runs, last failure and class (stack or test); also as HTML",
  ],
  [
    'quarantine-list *args',
    'quarantine "$@"',
    'The tests the history set apart: they still run and are reported, but fail no run',
  ],
  [
    'fix-quarantined *args',
    'fix-quarantined "$@"',
    'Only the quarantined tests, round after round; those that pass every round are released',
  ],
  [
    'diagnose-tests',
    'diagnose',
    "Engine, images, health, test data, your own checks, the last run's failures",
  ],
  ['up *args', 'up "$@"', 'Start a fresh stack and wait until it is ready (e.g. `just up --scale api=2`)'],
  ['down', 'down', 'Stop the stack gracefully and remove everything of its run'],
  ['status *args', 'ps "$@"', 'Each service with its URL, health and engine (`just status --json`)'],
  [
    'env *args',
    'env "$@"',
    'The variables the tests get, as shell exports: `(eval "$(just env)"; npx vitest run)`',
  ],
  ['logs *args', 'logs "$@"', "The services' logs (`just logs -f api`, `just logs --tail 50`)"],
  [
    'ensure-services-ready',
    'wait',
    "Wait until the running stack is healthy, or fail with the culprit's exit code and logs",
  ],
  ['doctor', 'doctor', 'Check this machine: Node, Docker, compose, images, PostgreSQL binaries'],
  [
    'images *args',
    'images "$@"',
    "Pull or build the docker engine's images (stand-ins where none can be pulled), cached",
  ],
  [
    'coverage *args',
    'coverage "$@"',
    'Coverage of a running instrumented stack: snapshot | harvest | report | check | overlay',
  ],
  [
    'config *args',
    'config "$@"',
    'What realstack reads of the stack (`just config --explain`: why, and every rewrite)',
  ],
];

/**
 * The CLI where npm linked it: `npx` would cost npm's own start-up (a second or more) on every
 * recipe. Through npx only where the project's node_modules are elsewhere (a hoisting monorepo).
 */
const INSTALLED_CLI =
  'if path_exists(justfile_directory() / "node_modules/.bin/realstack") == "true" { justfile_directory() / "node_modules/.bin/realstack" } else { "npx --no-install realstack" }';

export function justfile(cli?: string): string {
  const recipes = RECIPES.map(([head, call, doc]) => `# ${doc}\n${head}:\n    @{{realstack}} ${call}\n`);
  return [
    "# realstack's recipes (written by `npx realstack init`). Each is one call into the realstack",
    '# CLI, so everything here also works as `npx realstack ...` without just.',
    '',
    'set positional-arguments',
    '',
    `realstack := ${cli ? JSON.stringify(cli) : INSTALLED_CLI}`,
    '',
    '# List the recipes',
    'default:',
    '    @just --list --unsorted',
    '',
    recipes.join('\n'),
  ].join('\n');
}

/** tap's settings for the project's tests: realstack measures the services, so tap's own coverage is off. */
export function taprc(include: string[], exclude: string[]): string {
  return [
    '# tap for realstack (written by `npx realstack init`): the tests run against the real stack.',
    'include:',
    ...include.map((glob) => `  - "${glob}"`),
    ...(exclude.length
      ? ['# Tests of another runner, which tap cannot run.', 'exclude:', ...exclude.map((f) => `  - "${f}"`)]
      : []),
    "# tap's own coverage would measure the test processes; realstack measures the services.",
    'disable-coverage: true',
    'allow-empty-coverage: true',
    "# A test against a real stack may take longer than tap's default of 30 s.",
    'timeout: 600',
    '',
  ].join('\n');
}

/** The same settings as package.json's "tap" keys, but for the include. */
export const TAP_KEYS = {
  'disable-coverage': true,
  'allow-empty-coverage': true,
  timeout: 600,
};

/** A first test: it reads a service's URL the way every test does, and asks it something real. */
export function sampleTest(service: string | undefined, healthPath: string | undefined): string {
  const header = [
    '// A first test against your real stack (written by `npx realstack init`). `npx realstack test`',
    "// starts the stack, or uses the one `npx realstack up` started, and hands every service's URL",
    "// to the tests; serviceUrl('name') reads it. Keep it, or replace it with tests of your own.",
    "import t from 'tap';",
    "import { serviceUrl } from 'realstack';",
    '',
  ];
  if (!service)
    return [
      ...header,
      "t.test('the stack is up and its services have URLs', async (t) => {",
      "  t.match(serviceUrl(process.env.REALSTACK_SAMPLE_SERVICE ?? 'db'), /^[a-z]+:\\/\\/127\\.0\\.0\\.1:\\d+/);",
      '});',
      '',
    ].join('\n');
  const path = healthPath ?? '/';
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the sample's own template literal, written out as text
  const answered = '`GET ${res.url} answered ${res.status}`';
  return [
    ...header,
    `t.test('${service} answers ${healthPath ? `its health path ${healthPath}` : 'on /'}', async (t) => {`,
    `  const res = await fetch(new URL('${path}', serviceUrl('${service}')));`,
    healthPath ? `  t.ok(res.ok, ${answered});` : `  t.ok(res.status < 500, ${answered});`,
    '});',
    '',
  ].join('\n');
}

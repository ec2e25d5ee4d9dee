import { parseArgs } from 'node:util';
import { UserError } from '../errors.js';
import { commands } from './commands.js';

const usage = `realstack: run tests against the real stack and measure the services' coverage

usage: realstack <command> [options]

  init [--force] [--dry-run]
                          read the compose file(s) and write realstack.json, a justfile,
                          tap settings, .gitignore lines and a sample test
  config [--explain] [--json]
                          what realstack reads of the stack; --explain: why, and every
                          rewrite it makes
  up [--scale svc=N]... [--coverage] [--profile P]...
                          start a fresh stack and wait until it is ready
  down                    stop it gracefully and remove everything of its run
  ps [--json]             each service with its URL, health and engine
  env [--json]            the variables the tests get (every service's URL, realstack.json's
                          testEnv), as shell exports: eval "$(npx realstack env)"
  logs [-f] [--tail N] [service]
                          the services' output (-f: follow)
  wait                    wait until the running stack is ready
  doctor                  check this machine: Node, Docker, compose, images, PostgreSQL
  images [--stand-ins]    build the images the docker engine runs (cached)
  test [--set S] [--jobs N|auto] [--retries N] [--fail-flaky] [--shard I/N] [--by-module]
       [--update-golden] [--profile P]... [--list] [tap args]
                          stack up if needed, run the tests (set: all, serial,
                          parallel-safe, smoke, golden), print "N passed, N failed";
                          --retries: failing files run again (a pass then is flaky);
                          --shard 2/4: the second of four parts of the set, balanced
                          by earlier runs' durations (for CI's parallel jobs);
                          --list: the set's files, and run nothing
  test-coverage [--profile P]... [--per-test] [--retries N] [--fail-flaky] [--shard I/N] [tap args]
                          the same on a fresh stack with the coverage spy; then graceful
                          stop, harvest, reports under coverage/, gaps and gates, down;
                          --per-test: one file at a time, and the impact map of which
                          test ran which service lines (.realstack/impact-map.json)
  merge DIR...            the shards' results as one run: JUnit, closing line, history,
                          and coverage reports and gates; a missing or failed shard is
                          named (exit 1)
  impact [--set S] [--since REF] [FILES...]
                          the tests a change needs, each with its reason (nothing run)
  test-impact [--set S] [--since REF] [--brief] [FILES...]
                          the same, then run exactly those tests
  perf [PROFILE...] [--rounds N] [--update-baseline | --against REF] [--json]
                          the load profiles of realstack.json (autocannon, bounded,
                          loopback): p50, p95, p99 and throughput against the baselines
                          in perf/baselines/, or against REF's stack in the same run
  scale SERVICE=N... [--load PATH | --profile P] [--rate R]
                          more or fewer instances of a running service, each new one
                          ready before it takes load; removed ones stop gracefully,
                          their coverage kept; a bounded load meanwhile: sent, failed,
                          worst latency (exit 1 if any failed)
  restart SERVICE [--rolling] [--load PATH | --profile P] [--rate R]
                          stop and start its instances in place; --rolling: one at a
                          time, each ready before the next (exit 1 if the load failed)
  update SERVICE [--load PATH | --profile P] [--rate R]
                          the host build (and docker images), then the service rolled
                          onto it: a new instance ready first, then each old one
                          replaced; a rollback is the same on the previous build
  db backup [--service S] [--out FILE] | db restore FILE [--service S]
                          the stack's PostgreSQL: every table in one snapshot; a restore
                          in one transaction, refused when the schema differs
  chaos [kill|pause|db-stop|db-latency|db-drop]...
                          faults in a fresh stack of its own, each a steady-state
                          hypothesis checked before, during and after; committed data
                          read back; the coverage of it all under coverage/chaos/
  gates [security|flakiness|performance|coverage]... [--json]
                          seed 003's quality gates in one table (all of them when none
                          is named); test-results/quality-gates.json; exit 1 if any fails
  flakiness [--all] [--json]
                          each test's failure rate over its recent runs, flaky runs,
                          last failure and its class (stack or test); also as HTML
  quarantine [--json]     the tests set apart: they run, and fail no run
  fix-quarantined [--times K]
                          only the quarantined tests, K rounds; release those that
                          pass every round
  cleanup [--show] [--run ID] [--older-than 24h] [--json]
                          test data in the services ("TEST " names, or one run's) and
                          resources of dead runs: listed (--show) or removed
  diagnose                what is wrong with the stack or the last run, and what to do
  coverage snapshot       every instrumented process writes a dump now, without stopping
  coverage harvest        stop the running stack gracefully and copy its dumps to coverage/raw/
  coverage report         reports again from the harvested dumps in coverage/raw/
  coverage check          the gates of realstack.json against the last report
  coverage who FILE:LINE  the tests that ran a line of a service (from the impact map)
  coverage diff --base REF
                          the share of the lines changed since REF that the tests ran,
                          the gate coverage.diff, and coverage/diff.md for a pull request
  coverage overlay        the coverage overlay realstack adds, as compose YAML

every command takes --engine auto|docker|process|external (REALSTACK_ENGINE, for that command)

environment: REALSTACK_ENGINE=auto|docker|process|external, REALSTACK_COMPOSE_FILES,
COMPOSE_PROFILES, REALSTACK_READY_TIMEOUT_MS, REALSTACK_RUN_ID; see docs/configuration.md`;

/**
 * `--engine NAME` (or `--engine=NAME`) anywhere before a `--`: the engine of this command and of
 * what it starts, as REALSTACK_ENGINE chooses it (the config validates the name).
 */
let engineFlag = false;

function takeEngine(args: string[]): string[] {
  const own = args.includes('--') ? args.indexOf('--') : args.length;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (i >= own || (arg !== '--engine' && !arg.startsWith('--engine='))) {
      out.push(arg);
      continue;
    }
    const value = arg === '--engine' ? args[++i] : arg.slice('--engine='.length);
    if (!value || value.startsWith('-'))
      throw new UserError('--engine needs a name: --engine docker (or process, external, auto).', 2);
    process.env.REALSTACK_ENGINE = value;
    engineFlag = true;
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = takeEngine(argv);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command)
    throw new UserError(
      `unknown command "${name}"; the commands are ${Object.keys(commands).join(', ')}.\n\n${usage}`,
      2,
    );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: command.options ?? {},
      allowPositionals: true,
      strict: !command.passThrough,
    });
  } catch (err) {
    const option = /^Unknown option '([^']+)'/.exec((err as Error).message)?.[1];
    if (!option) throw new UserError(`realstack ${name}: ${(err as Error).message}`, 2);
    const known = Object.keys(command.options ?? {}).map((o) => `--${o}`);
    throw new UserError(
      `realstack ${name}: unknown option ${option}; ${known.length > 0 ? `its options are ${known.join(', ')}` : 'it takes none'}, and every command takes --engine (\`realstack --help\` says what each does).`,
      2,
    );
  }
  // Loaded once a command runs: `--help` and usage errors stay quick.
  const { loadToolkitConfig } = await import('../config/toolkit.js');
  const config = loadToolkitConfig();
  if (engineFlag) config.engineSource = '--engine';
  return command.run(
    config,
    parsed.values as Record<string, unknown>,
    command.passThrough ? rest : parsed.positionals,
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UserError) {
      process.stderr.write(`realstack: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(
        `realstack: unexpected failure (a bug; please report it with this trace):\n${(err as Error).stack}\n`,
      );
      process.exitCode = 70;
    }
  },
);

// tap's runner imports two packages at its start that a run with the `tap` reporter never
// uses: `@tapjs/reporter` (Ink, React and Yoga, for its terminal reporters) and `pacote` (for
// `tap plugin add`). Loading them is 0.6 s of CPU and 0.4 s of wall time of every
// `realstack test` (docs/performance.md), so in the runner they resolve to modules that load
// nothing.
// realstack reads the TAP stream itself and starts tap this way only when the run's reporter is
// `tap` (./command.ts), so neither stand-in is ever asked for what it does not have.
//
// With tap's coverage off, the test processes need no `@tapjs/processinfo` either: it records
// what each process loads, for coverage and `tap --changed`, and tap puts it both in a test
// process's arguments (@tapjs/run's test-argv.js) and in the NODE_OPTIONS its spawn gives it
// (@tapjs/core's spawn.js), from where it rides into every Node process a test starts. Each such
// process paid 0.2 to 0.4 s of CPU for it (docs/performance.md). And in a project that shows no
// TypeScript (./typescript.ts), a test process of a JavaScript file needs no TypeScript loader,
// which tap's default plugins give every test process: about 1 s of CPU (docs/performance.md).
// ./command.ts says which of these the run has (`coverage=off`, `typescript=by-file`); only then
// do those imports get their stand-ins, which read the same words from their own URLs.
//
// A runner started before the stack is up (`wait=stack`) gets a run.js that waits for the
// stack's environment before the tests start (./gated-run.ts): the runner's second of module
// loading overlaps the stack's start.
import type { InitializeHook, ResolveHook } from 'node:module';

/** What ./command.ts said of the run, in register.js's URL: `coverage=off`, `typescript=by-file`, `wait=stack`. */
let run = new URLSearchParams();

interface StandIn {
  /** The package whose module imports it (a path fragment of the importer's URL). */
  importer: string;
  specifier: string;
  module: string;
  /** Taken only for a run of which this is true. */
  when?: (run: URLSearchParams) => boolean;
}

const coverageOff = (run: URLSearchParams) => run.get('coverage') === 'off';

const STAND_INS: StandIn[] = [
  { importer: '/@tapjs/run/', specifier: '@tapjs/reporter', module: './no-reporter.js' },
  { importer: '/@tapjs/run/', specifier: 'pacote', module: './on-first-call.js' },
  {
    importer: '/@tapjs/run/',
    specifier: './test-argv.js',
    module: './argv-without-processinfo.js',
    when: coverageOff,
  },
  {
    importer: '/@tapjs/run/',
    specifier: './run.js',
    module: './gated-run.js',
    when: (run) => run.get('wait') === 'stack',
  },
  {
    importer: '/@tapjs/core/',
    specifier: '@tapjs/processinfo',
    module: './test-spawn.js',
    when: (run) => coverageOff(run) || run.get('typescript') === 'by-file',
  },
];

export const initialize: InitializeHook<string> = (search) => {
  run = new URLSearchParams(search);
};

export const resolve: ResolveHook = async (specifier, context, next) => {
  const standIn = STAND_INS.find(
    (s) => s.specifier === specifier && context.parentURL?.includes(s.importer) && (s.when?.(run) ?? true),
  );
  if (!standIn) return next(specifier, context);
  // Resolved as tap would, so the stand-in can load the very module tap asked for.
  const real = await next(specifier, context);
  const url = new URL(`${standIn.module}?${run}`, import.meta.url);
  url.searchParams.set('module', real.url);
  return { url: url.href, format: 'module', shortCircuit: true };
};

import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import type { ToolkitConfig } from '../config/toolkit.js';
import type { Log } from '../log.js';
import { jobsArgIndex, tapConfig } from './selection.js';
import { tapCommand, tapPath } from './tap-runner/command.js';
import { showsTypeScript } from './tap-runner/typescript.js';

/** A tap run as started: its process group's leader, and the code it exits with. */
export interface TapProcess {
  child: ChildProcess;
  exited: Promise<number>;
  /**
   * For a runner started ahead of the stack: lets it run its tests, with the stack's environment
   * (URLs, run id) added to its own. Its modules were loading meanwhile.
   */
  go?: (stackEnv: Record<string, string | undefined>) => void;
  /** Stops tap's whole process group (tap and every test process) with this signal. */
  signal: (signal: NodeJS.Signals) => void;
  /** Kills a tap that is still running: one started ahead for a stack that never came. */
  abandon: () => void;
}

/**
 * Starts tap in the project with these arguments. Its environment is this process's and the
 * project's (`config.env`), with the stack's (URLs, run id) on top.
 */
export const startTap = (
  config: ToolkitConfig,
  tapArgs: string[],
  stackEnv: Record<string, string | undefined>,
  log: Log,
): TapProcess => launch(config, tapArgs, stackEnv, log, false) as TapProcess;

/**
 * Starts tap's runner before the stack is up: it loads its modules, then waits on its fd 3 for
 * the stack's environment (`go`) before it runs a test (./tap-runner/gated-run.ts). Undefined
 * where that start is not possible: a tap whose runner realstack does not start itself.
 */
export const startTapAhead = (config: ToolkitConfig, tapArgs: string[], log: Log): TapProcess | undefined =>
  launch(config, tapArgs, {}, log, true);

function launch(
  config: ToolkitConfig,
  tapArgs: string[],
  stackEnv: Record<string, string | undefined>,
  log: Log,
  ahead: boolean,
): TapProcess | undefined {
  const env = { ...process.env, ...config.env, ...stackEnv };
  // tap's coverage would measure the test processes (realstack measures the services), and
  // without any it exits 1 for no test's fault: off unless the project's tap settings say.
  const own = tapConfig(config.projectDir);
  const coverageArgs = tapArgs.some((a) => /coverage/.test(a));
  const coverage = 'disable-coverage' in own || coverageArgs ? [] : ['--disable-coverage'];
  const coverageOff = coverage.length > 0 || (own['disable-coverage'] === true && !coverageArgs);
  // tap's default leaves one core free: one job at a time on the two-core runners most CI
  // systems give. Test files against a real stack spend much of their time waiting on it,
  // so one job per core unless the project's tap settings or the arguments say.
  const jobs = 'jobs' in own || jobsArgIndex(tapArgs) >= 0 ? [] : [`--jobs=${os.availableParallelism()}`];
  const command = tapCommand(config.projectDir, ['--reporter=tap', ...coverage, ...jobs, ...tapArgs], {
    coverageOff,
    typescriptByFile: !showsTypeScript(config.projectDir, own, env),
    waitForStack: ahead,
  });
  if (ahead && !command.waitsForStack) return undefined;
  // node:child_process, not execa: its 150 modules were 0.2 s of CPU before every tap start.
  const child = spawn(command.file, command.args, {
    cwd: config.projectDir,
    env: { ...env, PATH: tapPath(config.projectDir, env.PATH) },
    stdio: ['ignore', 'pipe', 'inherit', ahead ? 'pipe' : 'ignore'],
    // A group of its own, so an interrupt reaches tap and every test process it started.
    detached: true,
  });
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // The group is gone already.
    }
  };
  // However this process ends (a stack that never came up, an interrupt during `up`), no tap is
  // left waiting for it.
  const onExit = () => signal('SIGKILL');
  process.once('exit', onExit);
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code) => {
      process.removeListener('exit', onExit);
      resolve(code ?? 1);
    });
    child.on('error', (err) => {
      log(`tap did not start (${err.message}): install it in the project, \`npm install --save-dev tap\``);
      resolve(1);
    });
  });
  const gate = child.stdio[3];
  const go =
    ahead && gate && 'end' in gate
      ? (stackEnv: Record<string, string | undefined>) => {
          // A runner that ended early (a bad tap setting) has closed its end: tap said why.
          gate.on('error', () => {});
          gate.end(JSON.stringify(stackEnv));
        }
      : undefined;
  const abandon = () => {
    if (child.exitCode === null && child.signalCode === null) signal('SIGKILL');
  };
  return { child, exited, go, signal, abandon };
}

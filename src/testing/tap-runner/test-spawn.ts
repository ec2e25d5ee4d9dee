// What @tapjs/core's spawn.js imports as `@tapjs/processinfo` (./hooks.ts): its ProcessInfo,
// whose `spawn` starts each test process. With tap's coverage off it starts it as
// node:child_process does, without adding processinfo to the process's NODE_OPTIONS. With
// `typescript=by-file`, a test process whose arguments name no TypeScript (or JSX) file starts
// without tap's TypeScript loader, which loads ts-node and TypeScript before a test's first line.
import { type SpawnOptions, spawn } from 'node:child_process';
import { TYPESCRIPT_FILE } from './typescript.js';

const params = new URL(import.meta.url).searchParams;
const real = (await import(params.get('module') ?? '')) as {
  ProcessInfo: (new (...args: never[]) => object) & { spawn: typeof plainSpawn };
};
const coverageOff = params.get('coverage') === 'off';
const typescriptByFile = params.get('typescript') === 'by-file';

const TYPESCRIPT_LOADER = /^--(import|loader)=.*[\\/]@tapjs[\\/]typescript[\\/]/;

function plainSpawn(command: string, args: string[], options: SpawnOptions & { externalID?: string }) {
  const { externalID: _, ...rest } = options;
  return spawn(command, args, rest);
}

const testSpawn: typeof plainSpawn = (command, args, options) => {
  const needed =
    typescriptByFile && !args.some((a) => TYPESCRIPT_FILE.test(a))
      ? args.filter((a) => !TYPESCRIPT_LOADER.test(a))
      : args;
  return coverageOff
    ? plainSpawn(command, needed, options)
    : real.ProcessInfo.spawn(command, needed, options);
};

export class ProcessInfo extends real.ProcessInfo {
  static override get spawn() {
    return testSpawn;
  }
}

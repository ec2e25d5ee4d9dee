// What @tapjs/core's spawn.js imports as `@tapjs/processinfo` when tap's coverage is off
// (./hooks.ts): its ProcessInfo, whose `spawn` starts a test process as node:child_process does,
// without adding processinfo to the process's NODE_OPTIONS.
import { type SpawnOptions, spawn } from 'node:child_process';

const real = (await import(new URL(import.meta.url).searchParams.get('module') ?? '')) as {
  ProcessInfo: new (...args: never[]) => object;
};

const plainSpawn = (command: string, args: string[], options: SpawnOptions & { externalID?: string }) => {
  const { externalID: _, ...rest } = options;
  return spawn(command, args, rest);
};

export class ProcessInfo extends real.ProcessInfo {
  static get spawn() {
    return plainSpawn;
  }
}

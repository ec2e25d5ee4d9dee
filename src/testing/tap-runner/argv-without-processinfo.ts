// What tap's runner imports as its test-argv.js when tap's coverage is off (./hooks.ts): the
// same arguments for a test process, less @tapjs/processinfo's `--import` (or `--loader`).
type TestArgv = (config: unknown) => string[];

const real = (await import(new URL(import.meta.url).searchParams.get('module') ?? '')) as {
  testArgv: TestArgv;
  nodeOptions: (config: unknown) => string;
};

const PROCESSINFO = /^--(import|loader)=.*[\\/]@tapjs[\\/]processinfo[\\/]/;

export const testArgv: TestArgv = (config) => real.testArgv(config).filter((arg) => !PROCESSINFO.test(arg));
export const nodeOptions = real.nodeOptions;

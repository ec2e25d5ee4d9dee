/** The engines this machine can run: process always, docker when a daemon answers. */
export async function availableEngines(): Promise<('process' | 'docker')[]> {
  // Loaded only here: every test file imports this helper, and CI's passes never ask.
  const { daemonAnswers, dockerEndpoint } = await import('../../src/engine/docker.js');
  const docker = await daemonAnswers(dockerEndpoint(process.env));
  return docker ? ['process', 'docker'] : ['process'];
}

export const dockerSkipReason = 'no Docker daemon answers on this machine';

/**
 * The engines a test of engine behaviour runs on in this run of the suite: the engine the
 * suite's own stack runs on (CI runs the whole suite once on each, so every such test runs on
 * both), or every engine here when the suite runs on neither (the external engine).
 */
export async function passEngines(): Promise<('process' | 'docker')[]> {
  const own = process.env.REALSTACK_ENGINE;
  return own === 'process' || own === 'docker' ? [own] : availableEngines();
}

/** Why a test of one engine is left to the other pass of the suite. */
export const otherPass = (engine: 'process' | 'docker'): string =>
  `runs in the suite's ${engine} pass (REALSTACK_ENGINE=${engine} npx just test)`;

/**
 * Tests of the toolkit's own logic on a small project of their own, which always runs on the
 * process engine: the process pass of the suite runs them, the docker pass says so and skips.
 */
export const processPassOnly = (): string | false =>
  process.env.REALSTACK_ENGINE === 'docker' ? otherPass('process') : false;

/**
 * Tests that run once, in the docker pass of the suite: the process pass says so and skips
 * (a developer's own run with no REALSTACK_ENGINE runs them on whatever engine it has).
 */
export const dockerPassOnly = (): string | false =>
  process.env.REALSTACK_ENGINE === 'process' ? otherPass('docker') : false;

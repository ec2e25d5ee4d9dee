import { daemonAnswers, dockerEndpoint } from '../../src/engine/docker.js';

/** The engines this machine can run: process always, docker when a daemon answers. */
export async function availableEngines(): Promise<('process' | 'docker')[]> {
  const docker = await daemonAnswers(dockerEndpoint(process.env).docker);
  return docker ? ['process', 'docker'] : ['process'];
}

export const dockerSkipReason = 'no Docker daemon answers on this machine';

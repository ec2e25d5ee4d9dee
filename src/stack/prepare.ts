import type { ToolkitConfig } from '../config/toolkit.js';
import type { EngineName } from '../engine/types.js';
import type { Log } from '../log.js';
import type { StackSpec } from './spec.js';

/**
 * The build a run's services start from: the project's host build if it has one, and for docker
 * the images made from it; each only when its inputs changed. `update` rolls a running stack onto
 * it.
 */
export async function buildForRun(config: ToolkitConfig, log: Log, engine: EngineName, stack: StackSpec) {
  const { runHostBuild } = await import('../images/host-build.js');
  if (engine !== 'external') await runHostBuild(config, log, engine);
  if (engine === 'docker') {
    const { ensureImages } = await import('../images/build.js');
    await ensureImages(config, stack, log, { reuse: true, standIns: false });
  }
}

/**
 * What a new stack needs first: what killed runs left behind reaped (so a killed `just test`
 * is cleaned up by the next run), then its build. Each step's modules load when it runs: `up`
 * on the process engine never loads the image builder.
 */
export const prepareRun =
  (config: ToolkitConfig, log: Log) => async (engine: EngineName, stack: StackSpec) => {
    const { reapOrphans } = await import('../cleanup/reaper.js');
    await reapOrphans(config, log);
    await buildForRun(config, log, engine, stack);
  };

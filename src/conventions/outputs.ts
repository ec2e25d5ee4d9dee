import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';

/**
 * What realstack writes into a project, as absolute paths: its state (runs, logs, the stack's
 * generated secrets), coverage reports, test results and tap's own folder. Every run changes
 * them, so nothing should treat them as sources: not the impact selection, not an image build.
 */
export function projectOutputs(config: ToolkitConfig): string[] {
  return [
    config.stateDir,
    config.coverageDir,
    path.join(config.projectDir, 'test-results'),
    path.join(config.projectDir, '.tap'),
  ];
}

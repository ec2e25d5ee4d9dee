import { existsSync } from 'node:fs';
import path from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { UserError } from './errors.js';

export type EngineChoice = 'auto' | 'docker' | 'process' | 'external';

/** The toolkit's settings, from the environment over `.env`, validated once here. */
export interface ToolkitConfig {
  projectDir: string;
  engine: EngineChoice;
  composeFiles: string[];
  stateDir: string;
  readyTimeoutMs: number;
  /** Where harvested dumps (raw/) and reports go. */
  coverageDir: string;
  /** Thresholds and accepted gaps (realstack.coverage.json). */
  coverageConfigFile: string;
  env: NodeJS.ProcessEnv;
}

const engines: EngineChoice[] = ['auto', 'docker', 'process', 'external'];

export function loadToolkitConfig(
  projectDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): ToolkitConfig {
  const merged: NodeJS.ProcessEnv = { ...env };
  const envFile = path.join(projectDir, '.env');
  if (existsSync(envFile)) {
    const parsed = loadDotenv({ path: envFile, processEnv: {}, quiet: true }).parsed ?? {};
    for (const [k, v] of Object.entries(parsed)) merged[k] ??= v;
  }
  const engine = (merged.REALSTACK_ENGINE || 'auto') as EngineChoice;
  if (!engines.includes(engine)) {
    throw new UserError(
      `REALSTACK_ENGINE=${merged.REALSTACK_ENGINE} is not an engine; use one of ${engines.join(', ')}.`,
    );
  }
  const timeout = Number(merged.REALSTACK_READY_TIMEOUT_MS || 120_000);
  if (!Number.isInteger(timeout) || timeout <= 0) {
    throw new UserError(
      `REALSTACK_READY_TIMEOUT_MS=${merged.REALSTACK_READY_TIMEOUT_MS} must be a positive number of milliseconds.`,
    );
  }
  const composeFiles = (merged.REALSTACK_COMPOSE_FILES || 'docker-compose.yml')
    .split(',')
    .map((f) => path.resolve(projectDir, f.trim()));
  return {
    projectDir,
    engine,
    composeFiles,
    stateDir: path.resolve(projectDir, merged.REALSTACK_STATE_DIR || '.realstack'),
    readyTimeoutMs: timeout,
    coverageDir: path.resolve(projectDir, merged.REALSTACK_COVERAGE_DIR || 'coverage'),
    coverageConfigFile: path.resolve(
      projectDir,
      merged.REALSTACK_COVERAGE_CONFIG || 'realstack.coverage.json',
    ),
    env: merged,
  };
}

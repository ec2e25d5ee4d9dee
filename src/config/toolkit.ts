import { existsSync } from 'node:fs';
import path from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { UserError } from '../errors.js';
import {
  CONFIG_FILE,
  type CoverageConfig,
  loadCoverageFile,
  loadProjectConfig,
  type ProjectConfig,
} from './project.js';

export type EngineChoice = 'auto' | 'docker' | 'process' | 'external';

/** The toolkit's settings, from the environment over `.env` and realstack.json, validated once here. */
export interface ToolkitConfig {
  projectDir: string;
  engine: EngineChoice;
  /** Where the engine was asked for, to say so: the variable, or the command's `--engine`. */
  engineSource: 'REALSTACK_ENGINE' | '--engine';
  composeFiles: string[];
  /** Who named the compose files, to say so; undefined for compose's default names. */
  composeFilesFrom?: 'REALSTACK_COMPOSE_FILES' | 'compose.files' | 'COMPOSE_FILE';
  /** Compose profiles to start (COMPOSE_PROFILES, or realstack.json's compose.profiles). */
  profiles: string[];
  stateDir: string;
  readyTimeoutMs: number;
  /** Where harvested dumps (raw/) and reports go. */
  coverageDir: string;
  /** Thresholds and accepted gaps: realstack.json's coverage, or REALSTACK_COVERAGE_CONFIG's file. */
  coverage: CoverageConfig;
  project: ProjectConfig;
  env: NodeJS.ProcessEnv;
}

const engines: EngineChoice[] = ['auto', 'docker', 'process', 'external'];

/** The names compose itself looks for, in its order, when no file is given. */
const DEFAULT_COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** Compose's own default: the first file found, with its override file beside it if there is one. */
function defaultComposeFiles(projectDir: string): string[] {
  const found =
    DEFAULT_COMPOSE_FILES.find((f) => existsSync(path.join(projectDir, f))) ?? 'docker-compose.yml';
  const ext = path.extname(found);
  const override = `${found.slice(0, -ext.length)}.override${ext}`;
  return existsSync(path.join(projectDir, override)) ? [found, override] : [found];
}

/**
 * Compose's own COMPOSE_FILE, from the environment or the project's .env as compose reads it:
 * `docker-compose.yml:docker-compose.dev.yml`, split on COMPOSE_PATH_SEPARATOR (`:` here).
 */
function composeFileVariable(merged: NodeJS.ProcessEnv): string[] | undefined {
  const files = (merged.COMPOSE_FILE ?? '')
    .split(merged.COMPOSE_PATH_SEPARATOR || path.delimiter)
    .map((f) => f.trim())
    .filter(Boolean);
  return files.length > 0 ? files : undefined;
}

/** Values of a dotenv file under those already set. */
function addDotenv(merged: NodeJS.ProcessEnv, file: string): void {
  if (!existsSync(file)) return;
  const parsed = loadDotenv({ path: file, processEnv: {}, quiet: true }).parsed ?? {};
  for (const [k, v] of Object.entries(parsed)) merged[k] ??= v;
}

export const secretsFile = (stateDir: string) => path.join(stateDir, 'secrets.env');

/** What compose takes as a project name, which a run's id becomes part of (and of its folders). */
const RUN_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * A run id given in REALSTACK_RUN_ID names the run's compose project, its folders and its labels.
 * Compose v1 lowercases a project name it is given, so the containers of `MyRun` carried a label
 * realstack never looked for, and `up` waited for them until its timeout.
 */
function checkRunId(id: string | undefined): void {
  if (!id || RUN_ID.test(id)) return;
  const like = id
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  throw new UserError(
    `REALSTACK_RUN_ID=${JSON.stringify(id)} cannot name a run: a run id becomes the name of its compose project and its folders, which take lowercase letters, digits, "-" and "_" (a letter or digit first, 63 at most). ${like ? `Use ${like}, for example, or` : 'Use such an id, or'} leave REALSTACK_RUN_ID unset for a new id per \`up\`.`,
  );
}

export function loadToolkitConfig(
  projectDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): ToolkitConfig {
  const merged: NodeJS.ProcessEnv = { ...env };
  addDotenv(merged, path.join(projectDir, '.env'));
  const stateDir = path.resolve(projectDir, merged.REALSTACK_STATE_DIR || '.realstack');
  // Secrets realstack generated (src/secrets.ts) come last: anything the user set wins.
  addDotenv(merged, secretsFile(stateDir));
  const project = loadProjectConfig(path.resolve(projectDir, merged.REALSTACK_CONFIG || CONFIG_FILE));
  const engine = (merged.REALSTACK_ENGINE || 'auto') as EngineChoice;
  if (!engines.includes(engine)) {
    throw new UserError(
      `REALSTACK_ENGINE=${merged.REALSTACK_ENGINE} (or --engine ${merged.REALSTACK_ENGINE}) is not an engine; use one of ${engines.join(', ')}.`,
    );
  }
  checkRunId(merged.REALSTACK_RUN_ID);
  const timeout = Number(merged.REALSTACK_READY_TIMEOUT_MS || 120_000);
  if (!Number.isInteger(timeout) || timeout <= 0) {
    throw new UserError(
      `REALSTACK_READY_TIMEOUT_MS=${merged.REALSTACK_READY_TIMEOUT_MS} must be a positive number of milliseconds.`,
    );
  }
  // realstack's own settings first; then what `docker compose up` would read here.
  const [named, composeFilesFrom] = merged.REALSTACK_COMPOSE_FILES
    ? [merged.REALSTACK_COMPOSE_FILES.split(','), 'REALSTACK_COMPOSE_FILES' as const]
    : project.compose.files
      ? [project.compose.files, 'compose.files' as const]
      : [composeFileVariable(merged), 'COMPOSE_FILE' as const];
  const composeFiles = (named ?? defaultComposeFiles(projectDir)).map((f) =>
    path.resolve(projectDir, f.trim()),
  );
  const profiles =
    merged.COMPOSE_PROFILES !== undefined
      ? merged.COMPOSE_PROFILES.split(',')
          .map((p) => p.trim())
          .filter(Boolean)
      : (project.compose.profiles ?? []);
  return {
    projectDir,
    engine,
    engineSource: 'REALSTACK_ENGINE',
    composeFiles,
    composeFilesFrom: named ? composeFilesFrom : undefined,
    profiles,
    stateDir,
    readyTimeoutMs: timeout,
    coverageDir: path.resolve(projectDir, merged.REALSTACK_COVERAGE_DIR || 'coverage'),
    coverage: merged.REALSTACK_COVERAGE_CONFIG
      ? loadCoverageFile(path.resolve(projectDir, merged.REALSTACK_COVERAGE_CONFIG))
      : project.coverage,
    project,
    env: merged,
  };
}

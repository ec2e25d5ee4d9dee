import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';

/** One variable a service reads: how to parse it, and what to tell a user who got it wrong. */
export interface VarSpec<T> {
  parse(raw: string): T;
  /** Used when the variable is absent; without it the variable is required. */
  default?: string;
  /** Shown in the error: what a good value looks like. */
  hint: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export const port: VarSpec<number>['parse'] = (raw) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('must be a whole number from 0 to 65535');
  return n;
};

export const postgresUrl: VarSpec<string>['parse'] = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`has protocol "${url.protocol}", expected postgres:`);
  }
  return raw;
};

export const text: VarSpec<string>['parse'] = (raw) => {
  if (raw.trim() === '') throw new Error('is empty');
  return raw;
};

/** A credential: long enough that guessing it is hopeless. */
export const secret: VarSpec<string>['parse'] = (raw) => {
  if (raw.length < 32) throw new Error('is too short: use at least 32 random characters');
  return raw;
};

type Specs = Record<string, VarSpec<unknown>>;
type Parsed<S extends Specs> = { [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never };

/**
 * Reads `.env` (or the file named by ENV_FILE) under the real environment, which wins,
 * and validates every variable at once so a user sees all problems in one go.
 */
export function loadConfig<S extends Specs>(specs: S, env: NodeJS.ProcessEnv = process.env): Parsed<S> {
  const file = env.ENV_FILE ?? '.env';
  const merged: NodeJS.ProcessEnv = { ...env };
  if (existsSync(file)) {
    const fromFile = loadDotenv({ path: file, processEnv: {}, quiet: true }).parsed ?? {};
    for (const [k, v] of Object.entries(fromFile)) merged[k] ??= v;
  }
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raw = merged[name] ?? spec.default;
    if (raw === undefined) {
      problems.push(`${name} is not set; set it in the environment or ${file} (${spec.hint})`);
      continue;
    }
    try {
      out[name] = spec.parse(raw);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(raw)} ${(err as Error).message} (${spec.hint})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Parsed<S>;
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { within } from '../util/files.js';
import { environmentOf, type ServiceSpec } from './spec.js';

/**
 * What the official postgres image makes of a service's environment, and realstack's stand-in
 * and process engine with it: the superuser, its password, the database, and how connections
 * from elsewhere authenticate (POSTGRES_HOST_AUTH_METHOD; `trust` needs no password).
 */
export interface PostgresSettings {
  user: string;
  password: string;
  database: string;
  auth: string;
  /** POSTGRES_INITDB_ARGS, split on blanks as the image's shell splits it. */
  initdbArgs: string[];
  /** The service's TZ: initdb writes it into postgresql.conf as the cluster's time zone. */
  timezone: string | undefined;
  /** A `*_FILE` variable whose file is not on this machine (an external secret, a path in the image). */
  unreadable?: string;
}

/**
 * What the service reads at a container path: a secret's or config's text (the compose file's
 * own, or its file's), or a file under a bind mount.
 */
function containerText(svc: ServiceSpec, file: string): string | undefined {
  const mount = svc.fileMounts.find((s) => s.container === file);
  if (mount?.text !== undefined) return mount.text;
  const bind = svc.binds
    .filter((b) => within(file, b.container))
    .sort((a, b) => b.container.length - a.container.length)[0];
  const host = mount ? mount.host : bind && path.join(bind.host, path.posix.relative(bind.container, file));
  try {
    return host ? readFileSync(host, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

// Read once per service: the settings are the ones its database was made with, and the docker
// engine asks for the service's URL on every readiness poll (a `_FILE` would be read each time).
const known = new WeakMap<ServiceSpec, PostgresSettings>();

export function postgresSettings(svc: ServiceSpec): PostgresSettings {
  const cached = known.get(svc);
  if (cached) return cached;
  let unreadable: string | undefined;
  const env = environmentOf(svc);
  // As the image reads them: the variable, else the file its _FILE names, without the final newlines.
  const read = (name: string): string | undefined => {
    const file = env[`${name}_FILE`];
    if (env[name] || !file) return env[name];
    const text = containerText(svc, file);
    if (text === undefined) unreadable ??= `${name}_FILE (${file})`;
    return text?.replace(/\n+$/, '');
  };
  const user = read('POSTGRES_USER') || 'postgres';
  const settings: PostgresSettings = {
    user,
    password: read('POSTGRES_PASSWORD') ?? '',
    database: read('POSTGRES_DB') || user,
    auth: env.POSTGRES_HOST_AUTH_METHOD || 'scram-sha-256',
    initdbArgs: (read('POSTGRES_INITDB_ARGS') ?? '').split(/\s+/).filter(Boolean),
    timezone: env.TZ || undefined,
  };
  if (unreadable) settings.unreadable = unreadable;
  known.set(svc, settings);
  return settings;
}

/**
 * The flags of a postgres service's command (`postgres -c max_connections=200`, or the flags
 * alone, which the image runs as postgres's), or undefined when its command runs something else.
 */
export function postgresFlags(svc: ServiceSpec): string[] | undefined {
  const command = svc.command ?? [];
  const flags = path.posix.basename(command[0] ?? '') === 'postgres' ? command.slice(1) : command;
  return flags.length === 0 || flags[0]?.startsWith('-') ? flags : undefined;
}

/** Where the official postgres image (and realstack's stand-in) runs a new database's scripts from. */
const INIT_DIR = '/docker-entrypoint-initdb.d';

/**
 * The init scripts mounted into a postgres service, in the order the image runs them: `.sh`,
 * `.sql`, `.sql.gz`, `.sql.xz`, `.sql.zst` (the image ignores other files).
 */
export function initScripts(svc: ServiceSpec): { name: string; file: string }[] {
  return svc.binds
    .filter((b) => b.container === INIT_DIR || b.container.startsWith(`${INIT_DIR}/`))
    .flatMap((b) =>
      statSync(b.host, { throwIfNoEntry: false })?.isDirectory()
        ? readdirSync(b.host).map((f) => ({ name: f, file: path.join(b.host, f) }))
        : [{ name: path.basename(b.container), file: b.host }],
    )
    .filter((f) => /\.(sh|sql|sql\.gz|sql\.xz|sql\.zst)$/.test(f.name))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The init scripts the process engine can run without the image's tools: SQL, plain or gzipped. */
export const runsOnHost = (name: string): boolean => /\.sql(\.gz)?$/.test(name);

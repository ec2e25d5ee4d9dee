import { UserError } from '../errors.js';
import { isMap } from '../stack/compose.js';

type Yaml = Record<string, unknown>;

/**
 * What compose v1 (docker-compose 1.29, the last) accepts of a service, its healthcheck and its
 * build: the properties of its own schema (compose/config/compose_spec.json). It refuses a file
 * with any other key, so keys the compose spec gained since must not reach it.
 */
const SERVICE = new Set(
  'blkio_config build cap_add cap_drop cgroup_parent command configs container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset credential_spec depends_on deploy device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file environment expose extends external_links extra_hosts group_add healthcheck hostname image init ipc isolation labels links logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports privileged profiles pull_policy read_only restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal storage_opt sysctls tmpfs tty ulimits user userns_mode volumes volumes_from working_dir'.split(
    ' ',
  ),
);
const HEALTHCHECK = new Set(['disable', 'interval', 'retries', 'start_period', 'test', 'timeout']);
const BUILD = new Set([
  'args',
  'cache_from',
  'context',
  'dockerfile',
  'extra_hosts',
  'isolation',
  'labels',
  'network',
  'shm_size',
  'target',
]);
/**
 * Newer keys a test run does without: `compose watch`'s settings, Docker's check interval while
 * a container starts (realstack runs a starting container's check itself), annotations and
 * attaching to logs. Any other key changes what runs, and is refused rather than dropped.
 */
const NOT_NEEDED = new Set(['develop', 'healthcheck.start_interval', 'annotations', 'attach']);

/**
 * The run's compose file as compose v1 reads it: keys it does not know and a run does without
 * left out (and named), any other unknown key refused with what to do.
 */
export function forComposeV1(file: Yaml): { file: Yaml; dropped: string[] } {
  const dropped: string[] = [];
  const refused: string[] = [];
  const keep = (service: string, value: Yaml, known: Set<string>, prefix = ''): Yaml =>
    Object.fromEntries(
      Object.entries(value).filter(([k]) => {
        if (known.has(k) || k.startsWith('x-')) return true;
        (NOT_NEEDED.has(`${prefix}${k}`) ? dropped : refused).push(`${service}'s ${prefix}${k}`);
        return false;
      }),
    );
  const services = Object.fromEntries(
    Object.entries((file.services ?? {}) as Yaml).map(([name, raw]) => {
      const svc = keep(name, raw as Yaml, SERVICE);
      if (isMap(svc.healthcheck)) svc.healthcheck = keep(name, svc.healthcheck, HEALTHCHECK, 'healthcheck.');
      if (isMap(svc.build)) svc.build = keep(name, svc.build, BUILD, 'build.');
      return [name, svc];
    }),
  );
  if (refused.length > 0)
    throw new UserError(
      `the compose CLI here is docker-compose v1, which does not know ${refused.join(', ')} (newer compose file keys) and cannot run this stack as written. Install the compose plugin (v2: \`docker compose\`), or take the keys out of the compose file.`,
    );
  return { file: { ...file, services }, dropped };
}

/** The file as the compose CLI found here reads it, and what was left out for it said. */
export function readableBy(cli: { version: 1 | 2 }, file: Yaml, log?: (line: string) => void): Yaml {
  if (cli.version !== 1) return file;
  const v1 = forComposeV1(file);
  if (v1.dropped.length > 0)
    log?.(
      `  compose v1 does not know ${v1.dropped.join(', ')}: left out of this run, which does without them`,
    );
  return v1.file;
}

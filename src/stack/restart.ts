import { ComposeFileError } from '../errors.js';
import type { RestartPolicy } from './spec.js';

type Yaml = Record<string, unknown>;

const POLICIES = ['no', 'always', 'unless-stopped', 'on-failure'];
/** Swarm's conditions, as compose v2 gives them to Docker; `any` is swarm's default. */
const CONDITIONS: Record<string, string> = { none: 'no', any: 'always', 'on-failure': 'on-failure' };

/**
 * A service's restart policy as compose reads it: `restart: on-failure:3`, or
 * `deploy.restart_policy` (condition and max_attempts), which compose v2 puts in its place.
 * Undefined for `no`; a value compose would refuse is refused here, with the ones it takes.
 */
export function restartPolicy(svc: Yaml, where: string): RestartPolicy | undefined {
  const deploy = svc.deploy as Yaml | undefined;
  const fromDeploy = deploy?.restart_policy as Yaml | undefined;
  let name: string | undefined;
  let retries: unknown;
  /** Where the count of retries is written: what an error in it names. */
  let retriesKey: string;
  if (fromDeploy && typeof fromDeploy === 'object') {
    name = CONDITIONS[String(fromDeploy.condition ?? 'any')];
    if (!name)
      throw new ComposeFileError(
        `${where}: deploy.restart_policy.condition is ${JSON.stringify(fromDeploy.condition)}; compose knows ${Object.keys(CONDITIONS).join(', ')}`,
      );
    retries = name === 'on-failure' ? fromDeploy.max_attempts : undefined;
    retriesKey = 'deploy.restart_policy.max_attempts';
  } else {
    if (svc.restart === undefined || svc.restart === null || svc.restart === false) return undefined;
    const [policy, count, ...rest] = String(svc.restart).split(':');
    name = policy;
    retries = count;
    retriesKey = `restart's N`;
    if (
      !POLICIES.includes(policy as string) ||
      rest.length > 0 ||
      (count !== undefined && policy !== 'on-failure')
    )
      throw new ComposeFileError(
        `${where}: restart is ${JSON.stringify(svc.restart)}; compose knows no, always, unless-stopped, on-failure and on-failure:N (N retries at most)`,
      );
  }
  if (name === 'no') return undefined;
  const maxRetries = retries === undefined || retries === null ? 0 : Number(retries);
  if (!Number.isInteger(maxRetries) || maxRetries < 0)
    throw new ComposeFileError(
      `${where}: ${retriesKey} must be a whole number of retries, not ${JSON.stringify(retries)}`,
    );
  return { name: name as RestartPolicy['name'], ...(maxRetries > 0 ? { maxRetries } : {}) };
}

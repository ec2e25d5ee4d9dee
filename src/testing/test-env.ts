import { placeholders } from '../config/project.js';
import { urlVariable } from '../conventions/urls.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';

/**
 * The environment a test receives (and a perf token command, a diagnose check): the run id,
 * every service's URL as REALSTACK_<SERVICE>_URL, and realstack.json's testEnv, the variables
 * the project's tests already read (`API_URL`), filled in with this run's URLs.
 */
export function testEnv(
  engine: Engine,
  instances: { service: string; url?: string }[],
  mapping: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { REALSTACK_RUN_ID: engine.run.runId, REALSTACK_ENGINE: engine.name };
  const urls = new Map<string, string>();
  for (const svc of engine.stack.services) {
    const url = instances.find((i) => i.service === svc.name && i.url)?.url;
    if (url) {
      urls.set(svc.name, url);
      env[urlVariable(svc.name)] = url;
    }
  }
  const names = engine.stack.services.map((s) => s.name);
  for (const [name, value] of Object.entries(mapping)) {
    let out = value;
    for (const p of placeholders(value)) {
      const service = p.service as string;
      const where = `realstack.json: testEnv.${name} names {${p.text}}`;
      if (!names.includes(service))
        throw new UserError(
          `${where}, and the stack has no service "${service}" (it has ${names.join(', ')}). Fix the name in realstack.json.`,
        );
      const url = urls.get(service);
      if (!url)
        throw new UserError(
          `${where}, and ${service} has no URL in this run (it publishes no port, or it has stopped): \`npx realstack ps\` shows the URLs there are.`,
        );
      const parsed = new URL(url);
      const part = p.part === 'url' ? url : p.part === 'host' ? parsed.hostname : parsed.port;
      out = out.replace(`{${p.text}}`, part);
    }
    env[name] = out;
  }
  return env;
}

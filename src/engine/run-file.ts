import path from 'node:path';
import { isMap } from '../stack/compose.js';
import { portString } from '../stack/ports.js';
import type { StackSpec } from '../stack/spec.js';

type Yaml = Record<string, unknown>;

export interface RunFileOptions {
  /** Put on every service, named volume and network: how the run's resources are found again. */
  labels: Record<string, string>;
  /** The image each service runs, where realstack chose one (a stand-in, or a built service's tag). */
  images: Record<string, string>;
  /** Build args realstack sets (base images that were mapped). */
  buildArgs: Record<string, Record<string, string>>;
  /** A copy of a service's Dockerfile with mapped bases in its FROM, where no build arg names them. */
  dockerfiles?: Record<string, string>;
  /** The files of the secrets and configs the compose file gives the text of (inline-files.ts), by key. */
  inlineFiles?: Map<string, string>;
}

/** Compose interpolates the file again: a literal `$` must reach it as `$$`. */
function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', () => '$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  return value;
}

const absolute = (projectDir: string, p: string) => (/^[./~]/.test(p) ? path.resolve(projectDir, p) : p);

function volumesOf(entries: unknown, projectDir: string): unknown[] {
  return (Array.isArray(entries) ? entries : []).map((v) => {
    if (isMap(v))
      return v.type === 'bind' && typeof v.source === 'string'
        ? { ...v, source: absolute(projectDir, v.source) }
        : v;
    const [host, ...rest] = String(v).split(':');
    return rest.length > 0 ? [absolute(projectDir, host as string), ...rest].join(':') : v;
  });
}

/**
 * The one compose file a docker run starts from: the user's files merged and interpolated
 * (src/stack/compose.ts), with what a run needs changed and nothing else: inactive profiles
 * and container names out, host ports by realstack's rule, images chosen, the run's labels,
 * relative paths made absolute (the file lives under .realstack/), the coverage overlay when
 * asked. Compose v1 and v2 both read it; JSON is YAML whose strings are always quoted.
 */
export function runFile(stack: StackSpec, options: RunFileOptions): Yaml {
  const { model, projectDir } = stack;
  const services = Object.fromEntries(
    stack.services.map((s) => {
      const {
        container_name: _name,
        profiles: _profiles,
        env_file: _envFile,
        ...base
      } = (model.services as Yaml)[s.name] as Yaml;
      const out: Yaml = { ...base };
      out.environment = s.environment;
      out.ports = s.ports.map(portString);
      out.labels = { ...(isMap(base.labels) ? base.labels : {}), ...options.labels };
      const volumes = volumesOf(base.volumes, projectDir);
      const mounted = new Set(volumes.map((v) => (isMap(v) ? String(v.target) : String(v).split(':')[1])));
      for (const b of s.binds)
        if (!mounted.has(b.container)) volumes.push(`${b.host}:${b.container}${b.readOnly ? ':ro' : ''}`);
      if (volumes.length > 0) out.volumes = volumes;
      out.stop_grace_period = `${s.stopGraceSeconds}s`;
      // As read (stack/restart.ts): `deploy.restart_policy` too, which compose v1 passes over.
      if (s.restart) out.restart = [s.restart.name, s.restart.maxRetries].filter(Boolean).join(':');
      if (s.extraHosts)
        out.extra_hosts = [...(Array.isArray(base.extra_hosts) ? base.extra_hosts : []), ...s.extraHosts];
      const image = options.images[s.name];
      if (image) out.image = image;
      if (s.build) {
        out.build = {
          ...(isMap(base.build) ? base.build : {}),
          context: s.build.context,
          dockerfile: options.dockerfiles?.[s.name] ?? path.relative(s.build.context, s.build.dockerfile),
          args: { ...s.build.args, ...options.buildArgs[s.name] },
        };
      }
      // The order compose creates containers in, without the conditions: realstack starts the
      // containers and judges those itself (start-order.ts), and compose v1's `up --no-start`
      // would wait for ever on a service_completed_successfully it never starts.
      if (s.dependsOn.length > 0) out.depends_on = s.dependsOn.map((d) => d.service);
      else delete out.depends_on;
      return [s.name, out];
    }),
  );
  const labelled = (key: 'volumes' | 'networks', names: string[]) => {
    const declared = isMap(model[key]) ? (model[key] as Yaml) : {};
    const out: Yaml = { ...declared };
    for (const n of names) {
      // The run's own, whatever the file says: not another's, not the developer's (stack/compose.ts).
      const { external: _external, name: _name, ...own } = isMap(declared[n]) ? (declared[n] as Yaml) : {};
      out[n] = { ...own, labels: options.labels };
    }
    return out;
  };
  const networks = [...new Set([...stack.networks, 'default'])];
  const file: Yaml = { services, networks: labelled('networks', networks) };
  if (isMap(model.volumes)) file.volumes = labelled('volumes', stack.volumes);
  for (const key of ['configs', 'secrets'] as const) {
    if (!isMap(model[key])) continue;
    file[key] = Object.fromEntries(
      Object.entries(model[key] as Yaml).map(([k, v]) => {
        const written = options.inlineFiles?.get(`${key}.${k}`);
        if (written) return [k, { file: written }];
        return [
          k,
          isMap(v) && typeof v.file === 'string' ? { ...v, file: path.resolve(projectDir, v.file) } : v,
        ];
      }),
    );
  }
  return escapeDollars(file) as Yaml;
}

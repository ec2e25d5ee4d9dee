import http from 'node:http';
import type Docker from 'dockerode';
import type { DockerEndpoint } from './docker.js';

/**
 * One GET of the Docker Engine API, its body as text, for what only looks at the daemon: whether
 * it answers, the reaper's survey at every run's start, a run's containers and their state (`ps`,
 * readiness), the images an `up` checks. dockerode and what it loads (gRPC, protobuf, ssh2) take
 * 0.15 to 0.18 s to load, against 0.03 s for these calls (docs/performance.md). Of what changes
 * the daemon's state, the start of a container is here too (every `up` starts its containers);
 * the rest, and whatever runs in a container, goes through dockerode.
 */
export function dockerGet(endpoint: DockerEndpoint, path: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    // No agent: a kept-alive socket would hold the command's process open.
    const req = http.get({ ...endpoint.target, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        if (res.statusCode === 200) resolve(body);
        else
          reject(
            Object.assign(
              new Error(`the Docker daemon answered GET ${path} with ${res.statusCode}: ${body.trim()}`),
              { statusCode: res.statusCode },
            ),
          );
      });
    });
    req.on('timeout', () =>
      req.destroy(new Error(`the Docker daemon did not answer GET ${path} in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
  });
}

/**
 * Starts a created container (`POST /containers/{id}/start`): what `up` asks of the daemon once
 * compose has made the run, without loading dockerode for it. Rejects with the daemon's message
 * (a host port taken, a missing volume).
 */
export function startContainer(endpoint: DockerEndpoint, id: string): Promise<void> {
  const path = `/containers/${encodeURIComponent(id)}/start`;
  return new Promise((resolve, reject) => {
    const req = http.request({ ...endpoint.target, path, method: 'POST', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        // 304: it had started already.
        if (res.statusCode === 204 || res.statusCode === 304) return resolve();
        let message = body.trim();
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {}
        reject(new Error(`the Docker daemon answered ${res.statusCode}: ${message}`));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Go's fs.FileMode type bits, as the daemon states a path's mode. */
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 1 << 27;

/**
 * Whether a container has a program at `file` (`HEAD /containers/{id}/archive`: the daemon's stat
 * of the path, no copy, no process in the container): a link, or a file someone may run.
 */
export function programInContainer(endpoint: DockerEndpoint, id: string, file: string): Promise<boolean> {
  const path = `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(file)}`;
  return new Promise((resolve) => {
    const req = http.request(
      { ...endpoint.target, path, method: 'HEAD', agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        const header = res.headers['x-docker-container-path-stat'];
        if (res.statusCode !== 200 || typeof header !== 'string') return resolve(false);
        try {
          const { mode } = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { mode: number };
          resolve(mode < MODE_DIR && ((mode & MODE_SYMLINK) !== 0 || (mode & 0o111) !== 0));
        } catch {
          resolve(false);
        }
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * A list call filtered by label (`/containers/json?all=1`, `/networks`, `/volumes`), parsed. A
 * daemon that answered its ping may be slow to list under load: it gets half a minute.
 */
export async function dockerList<T>(endpoint: DockerEndpoint, path: string, label: string): Promise<T> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  return JSON.parse(
    await dockerGet(endpoint, `${path}${path.includes('?') ? '&' : '?'}filters=${filters}`, 30_000),
  ) as T;
}

/** A container's inspect (`GET /containers/{id}/json`): its state, health, ports and config. */
export async function inspectContainer(
  endpoint: DockerEndpoint,
  id: string,
): Promise<Docker.ContainerInspectInfo> {
  return JSON.parse(await dockerGet(endpoint, `/containers/${encodeURIComponent(id)}/json`, 30_000));
}

/**
 * An image's inspect (`GET /images/{name}/json`; a name keeps its slashes, as the daemon routes
 * it), or undefined where the daemon has no such image: every image check of an `up`.
 */
export async function inspectImage(
  endpoint: DockerEndpoint,
  name: string,
): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return JSON.parse(await dockerGet(endpoint, `/images/${name}/json`, 30_000));
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** An image's id where the daemon has it, else its name: what a hash of a build's bases takes. */
export async function imageId(endpoint: DockerEndpoint, name: string): Promise<string> {
  return (await inspectImage(endpoint, name))?.Id ?? name;
}

import type { ToolkitConfig } from '../config/toolkit.js';
import type { DockerEndpoint } from '../engine/docker.js';
import { inspectImage } from '../engine/docker-api.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { STAND_IN_VERSIONS, type StandInKind, standIn } from './stand-ins.js';
import { run } from './steps.js';

/** The official images a stand-in can take the place of (`node:22-alpine`, `docker.io/library/postgres:16`, `mysql:8`): STAND_IN_VERSIONS. */
export function standInKind(image: string): StandInKind | undefined {
  const name = image.replace(/^(docker\.io\/)?(library\/)?/, '').split(/[:@]/)[0];
  return name && Object.hasOwn(STAND_IN_VERSIONS, name) ? (name as StandInKind) : undefined;
}

export async function present(endpoint: DockerEndpoint, image: string): Promise<boolean> {
  return inspectImage(endpoint, image).then(
    (info) => info !== undefined,
    () => false,
  );
}

export interface ResolveOptions {
  /** Keep what was chosen last time while it is present: no pull attempt on every `up`. */
  reuse: boolean;
  /** Put stand-ins in place of official images even where they could be pulled. */
  standIns: boolean;
}

/**
 * What runs in place of each image a stack names: the image itself when it is here or can be
 * pulled; else what realstack.json maps it to; else, for the official images realstack has
 * stand-ins for (node, postgres, redis, nginx, mariadb, mysql), a local stand-in, with a warning
 * that says what differs. Anything else is an error that names the service and what to do.
 */
export class ImageResolver {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly endpoint: DockerEndpoint,
    private readonly config: ToolkitConfig,
    private readonly log: Log,
    private readonly options: ResolveOptions,
    private readonly previous: Record<string, string>,
  ) {}

  /** Every decision of this resolver: image as written → image that runs. */
  get decisions(): Record<string, string> {
    return Object.fromEntries(this.seen);
  }

  async resolve(image: string, who: string): Promise<string> {
    const known = this.seen.get(image);
    if (known) return known;
    const chosen = await this.choose(image, who);
    this.seen.set(image, chosen);
    return chosen;
  }

  private async choose(image: string, who: string): Promise<string> {
    const mapped = this.config.project.images.map[image];
    const kind = standInKind(image);
    if (mapped === 'stand-in') {
      if (!kind)
        throw new UserError(
          `realstack.json maps ${image} to "stand-in", but realstack has stand-ins only for the official ${Object.keys(STAND_IN_VERSIONS).join(', ')} images; map it to an image instead.`,
        );
      return this.standIn(image, kind, who, 'mapped in realstack.json');
    }
    if (mapped) {
      if (!(await present(this.endpoint, mapped)) && !(await this.pull(mapped)))
        throw new UserError(
          `realstack.json maps ${image} to ${mapped}, which is not on this machine and cannot be pulled: build or load it (docker load), or map ${image} to another image.`,
        );
      this.log(`  ${who}: ${image} runs as ${mapped} (images.map in realstack.json)`);
      return mapped;
    }
    const before = this.previous[image];
    if (this.options.reuse && before && (await present(this.endpoint, before))) {
      if (before !== image)
        this.log(
          `  ${who}: ${image} runs as ${before}, as chosen before (\`npx realstack images\` chooses again)`,
        );
      return before;
    }
    if (!(kind && this.options.standIns)) {
      if (await present(this.endpoint, image)) return image;
      if (await this.pull(image)) return image;
    }
    if (kind) return this.standIn(image, kind, who, 'it cannot be pulled here');
    throw new UserError(
      `image ${image} of ${who} is not on this machine and cannot be pulled. Load it (\`docker load\`), or map it to an image you have in realstack.json: "images": {"map": {"${image}": "IMAGE"}}.`,
    );
  }

  private async pull(image: string): Promise<boolean> {
    const res = await run('docker', ['pull', image]).catch((e: { all?: string; exitCode?: number }) => e);
    if ('exitCode' in res && res.exitCode === 0) return true;
    this.log(
      `  ${image}: cannot be pulled (${String(res.all ?? '')
        .split('\n')
        .at(-1)
        ?.slice(0, 200)})`,
    );
    return false;
  }

  private async standIn(image: string, kind: StandInKind, who: string, why: string): Promise<string> {
    const tag = await standIn(this.endpoint, kind, this.config.env, this.log);
    this.log(
      `  warning: ${who} names ${image}; ${why}, so it runs realstack's stand-in ${tag} (${STAND_IN_VERSIONS[kind]}). Map it to another image in realstack.json (images.map) to choose.`,
    );
    return tag;
  }
}

import { existsSync } from 'node:fs';
import type Docker from 'dockerode';
import type { ToolkitConfig } from '../config/toolkit.js';
import { daemonAnswers, dockerEndpoint } from '../engine/docker.js';
import { dockerGet, dockerList } from '../engine/docker-api.js';
import { INPUTS_LABEL, PROJECT_DIR_LABEL } from '../images/stand-ins.js';
import type { Log } from '../log.js';

/** An image realstack built that nothing will use again. */
export interface ImageVerdict {
  id: string;
  /**
   * Its tags: none for a build another has replaced under the same tag, several where services
   * built from one Dockerfile share the image (the daemon removes such an image a tag at a time).
   */
  tags: string[];
  why: string;
  sizeMb: number;
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const tagList = (image: ImageVerdict) => image.tags.join(', ') || '<none>';

/**
 * The images realstack built that nothing will use again: a service's image whose project
 * folder is gone (a deleted checkout, a test's temporary project), and builds that a newer
 * one replaced under their tag (each rebuild leaves the last one untagged). An image that a
 * container, running or not, was made from is left alone.
 */
export async function surveyImages(config: ToolkitConfig): Promise<ImageVerdict[]> {
  const endpoint = dockerEndpoint(config.env);
  if (!(await daemonAnswers(endpoint))) return [];
  // Plain GETs: a survey that finds nothing to remove never loads dockerode (0.3 s of CPU).
  const [images, containers] = await Promise.all([
    dockerList<Docker.ImageInfo[]>(endpoint, '/images/json', INPUTS_LABEL),
    dockerGet(endpoint, '/containers/json?all=1', 30_000).then(
      (body) => JSON.parse(body) as Docker.ContainerInfo[],
    ),
  ]);
  const inUse = new Set(containers.map((c) => c.ImageID));
  return images
    .sort((a, b) => b.Created - a.Created)
    .flatMap((image): ImageVerdict[] => {
      if (inUse.has(image.Id)) return [];
      const tags = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
      const project = image.Labels?.[PROJECT_DIR_LABEL];
      const why =
        tags.length === 0
          ? 'replaced by a newer build under its tag'
          : project && !existsSync(project)
            ? `its project ${project} is gone`
            : undefined;
      if (!why) return [];
      return [{ id: image.Id, tags, why, sizeMb: Math.round(image.Size / 1e6) }];
    });
}

export function describeImages(images: ImageVerdict[]): string {
  if (images.length === 0) return 'images: none left over';
  return [
    'images no run will use again:',
    ...images.map((i) => `  ${shortId(i.id)}  ${tagList(i)}  ${i.sizeMb} MB  (${i.why})`),
  ].join('\n');
}

/**
 * Removes them, newest first (a replaced stand-in can be the base of a replaced service
 * image). Never forced: an image that something still needs stays, and is named.
 */
export async function removeImages(config: ToolkitConfig, images: ImageVerdict[], log: Log): Promise<number> {
  const { docker } = dockerEndpoint(config.env);
  let removed = 0;
  for (const image of images) {
    try {
      // By id the daemon refuses an image with two tags; untagging removes it with its last tag.
      for (const name of image.tags.length > 0 ? image.tags : [image.id])
        await docker.getImage(name).remove();
      removed++;
    } catch (err) {
      const message = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
      if (!/No such image/i.test(message))
        log(`image ${shortId(image.id)} (${tagList(image)}) kept: ${message}`);
    }
  }
  return removed;
}

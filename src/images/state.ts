import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import type { RunFileOptions } from '../engine/run-file.js';
import { writeFileWhole } from '../util/files.js';

/** What the image step decided, read back by every docker run of this project. */
export interface ImagesState {
  /** Each image name as the compose file writes it, and what runs in its place (itself, or a stand-in). */
  resolved: Record<string, string>;
  /** The images and build args a run's compose file uses (engine/run-file.ts). */
  run: Omit<RunFileOptions, 'labels'>;
  /** Input hash of the last host build (images.hostBuild), so an unchanged tree is not built again. */
  hostBuild?: string;
  /** Input hash of each service's staged production node_modules (images.hostModules). */
  modules?: Record<string, string>;
}

export const imagesStateFile = (config: ToolkitConfig) => path.join(config.stateDir, 'images.json');

export function readImagesState(config: ToolkitConfig): ImagesState {
  let saved: Partial<ImagesState> = {};
  try {
    saved = JSON.parse(readFileSync(imagesStateFile(config), 'utf8')) as Partial<ImagesState>;
  } catch {}
  return { ...saved, resolved: saved.resolved ?? {}, run: saved.run ?? { images: {}, buildArgs: {} } };
}

export function writeImagesState(config: ToolkitConfig, state: ImagesState): void {
  writeFileWhole(imagesStateFile(config), `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * A project's own name among the images of this machine: the folder's name and a hash of its
 * path, so that two checkouts never move each other's tags.
 */
export function projectKey(projectDir: string): string {
  const slug =
    path
      .basename(projectDir)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'project';
  return `${slug.slice(0, 30)}-${createHash('sha256').update(path.resolve(projectDir)).digest('hex').slice(0, 6)}`;
}

/** The tag a built service's image gets: per project and service, the same for every run. */
export const builtImageTag = (projectDir: string, service: string): string =>
  `realstack-${projectKey(projectDir)}/${service.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}:local`;

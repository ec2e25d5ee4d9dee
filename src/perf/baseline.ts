import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PerfConfig } from '../config/project.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { UserError } from '../errors.js';
import { writeFileWhole } from '../util/files.js';
import { median } from '../util/stats.js';
import type { Figures } from './load.js';

export const FIGURES = ['p50', 'p95', 'p99', 'rps'] as const;
export type Figure = (typeof FIGURES)[number];
export type Summary = Record<Figure, number>;

/** The rounds' medians, and how far the rounds spread around them ((max - min) / median, in %). */
export function summarize(rounds: Figures[]): { median: Summary; spread: Summary } {
  const of = (f: Figure, fn: (xs: number[]) => number) => fn(rounds.map((r) => r[f]));
  const medians = Object.fromEntries(FIGURES.map((f) => [f, of(f, median)])) as Summary;
  const spread = Object.fromEntries(
    FIGURES.map((f) => {
      const m = medians[f];
      return [f, m > 0 ? ((of(f, (xs) => Math.max(...xs)) - of(f, (xs) => Math.min(...xs))) / m) * 100 : 0];
    }),
  ) as Summary;
  return { median: medians, spread };
}

/** What `--update-baseline` writes per profile (perf/baselines/NAME.json, committed). */
export interface Baseline {
  profile: string;
  recordedAt: string;
  commit: string | null;
  engine: string;
  machine: { cpus: number; node: string };
  rounds: number;
  median: Summary;
  spread: Summary;
}

const baselineFile = (config: ToolkitConfig, name: string) =>
  path.resolve(config.projectDir, config.project.perf.baselines, `${name}.json`);

export function readBaseline(config: ToolkitConfig, name: string): Baseline | undefined {
  const file = baselineFile(config, name);
  if (!existsSync(file)) return undefined;
  try {
    const b = JSON.parse(readFileSync(file, 'utf8')) as Baseline;
    if (FIGURES.every((f) => typeof b.median?.[f] === 'number')) return b;
  } catch {}
  throw new UserError(
    `${path.relative(config.projectDir, file)} is not a baseline realstack can read: record it again with \`just perf --update-baseline\`.`,
  );
}

export function writeBaseline(config: ToolkitConfig, b: Omit<Baseline, 'machine' | 'recordedAt'>): string {
  const file = baselineFile(config, b.profile);
  const full: Baseline = {
    ...b,
    recordedAt: new Date().toISOString(),
    machine: { cpus: os.availableParallelism(), node: process.version },
  };
  writeFileWhole(file, `${JSON.stringify(full, null, 2)}\n`);
  return file;
}

/** One figure against what it is compared with: its change in %, and whether the gate allows it. */
export interface Check {
  figure: Figure;
  now: number;
  before: number;
  /** Latencies: growth in %; throughput: loss in %. Positive is worse. */
  worse: number;
  limit: number;
  ok: boolean;
}

/** Seed 003's regression gate: each latency may grow, and throughput drop, by at most its threshold. */
export function compare(now: Summary, then: Summary, thresholds: PerfConfig['thresholds']): Check[] {
  return FIGURES.map((figure) => {
    const worse =
      figure === 'rps'
        ? ((then.rps - now.rps) / then.rps) * 100
        : ((now[figure] - then[figure]) / then[figure]) * 100;
    const limit = figure === 'rps' ? thresholds.throughput : thresholds[figure];
    return { figure, now: now[figure], before: then[figure], worse, limit, ok: worse <= limit };
  });
}

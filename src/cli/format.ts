import type { Engine, Instance } from '../engine/types.js';
import { hidePassword } from '../util/net.js';

export interface ServiceView {
  name: string;
  engine: string;
  url: string | undefined;
  health: string;
  instances: Instance[];
}

/** One entry per service: its first healthy URL, and health summed over its instances. */
export function servicesView(engine: Engine, instances: Instance[]): ServiceView[] {
  return engine.stack.services.map((svc) => {
    const mine = instances.filter((i) => i.service === svc.name);
    const health =
      mine.length === 0
        ? 'missing'
        : mine.every((i) => i.health === 'healthy' || (i.health === 'none' && i.state === 'running'))
          ? 'healthy'
          : (mine.find((i) => i.health !== 'healthy')?.health ?? 'unknown');
    return { name: svc.name, engine: engine.name, url: mine[0]?.url, health, instances: mine };
  });
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** An instance's state as `docker ps` puts it (`restarting (1)`: its exit code), with its policy's restarts. */
function stateText(i: Instance): string {
  if (i.state === 'exited') return `${i.restarting ? 'restarting' : 'exited'} (${i.exitCode})`;
  // A crash loop between two crashes looks like any running service, but for this.
  return i.restarts ? `${i.state} (restarted ${i.restarts}×)` : i.state;
}

export function psTable(instances: Instance[]): string {
  return table([
    ['INSTANCE', 'STATE', 'HEALTH', 'URL'],
    ...instances.map((i) => [i.name, stateText(i), i.health, hidePassword(i.url ?? '')]),
  ]);
}

// tap's runner imports two packages at its start that a run with the `tap` reporter never
// uses: `@tapjs/reporter` (Ink, React and Yoga, for its terminal reporters) and `pacote` (for
// `tap plugin add`). Loading them is 0.6 s of CPU and 0.4 s of wall time of every
// `realstack test` (docs/performance.md), so in the runner they resolve to modules that load
// nothing.
// realstack reads the TAP stream itself and starts tap this way only when the run's reporter is
// `tap` (./command.ts), so neither stand-in is ever asked for what it does not have.
import type { ResolveHook } from 'node:module';

const STAND_INS: Record<string, string> = {
  '@tapjs/reporter': './no-reporter.js',
  pacote: './on-first-call.js',
};

export const resolve: ResolveHook = async (specifier, context, next) => {
  const standIn = STAND_INS[specifier];
  if (!standIn || !context.parentURL?.includes('/@tapjs/run/')) return next(specifier, context);
  // Resolved as tap would, so the stand-in can load the very module tap asked for.
  const real = await next(specifier, context);
  const url = new URL(standIn, import.meta.url);
  url.searchParams.set('module', real.url);
  return { url: url.href, format: 'module', shortCircuit: true };
};

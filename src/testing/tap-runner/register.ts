// Loaded with `--import` into tap's runner process alone (tap builds its test processes' argv
// from its own settings, not from the runner's execArgv): see hooks.ts for why. ./command.ts
// adds `?coverage=off` to this module's URL when the run has tap's coverage off.
import { register } from 'node:module';

const coverageOff = new URL(import.meta.url).searchParams.get('coverage') === 'off';
register('./hooks.js', import.meta.url, { data: { coverageOff } });

// Loaded with `--import` into tap's runner process alone (tap builds its test processes' argv
// from its own settings, not from the runner's execArgv): see hooks.ts for why. ./command.ts
// adds `coverage=off`, `typescript=by-file` and `wait=stack` to this module's URL when the run has them.
import { register } from 'node:module';

register('./hooks.js', import.meta.url, { data: new URL(import.meta.url).search });

// Loaded with `--import` into tap's runner process alone (tap builds its test processes' argv
// from its own settings, not from the runner's execArgv): see hooks.ts for why.
import { register } from 'node:module';

register('./hooks.js', import.meta.url);

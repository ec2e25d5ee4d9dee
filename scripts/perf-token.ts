import { randomBytes } from 'node:crypto';
import { tokenRoundTrip } from './oauth-round-trip.js';

/**
 * The reference stack's perf.token (realstack.json): an access token for the api, as a user gets
 * one (oauth-round-trip.ts), printed on stdout. Its test user and client are named
 * "TEST perf<id>" and stay while the load runs; `just test-cleanup` finds them.
 *
 * Usage (realstack gives it the stack's URLs): node dist/scripts/perf-token.js
 */
const { REALSTACK_API_URL: api, REALSTACK_ADMIN_TOKEN: adminToken } = process.env;
if (!api || !adminToken) {
  process.stderr.write('REALSTACK_API_URL and REALSTACK_ADMIN_TOKEN must be set: realstack perf runs it.\n');
  process.exit(2);
}
const trip = await tokenRoundTrip({
  resourceUrl: api,
  probePath: '/v1/me',
  adminToken,
  purpose: 'perf',
  run: `perf${randomBytes(3).toString('hex')}`,
});
if (!trip.token) {
  process.stderr.write(`no token: ${trip.failed}\n`);
  process.exit(1);
}
process.stdout.write(`${trip.token}\n`);

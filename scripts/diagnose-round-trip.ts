import { randomBytes } from 'node:crypto';
import { removeRecords, tokenRoundTrip } from './oauth-round-trip.js';

/**
 * The reference stack's check for `realstack diagnose` (realstack.json diagnose.checks): one
 * OAuth round trip through auth and the api (oauth-round-trip.ts), its records removed again
 * through the services' test-data API.
 *
 * Usage (realstack gives it the stack's URLs): node dist/scripts/diagnose-round-trip.js
 */
const { REALSTACK_AUTH_URL: auth, REALSTACK_API_URL: api, REALSTACK_ADMIN_TOKEN: adminToken } = process.env;
if (!auth || !api || !adminToken) {
  process.stderr.write(
    'REALSTACK_AUTH_URL, REALSTACK_API_URL and REALSTACK_ADMIN_TOKEN must be set: run it through `realstack diagnose`.\n',
  );
  process.exit(2);
}
const run = `diag${randomBytes(3).toString('hex')}`;
const trip = await tokenRoundTrip({
  resourceUrl: api,
  probePath: '/v1/me',
  adminToken,
  run,
  purpose: 'diagnose',
});
await removeRecords(auth, api, adminToken, run).catch((err: Error) =>
  process.stderr.write(`could not remove the round trip's records (run ${run}): ${err.message}\n`),
);
if (trip.failed) {
  process.stdout.write(`passed: ${trip.passed.join(' → ') || 'nothing'}\nfailed: ${trip.failed}\n`);
  process.exit(1);
}
process.stdout.write(`${trip.passed.join(' → ')}\n`);

/**
 * The OAuth hot paths, side by side in one run on the reference stack (process engine):
 *
 * 1. The token endpoint's refresh grant: `--workers` clients each refresh their own token family
 *    in a loop for `--seconds` (each refresh rotates, so every request is a real one): req/s, p99.
 * 2. The per-request cost of token verification in the api: one fastify server with the kit's
 *    resourceServer(), the same handler mounted open and behind the check, once with
 *    introspection (the reference stack's setting) and once with the JWT checks alone;
 *    autocannon, rounds interleaved so drift hits every variant alike.
 *
 *   node dist/bench/oauth.js [--seconds 5] [--rounds 3] [--connections 10] [--workers 8]
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { resourceServer } from '../services/kit/src/index.js';
import { loadOptions, median } from './measure.js';
import { helpersFor, withStack } from './stack.js';

const { seconds, rounds, connections, workers } = loadOptions({ workers: 8 });

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] as number;

await withStack(async (urls) => {
  // The test helpers run the real flow: admin API, registration, login form, PKCE.
  const { oauth, secrets, scope, cleanup } = await helpersFor(urls);

  // 1. The refresh grant.
  const families = await Promise.all(Array.from({ length: workers }, () => oauth.tokensFor(scope)));
  const latencies: number[] = [];
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    families.map(async ({ client, tokens }) => {
      let rt = tokens.refresh_token;
      while (Date.now() < until) {
        const start = performance.now();
        const res = await oauth.refresh(client, rt);
        latencies.push(performance.now() - start);
        if (res.status !== 200) throw new Error(`refresh failed: ${res.text}`);
        rt = res.json.refresh_token as string;
      }
    }),
  );
  const refreshRow = `| \`POST /token\` refresh grant (rotation; ${workers} clients) | ${Math.round(latencies.length / seconds)} | ${percentile(latencies, 0.99).toFixed(1)} ms |`;

  // 2. Verification in the api: the same route open and behind the check.
  const { tokens } = await oauth.tokensFor(scope);
  const servers = await Promise.all(
    [true, false].map(async (introspect) => {
      const app = Fastify();
      const { requireScope } = resourceServer(app, {
        resource: oauth.API_RESOURCE,
        issuer: new URL(urls.auth as string).origin,
        authUrl: urls.auth as string,
        scopes: ['profile'],
        jwksCooldownMs: 30_000,
        ...(introspect ? { introspectionSecret: secrets.resourceSecret } : {}),
      });
      const handler = async () => ({ ok: true });
      app.get('/open', handler);
      app.get('/checked', { preHandler: requireScope('profile') }, handler);
      await app.listen({ port: 0, host: '127.0.0.1' });
      scope.teardown(() => app.close());
      return { introspect, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
    }),
  );
  const load = async (url: string) => {
    const r = await autocannon({
      url,
      connections,
      duration: seconds,
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    if (r.non2xx > 0) throw new Error(`${url}: ${r.non2xx} answers were not 2xx`);
    return { rps: r.requests.average, p99: r.latency.p99 };
  };
  const variants = [
    { name: 'open (no check)', url: `${servers[0]?.url}/open` },
    { name: 'JWT checks (signature, claims), no introspection', url: `${servers[1]?.url}/checked` },
    { name: 'JWT checks + introspection (reference stack)', url: `${servers[0]?.url}/checked` },
  ];
  const samples = new Map(variants.map((v) => [v.name, [] as { rps: number; p99: number }[]]));
  for (const v of variants) await load(v.url); // warm-up
  for (let i = 0; i < rounds; i++) for (const v of variants) samples.get(v.name)?.push(await load(v.url));
  const base = median((samples.get(variants[0]?.name as string) ?? []).map((x) => x.rps));
  const verifyRows = variants.map((v) => {
    const xs = samples.get(v.name) ?? [];
    const rps = median(xs.map((x) => x.rps));
    const perRequest = (1000 / rps - 1000 / base) * connections;
    return `| ${v.name} | ${Math.round(rps)} | ${median(xs.map((x) => x.p99))} ms | ${(rps / base).toFixed(2)} | ${v === variants[0] ? '' : `${perRequest.toFixed(2)} ms`} |`;
  });

  await cleanup();
  process.stdout.write(
    `refresh: ${workers} sequential clients for ${seconds} s\n\n| path | req/s | p99 |\n|---|---|---|\n${refreshRow}\n\n` +
      `api verification: ${seconds} s x ${rounds} rounds per variant, ${connections} connections, medians\n\n` +
      `| same route | req/s | p99 | vs open | added latency per request |\n|---|---|---|---|---|\n${verifyRows.join('\n')}\n`,
  );
});

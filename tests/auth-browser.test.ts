// One person, one real browser: headless Chromium (Debian's package, driven by playwright-core)
// goes from the client's authorization link through the login and consent pages, as a person
// would, and lands on the client's redirect URI with a code the client can redeem.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import t from 'tap';
import { authorizeUrl, newClient, newUser, pkce, redeem } from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();
const CHROMIUM = process.env.REALSTACK_CHROMIUM ?? '/usr/bin/chromium';

t.test(
  'a person signs in and allows access in headless Chromium, and the client receives a code',
  { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}: apt-get install chromium (CI does)` },
  async (t) => {
    // The client application: a loopback server that receives the redirect (any port, A7).
    const received: URL[] = [];
    const app = createServer((req, res) => {
      received.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Signed in</h1>');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    t.teardown(() => app.close());
    const redirect = `http://127.0.0.1:${(app.address() as AddressInfo).port}/callback`;

    const client = await newClient(t, {
      redirect_uris: ['http://127.0.0.1/callback'],
      client_name: `TEST ${s.runId} Photo Print`,
    });
    const user = await newUser(t, 'browser');
    const { verifier, challenge } = pkce();

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    await page.goto(
      authorizeUrl(
        { ...client, redirect_uris: [redirect] },
        {
          code_challenge: challenge,
          code_challenge_method: 'S256',
          scope: 'profile',
          state: 'browser-state',
        },
      ),
    );
    t.equal(await page.title(), 'Sign in');
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent\?/);
    t.match(
      await page.locator('#client').textContent(),
      `TEST ${s.runId} Photo Print`,
      'the consent page names the client',
    );
    t.equal(await page.locator('#redirect-host').textContent(), new URL(redirect).host);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/callback\?/);
    t.equal(await page.locator('h1').textContent(), 'Signed in', 'the browser landed on the client');

    // The browser also asks for /favicon.ico: the redirect is the one request to /callback.
    const landed = received.find((u) => u.pathname === '/callback') as URL;
    t.ok(landed, 'the client received the redirect');
    t.equal(landed.searchParams.get('state'), 'browser-state');
    const code = landed.searchParams.get('code') as string;
    t.match(code, /^[\w-]{43}$/);
    const tokens = await redeem({ ...client, redirect_uris: [redirect] }, code, verifier);
    t.equal(tokens.status, 200, 'the code is redeemed for tokens');
  },
);

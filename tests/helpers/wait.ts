import { request } from 'undici';

/** Waits until `url` answers 200 (10 s at most), or fails early if `child` exits. */
export async function waitUntilUp(url: string, child?: { exitCode: number | null }): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await request(url).then(
      async (r) => {
        await r.body.dump();
        return r.statusCode === 200;
      },
      () => false,
    );
    if (ok) return;
    if (child && child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

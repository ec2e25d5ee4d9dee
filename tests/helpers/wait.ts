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

/** Waits until `condition` holds (checked every 20 ms, 60 s at most), else fails saying what did not happen. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`60 s passed and this did not happen: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

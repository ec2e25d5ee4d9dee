// What tap's runner imports as its run.js when realstack started it before the stack was up
// (./command.ts, `wait=stack`): the runner's modules load while the stack comes up, and its tests
// start once realstack writes the stack's environment (URLs, run id) to the runner's fd 3 and
// closes it. Test processes are spawned with the runner's environment, so they see it.
import { createReadStream } from 'node:fs';

async function stackEnv(): Promise<Record<string, string> | undefined> {
  const chunks: Buffer[] = [];
  // Closed when read to its end: no test process inherits it.
  for await (const chunk of createReadStream('', { fd: 3 })) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, string>) : undefined;
}

const [real, env] = await Promise.all([
  import(new URL(import.meta.url).searchParams.get('module') ?? '') as Promise<{
    run: (...args: unknown[]) => unknown;
  }>,
  stackEnv(),
]);
// realstack ended without a stack to test (it failed to start, or realstack was interrupted).
if (!env) process.exit(1);
Object.assign(process.env, env);

export const run = real.run;

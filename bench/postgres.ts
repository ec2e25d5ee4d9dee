import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A real PostgreSQL for a benchmark: a process-engine stack started through the CLI, its URL
 * handed to `work`, and the stack taken down afterwards, whatever happens.
 */
export async function withPostgres<T>(work: (databaseUrl: string) => Promise<T>): Promise<T> {
  const env = {
    ...process.env,
    REALSTACK_ENGINE: 'process',
    REALSTACK_RUN_ID: `bench${randomBytes(4).toString('hex')}`,
  };
  const cli = (...args: string[]) =>
    execa(process.execPath, ['bin/realstack.js', ...args], { cwd: root, env });
  await cli('up');
  try {
    const ps = JSON.parse((await cli('ps', '--json')).stdout) as {
      services: { name: string; url: string }[];
    };
    return await work(ps.services.find((s) => s.name === 'postgres')?.url as string);
  } finally {
    await cli('down');
  }
}

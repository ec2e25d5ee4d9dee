/**
 * How long a PostgreSQL container takes from `docker run` to answering a query from the host:
 * the stand-in's first start (initdb, the database, the init scripts if any), for
 * docs/performance.md. Several images (`--image A --image B`, for example the stand-in built
 * from an older entrypoint under a tag of its own) run in turn, A B A B ..., medians of N.
 *
 *   node dist/bench/stand-in-start.js [--runs N] [--image realstack/postgres:15]...
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { median } from './measure.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    image: { type: 'string', multiple: true, default: ['realstack/postgres:15'] },
  },
});

function docker(args: string[]): string {
  const res = spawnSync('docker', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`docker ${args.join(' ')}: ${res.stderr}`);
  return res.stdout.trim();
}

async function firstStart(image: string): Promise<number> {
  const start = performance.now();
  const env = ['POSTGRES_USER=bench', 'POSTGRES_PASSWORD=bench', 'POSTGRES_DB=bench'];
  const id = docker(['run', '-d', ...env.flatMap((e) => ['-e', e]), '-p', '127.0.0.1::5432', image]);
  try {
    const port = docker(['port', id, '5432']).split('\n')[0]?.split(':').pop();
    for (;;) {
      const client = new pg.Client({ connectionString: `postgres://bench:bench@127.0.0.1:${port}/bench` });
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return performance.now() - start;
      } catch {
        await client.end().catch(() => {});
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    docker(['rm', '-fv', id]);
  }
}

const images = values.image as string[];
const times = images.map(() => [] as number[]);
for (let i = 0; i < Number(values.runs); i++)
  for (const [k, image] of images.entries()) times[k]?.push(await firstStart(image));
process.stdout.write(
  `| image (median of ${values.runs}) | docker run to a query answered |\n| --- | --- |\n`,
);
for (const [k, image] of images.entries())
  process.stdout.write(`| ${image} | ${((median(times[k] as number[]) as number) / 1000).toFixed(2)} s |\n`);

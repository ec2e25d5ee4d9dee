import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Log } from '../log.js';
import { SliceChannel, STARTUP } from '../spy/slices.js';

/** The hook each test process loads (test-hook.ts, compiled beside this file). */
export const TEST_HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-hook.js');

/**
 * Per-test recording's clock: tap runs one file at a time; as each starts, its hook asks here,
 * and the services slice what ran since the last file started, tagged with that file. The last
 * file's slice is taken by `finish`, after tap has ended.
 */
export class Recorder {
  private current = STARTUP;
  private readonly seen: string[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly server: Server,
    private readonly channel: SliceChannel,
    private readonly projectDir: string,
    private readonly log: Log,
  ) {}

  static async start(sliceDir: string, projectDir: string, log: Log): Promise<Recorder> {
    const server = createServer();
    const recorder = new Recorder(server, new SliceChannel(sliceDir), projectDir, log);
    server.on('request', (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        let file: string;
        try {
          file = String((JSON.parse(body) as { file: unknown }).file);
        } catch {
          res.writeHead(400).end('a JSON body {"file": ...} is expected');
          return;
        }
        recorder.starts(file).then(
          () => res.writeHead(204).end(),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return recorder;
  }

  /** What a test process needs to find the recorder. */
  get env(): Record<string, string> {
    return { REALSTACK_SLICE_URL: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/` };
  }

  /** The test files in the order they ran. */
  get files(): string[] {
    return [...this.seen];
  }

  private starts(absolute: string): Promise<void> {
    const file = path.relative(this.projectDir, path.resolve(this.projectDir, absolute));
    // One line at a time, in the order the files asked (with one job, one ask at a time).
    const next = this.queue.then(async () => {
      await this.line(this.current);
      this.current = file;
      this.seen.push(file);
    });
    this.queue = next.catch(() => {});
    return next;
  }

  private async line(id: string): Promise<void> {
    const late = await this.channel.boundary(id);
    if (late.length > 0)
      this.log(
        `per-test recording: ${late.join(', ')} did not slice in time at the end of ${id}; what ran there is counted with the next test`,
      );
  }

  /** The last file's slice, then the recorder closes. */
  async finish(): Promise<void> {
    await this.queue;
    await this.line(this.current);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

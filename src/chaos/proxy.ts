import net from 'node:net';

/**
 * A TCP proxy the toolkit puts between a service and a peer (PostgreSQL) to add latency or drop
 * connections. Our own, in-process, a few dozen lines: toxiproxy does this and more, but it is a
 * Go binary with no npm package, and what chaos needs is two faults, driven from the same process
 * that checks their effect.
 */
export class FaultProxy {
  private latencyMs = 0;
  private readonly open = new Set<net.Socket>();
  /** The upstream as last resolved: asked again only after a connection to it failed (it moved, or restarted). */
  private target: { host: string; port: number } | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  /** Listens on host (127.0.0.1, or the docker bridge's gateway for containers); `upstream` is asked per connection. */
  static async listen(
    host: string,
    upstream: () => Promise<{ host: string; port: number }>,
  ): Promise<FaultProxy> {
    const server = net.createServer();
    const proxy = await new Promise<FaultProxy>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () =>
        resolve(new FaultProxy(server, host, (server.address() as net.AddressInfo).port)),
      );
    });
    server.on('connection', (client) => void proxy.accept(client, upstream));
    return proxy;
  }

  private async accept(client: net.Socket, upstream: () => Promise<{ host: string; port: number }>) {
    client.pause();
    this.target ??= await upstream().catch(() => undefined);
    const target = this.target;
    if (!target) return client.destroy();
    const server = net.connect(target.port, target.host);
    let connected = false;
    server.once('connect', () => {
      connected = true;
    });
    server.once('error', () => {
      if (!connected) this.target = undefined;
    });
    for (const s of [client, server]) {
      this.open.add(s);
      s.on('close', () => this.open.delete(s));
      s.on('error', () => {
        client.destroy();
        server.destroy();
      });
    }
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    this.pipe(client, server);
    this.pipe(server, client);
    client.resume();
  }

  /** Copies `from` to `to`, each chunk held `latencyMs` and order kept. */
  private pipe(from: net.Socket, to: net.Socket) {
    let due = 0;
    from.on('data', (chunk) => {
      if (this.latencyMs === 0 && due <= Date.now()) {
        to.write(chunk);
        return;
      }
      due = Math.max(Date.now() + this.latencyMs, due);
      setTimeout(() => to.writable && to.write(chunk), due - Date.now());
    });
  }

  /** Latency added to every chunk in each direction, from now on. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Resets every open connection (both sides); new ones go through as before. Returns how many. */
  dropAll(): number {
    const n = this.open.size / 2;
    for (const s of this.open) s.resetAndDestroy();
    return n;
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

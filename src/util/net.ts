import net from 'node:net';

/** A port the OS says is free now; the caller binds it soon after. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on host:port, so a fixed port can be promised to a service. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A URL fit to print: the password of `scheme://user:password@host` replaced by ***. */
export const hidePassword = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/**
 * Docker's userland proxy accepts every connection to a published port and closes it at once
 * when nothing listens behind it yet: a connection that stays open this long, or is spoken to,
 * reached the service.
 */
const HOLD_MS = 150;

/**
 * True when a service listens on host:port: a TCP connection is accepted within the timeout and
 * then held (or answered), not closed at once as a proxy with nothing behind it closes it. A
 * `direct` port has no proxy in front (a process on this machine): accepted is enough.
 */
export function portAnswers(
  port: number,
  host = '127.0.0.1',
  { timeoutMs = 1000, direct = false }: { timeoutMs?: number; direct?: boolean } = {},
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let held: NodeJS.Timeout | undefined;
    const done = (ok: boolean) => {
      clearTimeout(held);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => {
      socket.setTimeout(0);
      if (direct) return done(true);
      held = setTimeout(() => done(true), HOLD_MS);
      socket.once('data', () => done(true));
      socket.once('end', () => done(false));
    });
    socket.once('error', () => done(false));
  });
}

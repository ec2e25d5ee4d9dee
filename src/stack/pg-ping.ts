import net from 'node:net';

const PROTOCOL_3_0 = 196608;
/** cannot_connect_now: the server is starting, stopping or in recovery. */
const CANNOT_CONNECT_NOW = '57P03';
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

/** A StartupMessage (protocol 3.0) for `user` on `database`. */
function startupMessage(user: string, database: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([head, body]);
}

/** The SQLSTATE of an ErrorResponse's body: fields of a code byte and a C string, ending in 0. */
function sqlState(body: Buffer): string | undefined {
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    if (end < 0) return undefined;
    if (body[at] === 0x43 /* C */) return body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return undefined;
}

/**
 * Whether a PostgreSQL server accepts connections, asked as `pg_isready` asks it (libpq's
 * PQping): a startup message and the server's first answer. A request to authenticate, or any
 * error but "cannot connect now", means it does. No client library: the process engine asks this
 * of its own cluster on every look (`ps`, the wait in `up`), where loading `pg` cost 50 to 75 ms
 * of each command. The connection ends before authentication, which the server does not log.
 */
export function pgAccepts(url: string, timeoutMs = 2000): Promise<boolean> {
  const { hostname, port, username, pathname, searchParams } = new URL(url);
  const user = decodeURIComponent(username) || 'postgres';
  const database = decodeURIComponent(pathname.slice(1)) || user;
  const number = Number(port) || 5432;
  // As libpq and pg read a URL: `?host=/dir` is a socket's folder; [::1] an IPv6 address.
  const socketDir = searchParams.get('host');
  const target = socketDir?.startsWith('/')
    ? { path: `${socketDir}/.s.PGSQL.${number}` }
    : { port: number, host: hostname.replace(/^\[(.*)\]$/, '$1') };
  return new Promise((resolve) => {
    const socket = net.connect(target);
    let reply = Buffer.alloc(0);
    let answered = false;
    const answer = (accepts: boolean, end?: Buffer) => {
      if (answered) return;
      answered = true;
      if (end) socket.end(end);
      else socket.destroy();
      resolve(accepts);
    };
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      answer(false);
    });
    socket.once('connect', () => socket.write(startupMessage(user, database)));
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      reply = Buffer.concat([reply, chunk]);
      if (reply.length < 9) return;
      const type = String.fromCharCode(reply[0] as number);
      // AuthenticationOk (a server that trusts this client): a session has begun, and ends as
      // a client ends one, with Terminate; cut off, the server would log a reset connection.
      if (type === 'R' && reply.readInt32BE(5) === 0) return answer(true, TERMINATE);
      if (type !== 'E') return answer(type === 'R');
      const length = reply.readInt32BE(1);
      if (reply.length < 1 + length) return;
      answer(sqlState(reply.subarray(5, 1 + length)) !== CANNOT_CONNECT_NOW);
    });
    socket.once('close', () => answer(false));
    socket.once('error', () => answer(false));
  });
}

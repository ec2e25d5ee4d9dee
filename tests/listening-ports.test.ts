// The process engine names a service that listens on a port of its own choosing from the
// kernel's socket tables (src/engine/listening-ports.ts), read only as far as the listening
// sockets go. Real processes in groups of their own, real sockets.
import { spawn } from 'node:child_process';
import net from 'node:net';
import t, { type Test } from 'tap';
import { groupListeningPorts } from '../src/engine/listening-ports.js';

const skip = process.platform !== 'linux' && 'the tables are Linux’s /proc/net/tcp and tcp6';

/** Runs `script` as the leader of a process group of its own; its first line once it is ready. */
function group(t: Test, script: string): Promise<{ pid: number; line: string }> {
  const child = spawn(process.execPath, ['-e', script], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {}
  });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) =>
      resolve({ pid: child.pid as number, line: d.toString().trim() }),
    );
    child.once('exit', (code) => reject(new Error(`the group's leader exited with ${code}`)));
  });
}

t.test('the ports a group listens on (IPv4 and IPv6), not those of another process', { skip }, async (t) => {
  // This process listens too: its port is not the group's.
  const mine = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => mine.once('listening', r));
  t.teardown(() => mine.close());
  // Fifty connections to itself: established sockets, which the table lists after the
  // listening ones, where the reading stops.
  const { pid, line } = await group(
    t,
    `const net = require('node:net');
     const a = net.createServer(() => {}).listen(0, '127.0.0.1', () => {
       const ports = [a.address().port];
       const connect = () => {
         let open = 0;
         for (let i = 0; i < 50; i++)
           net.connect(ports[0], '127.0.0.1', () => ++open === 50 && console.log(ports.join(' ')));
       };
       const b = net.createServer().listen(0, '::1', () => { ports.push(b.address().port); connect(); });
       b.on('error', connect);
     });`,
  );
  const expected = line
    .split(' ')
    .map(Number)
    .sort((x, y) => x - y);
  t.same(groupListeningPorts(pid), expected, `the group listens on ${expected.join(', ')}`);
  t.notOk(groupListeningPorts(pid)?.includes((mine.address() as net.AddressInfo).port));
});

t.test('a group that listens on nothing has no ports', { skip }, async (t) => {
  const { pid } = await group(t, `console.log('ready'); setInterval(() => {}, 1000);`);
  t.same(groupListeningPorts(pid), []);
});

import type { Role } from '../config/project.js';
import type { Peer } from './rewrite-env.js';

/**
 * A command names its peers in two more ways than an environment does (rewrite-env.ts has rules
 * 1 to 5), both common in the wait loops compose files put before a server:
 *
 *   6. a host flag, `-h db` or `--host db` (`--host=db`): `pg_isready -h db -U app`,
 *      `redis-cli -h cache ping`. The host becomes 127.0.0.1, and the port flag of the same
 *      command (`-p 5432`, `--port 5432`, `--port=5432`) that service's host port; with none, a
 *      PostgreSQL or Redis peer gets `-p <port>` after the host, since its tools would otherwise
 *      ask their default port, where nothing of the run listens;
 *   7. a host and its port as two words, as netcat takes them: `nc -z db 5432`.
 *
 * The words are a compose command's: the exec form's array, or a shell script in one of them
 * (`sh -c "until pg_isready -h db; do sleep 1; done; exec node server.js"`). A port flag counts
 * only within the same simple command, between `;`, `&&`, `||`, `|`, parentheses and line ends.
 */
export function rewriteHostWords(
  words: string[],
  names: Map<string, Peer>,
  roleOf: (peer: Peer) => Role,
): string[] {
  // Joined by a character no word holds, so that the exec form's words and a script's are read alike.
  const text = words.join(WORD);
  const rewritten = text
    .split(COMMAND_BREAK)
    .map((part, i) => (i % 2 === 1 ? part : rewriteCommand(part, names, roleOf)))
    .join('');
  return rewritten === text ? words : rewritten.split(WORD);
}

const WORD = '\0';
/** Where one simple command of a script ends; captured, so that split keeps it. */
const COMMAND_BREAK = /(&&|\|\||[;|&()\n`])/;
const SPACE = `[\\s${WORD}]`;
const END = `(?=$|[\\s${WORD}'"])`;
const HOST_FLAG = new RegExp(`(^|${SPACE}|['"])(-h|--host)(${SPACE}+|=)(['"]?)([A-Za-z0-9_.-]+)\\4${END}`);
const PORT_FLAG = new RegExp(`(^|${SPACE}|['"])(-p|--port)(${SPACE}+|=)(\\d+)${END}`);
/** A separator alone: the one the host came after, which the added port comes after too. */
const ONE_SPACE = new RegExp(`^${SPACE}$`);
const HOST_AND_PORT = new RegExp(`(^|${SPACE}|['"])([A-Za-z0-9_.-]+)(${SPACE}+)(\\d+)${END}`, 'g');

function rewriteCommand(command: string, names: Map<string, Peer>, roleOf: (peer: Peer) => Role): string {
  const out = command.replace(
    HOST_AND_PORT,
    (match, before: string, host: string, gap: string, port: string) => {
      const peer = names.get(host);
      const mapped = peer?.ports.get(Number(port));
      return peer && mapped ? `${before}${peer.host ?? '127.0.0.1'}${gap}${mapped}` : match;
    },
  );
  const peer = names.get(HOST_FLAG.exec(out)?.[5] ?? '');
  if (!peer) return out;
  const given = PORT_FLAG.exec(out);
  const defaultPort = peer.defaultPort === undefined ? undefined : peer.ports.get(peer.defaultPort);
  const withHost = out.replace(HOST_FLAG, (_, before: string, flag: string, joint: string, quote: string) => {
    let port = '';
    if (!given && defaultPort && (roleOf(peer) === 'postgres' || roleOf(peer) === 'redis')) {
      // A word of its own in the exec form, after a space in a script: as the host came.
      const space = joint === '=' ? (ONE_SPACE.test(before) ? before : ' ') : (joint[0] as string);
      port = `${space}-p${space}${defaultPort}`;
    }
    return `${before}${flag}${joint}${quote}${peer.host ?? '127.0.0.1'}${quote}${port}`;
  });
  const mapped = given && peer.ports.get(Number(given[4]));
  return mapped
    ? withHost.replace(
        PORT_FLAG,
        (_, before: string, flag: string, joint: string) => `${before}${flag}${joint}${mapped}`,
      )
    : withHost;
}

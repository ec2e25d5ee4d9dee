// The runner of compose on `up`'s critical path (src/util/run-command.ts): real commands, their
// output as one text in the order written, and an exit code however they end.
import t from 'tap';
import { runCommand } from '../src/util/run-command.js';

t.test('stdout and stderr as one text, in the order written, and the exit code', async (t) => {
  const ran = await runCommand(
    'sh',
    ['-c', 'echo one; sleep 0.05; echo two >&2; sleep 0.05; echo three; exit 3'],
    process.env,
  );
  t.equal(ran.exitCode, 3);
  t.equal(ran.all, 'one\ntwo\nthree', 'the final newline left off, as execa did');
});

t.test('a command that is not there ends 127, as in a shell, and says why', async (t) => {
  const ran = await runCommand('realstack-no-such-command', [], process.env);
  t.equal(ran.exitCode, 127);
  t.match(ran.all, /ENOENT/);
});

t.test('a command killed by a signal ends 128 and its number', async (t) => {
  const ran = await runCommand('sh', ['-c', 'kill -TERM $$'], process.env);
  t.equal(ran.exitCode, 143);
});

t.test('the environment given is the one the command sees', async (t) => {
  const ran = await runCommand('sh', ['-c', 'printf %s "$REALSTACK_TEST_VALUE"'], {
    PATH: process.env.PATH,
    REALSTACK_TEST_VALUE: 'from the caller',
  });
  t.equal(ran.all, 'from the caller');
});

// The polling waits' step (src/util/pause.ts): it ends when it is woken, and leaves no timer
// behind to hold a finished command open.
import t from 'tap';
import { pause } from '../src/util/pause.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

t.test('a wake ends the step at once, and clears its timer', async (t) => {
  const before = timers();
  // A step of ten minutes: only the wake can end it within tap's timeout.
  await pause(600_000, Promise.resolve());
  t.equal(timers(), before, 'no timer left');
});

t.test('a wake that fails ends nothing: the step runs its length', async (t) => {
  let ended = false;
  const step = pause(50, Promise.reject(new Error('no check'))).then(() => {
    ended = true;
  });
  await Promise.resolve();
  t.notOk(ended, 'still waiting after the rejection');
  await step;
  t.ok(ended, 'ended at its time');
});

t.test('without a wake, the step runs its length', async (t) => {
  const before = timers();
  const step = pause(20);
  t.equal(timers(), before + 1, 'a timer runs');
  await step;
  t.equal(timers(), before, 'and is gone');
});

// The notes service's own tests, against the real stack: `npx realstack test`.

import { serviceUrl, shortTestName } from 'realstack';
import t from 'tap';

const web = () => serviceUrl('web');

async function call(method, path, body) {
  const res = await fetch(new URL(path, web()), {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: res.status === 204 ? undefined : await res.json() };
}

/** A note named for the run (16 characters, the column's limit), removed in teardown. */
async function newNote(t, body) {
  const res = await call('POST', '/notes', { title: shortTestName(), body });
  t.equal(res.status, 201, 'created');
  t.teardown(() => call('DELETE', `/notes/${res.json.id}`));
  return res.json;
}

t.test('a note is stored with its word count, counted in a worker thread', async (t) => {
  const note = await newNote(t, 'three little words');
  t.equal(note.words, 3);
  t.equal(note.title.length, 16);
  const listed = await call('GET', '/notes');
  t.ok(
    listed.json.some((n) => n.id === note.id),
    'listed',
  );
});

t.test('the background worker summarises a new note', async (t) => {
  const note = await newNote(t, 'summarise me please');
  for (let i = 0; i < 100; i++) {
    const got = await call('GET', `/notes/${note.id}`);
    if (got.json.summary) {
      t.equal(got.json.summary, 'SUMMARISE ME PLEASE');
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  t.fail('no summary after 10 s');
});

t.test('a title longer than the column is refused with 400, not a 500', async (t) => {
  const res = await call('POST', '/notes', { title: 'x'.repeat(17), body: 'b' });
  t.equal(res.status, 400);
  t.match(res.json.error, /1 to 16 characters/);
});

t.test('an unknown note is a 404', async (t) => {
  t.equal((await call('GET', '/notes/999999')).status, 404);
  t.equal((await call('DELETE', '/notes/999999')).status, 404);
});

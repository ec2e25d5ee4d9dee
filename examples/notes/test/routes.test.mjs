// What the notes service answers outside its notes: a route it does not have.

import { serviceUrl } from 'realstack';
import t from 'tap';

t.test('an unknown route is a JSON 404 that names it', async (t) => {
  const res = await fetch(new URL('/nope', serviceUrl('web')));
  t.equal(res.status, 404);
  t.same(await res.json(), { error: 'no route GET /nope' });
});

// A background worker: summarises new notes. It has no SIGTERM handler of its own, as many
// such loops do not: a stop ends it wherever it is.
import { connect, pool } from './db.js';

const db = pool();
await connect(db);
await db.query('SELECT 1 FROM notes LIMIT 1').catch(async () => {
  // The web service's migration may not have run yet.
  await new Promise((r) => setTimeout(r, 1000));
});

async function summarise() {
  const { rows } = await db.query('SELECT id, body FROM notes WHERE summarized_at IS NULL LIMIT 10');
  for (const note of rows) {
    const summary = note.body.slice(0, 40).toUpperCase();
    await db.query('UPDATE notes SET summary = $1, summarized_at = now() WHERE id = $2', [summary, note.id]);
  }
  return rows.length;
}

for (;;) {
  try {
    const done = await summarise();
    if (done > 0) console.log(`worker: summarised ${done} notes`);
  } catch (err) {
    console.error(`worker: ${err.message}`);
  }
  await new Promise((r) => setTimeout(r, 200));
}

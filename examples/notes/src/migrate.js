// Run before the server (see the compose file's command): creates the tables once.
import { connect, pool } from './db.js';

const db = pool();
await connect(db);
await db.query(`
  CREATE TABLE IF NOT EXISTS notes (
    id serial PRIMARY KEY,
    title varchar(16) NOT NULL,
    body text NOT NULL,
    words integer NOT NULL,
    summary text,
    summarized_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`);
console.log('migrate: notes table ready');
await db.end();

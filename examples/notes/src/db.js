// The connection every part of the service shares, configured the way many teams do it:
// one variable per setting.
import pg from 'pg';

export function pool() {
  return new pg.Pool({
    host: process.env.DB_HOST ?? 'localhost',
    port: Number(process.env.DB_PORT ?? 5432),
    user: process.env.DB_USER,
    password: process.env.DB_PASSWORD,
    database: process.env.DB_NAME,
    max: 5,
  });
}

/** Waits for the database: in compose, a short depends_on starts the service before it is ready. */
export async function connect(db, attempts = 60) {
  for (let i = 1; ; i++) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

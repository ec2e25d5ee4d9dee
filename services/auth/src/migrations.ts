import type { Migration } from '../../kit/src/index.js';

export const migrations: Migration[] = [
  {
    id: '001_users',
    sql: `CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      username text NOT NULL UNIQUE,
      password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];

import type { Migration } from '../../kit/src/index.js';

export const migrations: Migration[] = [
  {
    id: '001_organisations',
    sql: `CREATE TABLE organisations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      is_default boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX organisations_one_default ON organisations (is_default) WHERE is_default`,
  },
];

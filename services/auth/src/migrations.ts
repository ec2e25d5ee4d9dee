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
  {
    id: '002_signing_keys',
    // Private keys live in the database so that every replica signs with the same key; a
    // retired key stays published in the JWKS until the tokens it signed have expired.
    sql: `CREATE TABLE signing_keys (
      kid text PRIMARY KEY,
      alg text NOT NULL,
      private_jwk jsonb NOT NULL,
      public_jwk jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      retired_at timestamptz
    );
    CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL`,
  },
  {
    id: '003_clients',
    // Secrets and registration tokens are stored only as hashes (tokens.ts).
    sql: `CREATE TABLE clients (
      client_id text PRIMARY KEY,
      client_secret_hash text,
      registration_token_hash text NOT NULL,
      metadata jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];

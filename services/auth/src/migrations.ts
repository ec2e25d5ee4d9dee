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
  {
    id: '004_authorization',
    // A grant is one user's consent to one client for one resource: the "family" its code,
    // refresh tokens and access tokens belong to, revoked as a whole on replay or reuse.
    // Every secret value (request ids, sessions, codes, refresh tokens) is stored as a hash.
    sql: `CREATE TABLE sessions (
      id_hash text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
      expires_at timestamptz NOT NULL
    );
    CREATE TABLE authorization_requests (
      id_hash text PRIMARY KEY,
      browser_hash text NOT NULL,
      client_id text NOT NULL REFERENCES clients ON DELETE CASCADE,
      redirect_uri text NOT NULL,
      scope text NOT NULL,
      state text,
      code_challenge text NOT NULL,
      resource text NOT NULL,
      user_id uuid REFERENCES users ON DELETE CASCADE,
      expires_at timestamptz NOT NULL
    );
    CREATE TABLE grants (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      client_id text NOT NULL REFERENCES clients ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
      scope text NOT NULL,
      resource text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );
    CREATE TABLE codes (
      code_hash text PRIMARY KEY,
      grant_id uuid NOT NULL REFERENCES grants ON DELETE CASCADE,
      redirect_uri text NOT NULL,
      code_challenge text NOT NULL,
      expires_at timestamptz NOT NULL,
      redeemed_at timestamptz
    );
    CREATE TABLE refresh_tokens (
      token_hash text PRIMARY KEY,
      grant_id uuid NOT NULL REFERENCES grants ON DELETE CASCADE,
      expires_at timestamptz NOT NULL,
      rotated_at timestamptz
    );
    CREATE TABLE access_tokens (
      jti text PRIMARY KEY,
      grant_id uuid NOT NULL REFERENCES grants ON DELETE CASCADE,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz
    );
    CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
    CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
    CREATE INDEX codes_grant ON codes (grant_id)`,
  },
];

import { randomBytes } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type pg from 'pg';
import { transaction } from '../../kit/src/index.js';

export const SIGNING_ALG = 'ES256';

/** Members of a private JWK that must never leave the service. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

export function publicOnly(jwk: JWK): JWK {
  const pub: Record<string, unknown> = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete pub[m];
  return pub as JWK;
}

async function newKey(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  // 128 bits of randomness: unique across rotations and replicas without coordination.
  const kid = randomBytes(16).toString('base64url');
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  return { kid, privateJwk, publicJwk: publicOnly(privateJwk) };
}

/**
 * Makes sure one active signing key exists. Replicas starting together agree through the
 * unique index on the active key: the loser of the race reads the winner's key.
 */
export async function ensureSigningKey(pool: pg.Pool): Promise<void> {
  const active = await pool.query('SELECT kid FROM auth.signing_keys WHERE retired_at IS NULL');
  if (active.rowCount) return;
  const key = await newKey();
  await pool.query(
    `INSERT INTO auth.signing_keys (kid, alg, private_jwk, public_jwk) VALUES ($1, $2, $3, $4)
     ON CONFLICT DO NOTHING`,
    [key.kid, SIGNING_ALG, key.privateJwk, key.publicJwk],
  );
}

/** The published keys: the active one and those retired less than `keepSeconds` ago. */
export async function publicKeys(pool: pg.Pool, keepSeconds: number): Promise<JWK[]> {
  const res = await pool.query<{ public_jwk: JWK }>(
    `SELECT public_jwk FROM auth.signing_keys
     WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
     ORDER BY created_at DESC`,
    [keepSeconds],
  );
  return res.rows.map((r) => publicOnly(r.public_jwk));
}

/**
 * Retires the active key and makes a new one, in one transaction (replicas see either the old
 * or the new key as active). The retired key stays in the JWKS for `publicKeys`' keepSeconds.
 */
export async function rotateSigningKey(pool: pg.Pool): Promise<{ kid: string; retired: string[] }> {
  const key = await newKey();
  return transaction(pool, async (db) => {
    const retired = await db.query<{ kid: string }>(
      'UPDATE auth.signing_keys SET retired_at = now() WHERE retired_at IS NULL RETURNING kid',
    );
    await db.query(
      'INSERT INTO auth.signing_keys (kid, alg, private_jwk, public_jwk) VALUES ($1, $2, $3, $4)',
      [key.kid, SIGNING_ALG, key.privateJwk, key.publicJwk],
    );
    return { kid: key.kid, retired: retired.rows.map((r) => r.kid) };
  });
}

// Imported keys by kid: a kid never changes its key, so the import (slow-ish) happens once.
const imported = new Map<string, Promise<CryptoKey>>();
const importOnce = (kid: string, jwk: JWK): Promise<CryptoKey> => {
  let key = imported.get(kid);
  if (!key) {
    key = importJWK(jwk, SIGNING_ALG) as Promise<CryptoKey>;
    imported.set(kid, key);
  }
  return key;
};

/** The active private key, read on every call so that a rotation takes effect at once. */
export async function activeSigningKey(
  pool: pg.Pool | pg.PoolClient,
): Promise<{ kid: string; key: CryptoKey }> {
  const res = await pool.query<{ kid: string; private_jwk: JWK }>(
    'SELECT kid, private_jwk FROM auth.signing_keys WHERE retired_at IS NULL',
  );
  const row = res.rows[0];
  if (!row) throw new Error('no active signing key');
  return { kid: row.kid, key: await importOnce(`private:${row.kid}`, row.private_jwk) };
}

/** A published public key by kid (active or retired less than `keepSeconds` ago). */
export async function verificationKey(
  pool: pg.Pool,
  kid: string,
  keepSeconds: number,
): Promise<CryptoKey | undefined> {
  const res = await pool.query<{ public_jwk: JWK }>(
    `SELECT public_jwk FROM auth.signing_keys
     WHERE kid = $1 AND (retired_at IS NULL OR retired_at > now() - make_interval(secs => $2))`,
    [kid, keepSeconds],
  );
  const row = res.rows[0];
  return row ? importOnce(`public:${kid}`, publicOnly(row.public_jwk)) : undefined;
}

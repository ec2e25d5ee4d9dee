import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type pg from 'pg';

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

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 bits, base64url: codes, tokens, secrets and client ids (checklist X2 asks ≥ 128). */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/**
 * Stored form of a high-entropy secret. A fast hash is enough for 256 random bits (nothing to
 * guess); passwords, which are guessable, use scrypt instead.
 */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

export function secretMatches(secret: string, stored: string | null | undefined): boolean {
  if (!stored) return false;
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// scrypt's cost N (PASSWORD_SCRYPT_N): 2^15 takes tens of milliseconds here, which slows guessing
// without slowing logins. A development or test stack may choose less: every user a test makes
// and every sign-in costs one hash, on the threads that also answer the other requests.
export const DEFAULT_SCRYPT_N = 32768;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/** PASSWORD_SCRYPT_N: a power of two from 2^10 to 2^17 (the memory a hash takes is 128·N·r bytes). */
export const scryptCost = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1024 || n > 131072 || (n & (n - 1)) !== 0) {
    throw new Error('must be a power of two from 1024 to 131072');
  }
  return n;
};

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: 128 * n * r * 2 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Hashes new passwords at one cost, and verifies stored hashes at whatever cost made them. */
export class Passwords {
  // Verified when the username is unknown, so that a wrong username takes as long as a wrong password.
  private readonly unknownUserHash: Promise<string>;

  constructor(private readonly n: number = DEFAULT_SCRYPT_N) {
    this.unknownUserHash = this.hash(randomBytes(16).toString('hex'));
  }

  /** `scrypt$N$r$p$salt$hash`: the parameters travel with the hash, so they can change later. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await derive(password, salt, this.n, R, P);
    return `scrypt$${this.n}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  /** Whether `password` matches a stored hash; `undefined` (no such user) never matches. */
  async verify(password: string, stored: string | undefined): Promise<boolean> {
    const [scheme, n, r, p, salt, hash] = (stored ?? (await this.unknownUserHash)).split('$');
    if (scheme !== 'scrypt' || !salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64url');
    const key = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
    return stored !== undefined && key.length === expected.length && timingSafeEqual(key, expected);
  }
}

// Password hashing. New hashes are scrypt (Node's libuv thread pool, so the event loop is never
// blocked), encoded PHC-style. Imported argon2 and bcrypt hashes verify too (through hash-wasm) and
// report `needsRehash`, so that a login can replace them with our current scrypt format.
// Nothing here logs, and nothing throws for a bad stored hash.

import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

export type HashFormat = 'scrypt' | 'argon2' | 'bcrypt';

/** Our current parameters: N = 2^15, r = 8, p = 1, a 16-byte salt, a 32-byte key (32 MiB of memory). */
export const SCRYPT_LOG_N = 15;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const SCRYPT_SALT_BYTES = 16;
export const SCRYPT_KEY_BYTES = 32;

// Bounds on what a stored (possibly imported) hash may ask for, so that one login cannot cost
// unbounded memory or time. A hash outside them is not a hash we accept (hashFormat → null).
const SCRYPT_MAX_LOG_N = 20;
const SCRYPT_MAX_R = 32;
const SCRYPT_MAX_P = 16;
/** 128 · N · r: the memory one scrypt needs. */
const SCRYPT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;
/** N · r · p: 16 times our own cost. */
const SCRYPT_MAX_WORK = 2 ** SCRYPT_LOG_N * SCRYPT_R * SCRYPT_P * 16;
// Imported bcrypt and argon2 hashes are verified by hash-wasm on the event loop (synchronous
// WASM), once per imported user before the rehash: the caps keep that stall short (bcrypt cost 12
// is about 0.2 s here).
const ARGON2_MAX_MEMORY_KIB = 64 * 1024;
/** Memory × passes, in KiB: e.g. 64 MiB × 4 passes, or 16 MiB × 16. */
const ARGON2_MAX_WORK_KIB = 256 * 1024;
const ARGON2_MAX_ITERATIONS = 64;
const ARGON2_MAX_PARALLELISM = 64;
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 12;
/** bcrypt only ever reads the first 72 bytes of a password. */
const BCRYPT_MAX_PASSWORD_BYTES = 72;
const SALT_MIN_BYTES = 8;
const SALT_MAX_BYTES = 64;
const KEY_MIN_BYTES = 16;
const KEY_MAX_BYTES = 64;

const SCRYPT_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const ARGON2_RE =
  /^\$argon2(id|i|d)\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const BCRYPT_RE = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

interface ScryptHash {
  format: 'scrypt';
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}
interface Argon2Hash {
  format: 'argon2';
}
interface BcryptHash {
  format: 'bcrypt';
}
type ParsedHash = ScryptHash | Argon2Hash | BcryptHash;

function toB64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Canonical unpadded base64 (PHC), or null. */
function fromB64(text: string): Buffer | null {
  if (text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  return toB64(bytes) === text ? bytes : null;
}

function inRange(n: number, min: number, max: number): boolean {
  return Number.isInteger(n) && n >= min && n <= max;
}

function scryptMaxmem(n: number, r: number, p: number): number {
  // OpenSSL needs 128·r·(N + 2) for V plus 128·r·p for B; leave a little room.
  return 128 * r * (n + 2 + p) + 1024 * 1024;
}

function parseScrypt(hash: string): ScryptHash | null {
  const m = SCRYPT_RE.exec(hash);
  if (!m) return null;
  const logN = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (!inRange(logN, 1, SCRYPT_MAX_LOG_N) || !inRange(r, 1, SCRYPT_MAX_R) || !inRange(p, 1, SCRYPT_MAX_P)) {
    return null;
  }
  const n = 2 ** logN;
  if (128 * n * r > SCRYPT_MAX_MEMORY_BYTES || n * r * p > SCRYPT_MAX_WORK) return null;
  const salt = fromB64(m[4]!);
  const key = fromB64(m[5]!);
  if (!salt || !key) return null;
  if (!inRange(salt.length, SALT_MIN_BYTES, SALT_MAX_BYTES)) return null;
  if (!inRange(key.length, KEY_MIN_BYTES, KEY_MAX_BYTES)) return null;
  return { format: 'scrypt', logN, r, p, salt, key };
}

function parseArgon2(hash: string): Argon2Hash | null {
  const m = ARGON2_RE.exec(hash);
  if (!m) return null;
  const memory = Number(m[2]);
  const iterations = Number(m[3]);
  const parallelism = Number(m[4]);
  if (!inRange(parallelism, 1, ARGON2_MAX_PARALLELISM)) return null;
  if (!inRange(iterations, 1, ARGON2_MAX_ITERATIONS)) return null;
  if (!inRange(memory, 8 * parallelism, ARGON2_MAX_MEMORY_KIB)) return null;
  if (memory * iterations > ARGON2_MAX_WORK_KIB) return null;
  const salt = fromB64(m[5]!);
  const key = fromB64(m[6]!);
  if (!salt || !key) return null;
  if (!inRange(salt.length, SALT_MIN_BYTES, SALT_MAX_BYTES)) return null;
  if (!inRange(key.length, KEY_MIN_BYTES, KEY_MAX_BYTES)) return null;
  return { format: 'argon2' };
}

function parseBcrypt(hash: string): BcryptHash | null {
  const m = BCRYPT_RE.exec(hash);
  if (!m) return null;
  if (!inRange(Number(m[1]), BCRYPT_MIN_COST, BCRYPT_MAX_COST)) return null;
  return { format: 'bcrypt' };
}

function parseHash(hash: unknown): ParsedHash | null {
  if (typeof hash !== 'string') return null;
  if (hash.startsWith('$scrypt$')) return parseScrypt(hash);
  if (hash.startsWith('$argon2')) return parseArgon2(hash);
  if (hash.startsWith('$2')) return parseBcrypt(hash);
  return null;
}

function scryptAsync(
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

function scryptOptions(logN: number, r: number, p: number): ScryptOptions {
  const n = 2 ** logN;
  return { N: n, r, p, maxmem: scryptMaxmem(n, r, p) };
}

/**
 * Hashes a password with scrypt (N = 2^15, r = 8, p = 1, random 16-byte salt, 32-byte key):
 * `$scrypt$ln=15,r=8,p=1$<salt>$<key>`, both in base64 without padding.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const key = await scryptAsync(
    password,
    salt,
    SCRYPT_KEY_BYTES,
    scryptOptions(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P),
  );
  return `$scrypt$ln=${SCRYPT_LOG_N},r=${SCRYPT_R},p=${SCRYPT_P}$${toB64(salt)}$${toB64(key)}`;
}

function isCurrentScrypt(h: ScryptHash): boolean {
  return (
    h.logN === SCRYPT_LOG_N &&
    h.r === SCRYPT_R &&
    h.p === SCRYPT_P &&
    h.salt.length === SCRYPT_SALT_BYTES &&
    h.key.length === SCRYPT_KEY_BYTES
  );
}

async function check(password: string, parsed: ParsedHash, hash: string): Promise<boolean> {
  switch (parsed.format) {
    case 'scrypt': {
      const derived = await scryptAsync(
        password,
        parsed.salt,
        parsed.key.length,
        scryptOptions(parsed.logN, parsed.r, parsed.p),
      );
      return timingSafeEqual(derived, parsed.key);
    }
    case 'argon2': {
      // hash-wasm (WebAssembly) is loaded by the first imported argon2 or bcrypt hash, not at start.
      const { argon2Verify } = await import('hash-wasm');
      return argon2Verify({ password, hash });
    }
    case 'bcrypt': {
      // bcrypt reads at most 72 bytes: verify as the system that made the hash did.
      const bytes = new TextEncoder().encode(password).subarray(0, BCRYPT_MAX_PASSWORD_BYTES);
      const { bcryptVerify } = await import('hash-wasm');
      return bcryptVerify({ password: bytes, hash });
    }
  }
}

/**
 * Verifies a password against a stored hash (our scrypt, argon2id/i/d v19, bcrypt 2a/2b/2y).
 * `needsRehash` is true after a successful check of anything but our current scrypt parameters.
 * An unknown, malformed or out-of-bounds hash gives `{ ok: false, needsRehash: false }`; this never throws.
 */
export async function verifyPassword(
  password: string,
  hash: string,
): Promise<{ ok: boolean; needsRehash: boolean }> {
  const fail = { ok: false, needsRehash: false };
  if (typeof password !== 'string' || password === '') return fail;
  const parsed = parseHash(hash);
  if (!parsed) return fail;
  try {
    if (!(await check(password, parsed, hash))) return fail;
  } catch {
    return fail;
  }
  return { ok: true, needsRehash: !(parsed.format === 'scrypt' && isCurrentScrypt(parsed)) };
}

/**
 * The format of a stored or imported hash when it is one `verifyPassword` accepts (whole shape and
 * parameter bounds checked, not just the prefix), else null.
 */
export function hashFormat(hash: string): HashFormat | null {
  return parseHash(hash)?.format ?? null;
}

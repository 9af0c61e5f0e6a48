import { randomBytes } from 'node:crypto';
import { argon2d, argon2i, argon2id, bcrypt } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { hashFormat, hashPassword, verifyPassword } from '../../src/auth/passwords.js';

const SCRYPT_SHAPE = /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

async function makeBcrypt(password: string, cost = 4): Promise<string> {
  return bcrypt({ password, salt: randomBytes(16), costFactor: cost, outputType: 'encoded' });
}

async function makeArgon2(
  fn: typeof argon2id,
  password: string,
  opts: { memorySize?: number; iterations?: number; parallelism?: number } = {},
): Promise<string> {
  return fn({
    password,
    salt: randomBytes(16),
    iterations: opts.iterations ?? 2,
    parallelism: opts.parallelism ?? 1,
    memorySize: opts.memorySize ?? 1024,
    hashLength: 32,
    outputType: 'encoded',
  });
}

describe('hashPassword / verifyPassword (scrypt)', () => {
  it('produces the PHC scrypt format', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(SCRYPT_SHAPE);
    expect(hashFormat(hash)).toBe('scrypt');
  });

  it('verifies the right password without asking for a rehash, refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(await verifyPassword('correct horse battery staple', hash)).toEqual({
      ok: true,
      needsRehash: false,
    });
    expect(await verifyPassword('correct horse battery stapler', hash)).toEqual({
      ok: false,
      needsRehash: false,
    });
    expect(await verifyPassword('Correct horse battery staple', hash)).toEqual({
      ok: false,
      needsRehash: false,
    });
  });

  it('handles multi-byte passwords', async () => {
    const password = 'pässwörd-🔑-密码';
    const hash = await hashPassword(password);
    expect((await verifyPassword(password, hash)).ok).toBe(true);
    expect((await verifyPassword(password.normalize('NFD'), hash)).ok).toBe(false);
  });

  it('salts: two hashes of the same password differ and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[3]).not.toBe(b.split('$')[3]);
    expect((await verifyPassword('same password', a)).ok).toBe(true);
    expect((await verifyPassword('same password', b)).ok).toBe(true);
  });

  it('does not block the event loop while hashing', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 1);
    await hashPassword('event loop stays free');
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
  });

  it('asks for a rehash of a scrypt hash with other parameters', async () => {
    const { scrypt } = await import('node:crypto');
    const salt = randomBytes(16);
    const key = await new Promise<Buffer>((resolve, reject) =>
      scrypt('old params', salt, 32, { N: 2 ** 14, r: 8, p: 1 }, (err, k) =>
        err ? reject(err) : resolve(k),
      ),
    );
    const hash = `$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(key)}`;
    expect(hashFormat(hash)).toBe('scrypt');
    expect(await verifyPassword('old params', hash)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('other', hash)).toEqual({ ok: false, needsRehash: false });
  });
});

describe('verifyPassword: imported hashes', () => {
  it('verifies a bcrypt hash made with hash-wasm, with needsRehash', async () => {
    const hash = await makeBcrypt('imported password');
    expect(hash).toMatch(/^\$2a\$04\$/); // hash-wasm writes the $2a$ prefix
    expect(await verifyPassword('imported password', hash)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('imported passworD', hash)).toEqual({ ok: false, needsRehash: false });
  });

  it('accepts the $2b$ and $2y$ prefixes', async () => {
    const hash = await makeBcrypt('prefix test');
    for (const prefix of ['$2b$', '$2y$']) {
      const variant = prefix + hash.slice(4);
      expect(hashFormat(variant)).toBe('bcrypt');
      expect(await verifyPassword('prefix test', variant)).toEqual({ ok: true, needsRehash: true });
    }
  });

  it('verifies bcrypt as bcrypt does: only the first 72 bytes count', async () => {
    const password = 'x'.repeat(72);
    const hash = await makeBcrypt(password);
    expect((await verifyPassword(`${password}extra`, hash)).ok).toBe(true);
    expect((await verifyPassword('x'.repeat(71), hash)).ok).toBe(false);
  });

  it('verifies an argon2id hash made with hash-wasm, with needsRehash', async () => {
    const hash = await makeArgon2(argon2id, 'imported password');
    expect(hash.startsWith('$argon2id$v=19$m=1024,t=2,p=1$')).toBe(true);
    expect(await verifyPassword('imported password', hash)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('wrong password', hash)).toEqual({ ok: false, needsRehash: false });
  });

  it('verifies argon2i and argon2d hashes too', async () => {
    for (const fn of [argon2i, argon2d]) {
      const hash = await makeArgon2(fn, 'imported password', { parallelism: 2 });
      expect(hashFormat(hash)).toBe('argon2');
      expect(await verifyPassword('imported password', hash)).toEqual({ ok: true, needsRehash: true });
      expect((await verifyPassword('nope nope', hash)).ok).toBe(false);
    }
  });
});

describe('verifyPassword: malformed hashes never throw', () => {
  const malformed = [
    '',
    'plaintext',
    '$',
    '$scrypt$',
    '$scrypt$ln=15,r=8,p=1$$',
    '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$',
    '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE',
    '$scrypt$ln=40,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE',
    '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE$extra',
    '$argon2id$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$',
    '$argon2id$v=16$m=1024,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE',
    '$argon2id$v=19$m=4,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE',
    '$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE',
    '$argon2x$v=19$m=1024,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE',
    '$2b$10$tooShort',
    `$2b$31$${'a'.repeat(53)}`,
    `$2b$03$${'a'.repeat(53)}`,
    `$2x$10$${'a'.repeat(53)}`,
    `$2b$10$${'a'.repeat(52)}!`,
    '$pbkdf2-sha256$29000$N2ZPQ2NlcQ$abc',
  ];

  it.each(malformed)('%j → ok false', async (hash) => {
    await expect(verifyPassword('any password', hash)).resolves.toEqual({ ok: false, needsRehash: false });
    expect(hashFormat(hash)).toBeNull();
  });

  it('a well-shaped but corrupted hash fails without throwing', async () => {
    const good = await hashPassword('password one');
    const parts = good.split('$');
    const key = Buffer.from(parts[4]!, 'base64');
    key[0]! ^= 1;
    parts[4] = b64(key);
    const corrupted = parts.join('$');
    expect(hashFormat(corrupted)).toBe('scrypt');
    expect(await verifyPassword('password one', corrupted)).toEqual({ ok: false, needsRehash: false });
  });

  it('refuses an empty password, whatever the hash', async () => {
    const hash = await hashPassword('');
    expect((await verifyPassword('', hash)).ok).toBe(false);
    expect((await verifyPassword('', await makeBcrypt('x'))).ok).toBe(false);
  });

  it('does not throw for non-string input at runtime', async () => {
    const hash = await hashPassword('password one');
    await expect(verifyPassword(undefined as unknown as string, hash)).resolves.toEqual({
      ok: false,
      needsRehash: false,
    });
    await expect(verifyPassword('password one', null as unknown as string)).resolves.toEqual({
      ok: false,
      needsRehash: false,
    });
  });
});

describe('hashFormat', () => {
  it('classifies the three formats', async () => {
    expect(hashFormat(await hashPassword('p4ssword'))).toBe('scrypt');
    expect(hashFormat(await makeBcrypt('p4ssword'))).toBe('bcrypt');
    expect(hashFormat(await makeArgon2(argon2id, 'p4ssword'))).toBe('argon2');
    expect(hashFormat(await makeArgon2(argon2i, 'p4ssword'))).toBe('argon2');
    expect(hashFormat(await makeArgon2(argon2d, 'p4ssword'))).toBe('argon2');
  });

  it('checks the whole shape, not just the prefix', async () => {
    const bc = await makeBcrypt('p4ssword');
    expect(hashFormat(`${bc}x`)).toBeNull();
    expect(hashFormat(bc.slice(0, -1))).toBeNull();
    const ar = await makeArgon2(argon2id, 'p4ssword');
    expect(hashFormat(`${ar}$`)).toBeNull();
    expect(hashFormat(ar.replace('t=2,', ''))).toBeNull();
    const sc = await hashPassword('p4ssword');
    expect(hashFormat(` ${sc}`)).toBeNull();
    expect(hashFormat(sc.replace('ln=15', 'ln=x'))).toBeNull();
    expect(hashFormat('$scrypt$ln=15,r=8,p=1$c2FsdA$YWFh')).toBeNull(); // salt and key too short
    expect(hashFormat('$2b$')).toBeNull();
    expect(hashFormat('$argon2id$')).toBeNull();
    expect(hashFormat('bcrypt')).toBeNull();
  });

  it('refuses parameters that would make a login too expensive', () => {
    const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
    const key = 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE';
    expect(hashFormat(`$scrypt$ln=15,r=8,p=1$${salt}$${key}`)).toBe('scrypt');
    expect(hashFormat(`$scrypt$ln=21,r=8,p=1$${salt}$${key}`)).toBeNull();
    expect(hashFormat(`$scrypt$ln=18,r=8,p=1$${salt}$${key}`)).toBe('scrypt');
    expect(hashFormat(`$scrypt$ln=18,r=16,p=1$${salt}$${key}`)).toBeNull();
    expect(hashFormat(`$argon2id$v=19$m=65536,t=3,p=4$${salt}$${key}`)).toBe('argon2');
    expect(hashFormat(`$argon2id$v=19$m=65536,t=5,p=4$${salt}$${key}`)).toBeNull();
    expect(hashFormat(`$argon2id$v=19$m=2097152,t=1,p=4$${salt}$${key}`)).toBeNull();
    expect(hashFormat(`$2b$12$${"a".repeat(53)}`)).toBe("bcrypt");
    expect(hashFormat(`$2b$13$${"a".repeat(53)}`)).toBeNull();
  });
});

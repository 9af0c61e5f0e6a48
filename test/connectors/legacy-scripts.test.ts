// The demo legacy database (scripts/lib/legacy-database.mjs) and the custom-database scripts that
// reach it (scripts/legacy-db.mjs, scripts/legacy-import.mjs), also loaded through the gateway's
// ScriptRegistry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CustomDbScript, type ScriptProfile, ScriptRegistry } from '../../src/connectors/custom-db.js';

interface SeedAccount {
  email: string;
  password: string;
  username?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  phone_number?: string;
  phone_verified?: boolean;
  email_verified?: boolean;
  user_metadata?: Record<string, unknown>;
  plan?: string;
}

type Scripts = Required<CustomDbScript>;

/** The shape of scripts/lib/legacy-database.mjs (plain JavaScript, so typed here). */
interface LegacyDatabaseModule {
  makeScripts(tenant: string): Scripts;
  seedLegacyAccounts(
    path: string,
    tenant: string,
    accounts: SeedAccount[],
    options?: { bcryptCost?: number },
  ): Promise<number>;
  updateLegacyAccount(
    path: string,
    tenant: string,
    email: string,
    changes: Record<string, unknown>,
    options?: { bcryptCost?: number },
  ): Promise<ScriptProfile>;
  readLegacyAccount(path: string, tenant: string, email: string): ScriptProfile | null;
  closeLegacyDatabases(): void;
}

const scriptsDir = resolve(fileURLToPath(new URL('../../scripts', import.meta.url)));
// A computed specifier: the module is JavaScript without declarations, typed by the interface above.
const legacyModuleUrl = new URL('../../scripts/lib/legacy-database.mjs', import.meta.url).href;
const { makeScripts, seedLegacyAccounts, updateLegacyAccount, readLegacyAccount, closeLegacyDatabases } =
  (await import(legacyModuleUrl)) as LegacyDatabaseModule;

const COST = { bcryptCost: 4 };
const ADA: SeedAccount = {
  email: 'Ada@Example.com',
  password: 'correct horse battery',
  username: 'ada',
  name: 'Ada Lovelace',
  given_name: 'Ada',
  family_name: 'Lovelace',
  nickname: 'countess',
  picture: 'https://example.com/ada.png',
  phone_number: '+441234567890',
  phone_verified: true,
  email_verified: true,
  user_metadata: { theme: 'dark', langs: ['en', 'fr'] },
  plan: 'gold',
};
const BOB: SeedAccount = { email: 'bob@example.com', password: 'hunter2-hunter2' };

let dir: string;
let dbPath: string;
const savedPath = process.env.LEGACY_DB_PATH;
let legacyDb: Scripts;
let legacyImport: Scripts;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'legacy-'));
  legacyDb = makeScripts('legacy-db');
  legacyImport = makeScripts('legacy-import');
});

let caseNo = 0;
beforeEach(async () => {
  caseNo++;
  dbPath = join(dir, `case-${caseNo}.db`);
  process.env.LEGACY_DB_PATH = dbPath;
  await seedLegacyAccounts(dbPath, 'legacy-db', [ADA, BOB], COST);
});

afterEach(() => {
  closeLegacyDatabases();
});

afterAll(() => {
  closeLegacyDatabases();
  if (savedPath === undefined) delete process.env.LEGACY_DB_PATH;
  else process.env.LEGACY_DB_PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

function expectNoSecrets(profile: ScriptProfile | null): void {
  const json = JSON.stringify(profile);
  expect(json).not.toMatch(/\$2[aby]\$/);
  expect(json).not.toContain('correct horse');
  expect(json).not.toContain('hunter2');
  for (const key of Object.keys(profile ?? {})) expect(key).not.toMatch(/pass|hash|bcrypt/i);
}

describe('legacy database scripts', () => {
  it('logs in with the right password and maps the legacy columns to Auth0 keys', async () => {
    const profile = await legacyDb.login('Ada@Example.com', 'correct horse battery');
    expect(profile).toEqual({
      user_id: expect.stringMatching(/^\d+$/),
      email: 'Ada@Example.com',
      email_verified: true,
      username: 'ada',
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      nickname: 'countess',
      picture: 'https://example.com/ada.png',
      phone_number: '+441234567890',
      phone_verified: true,
      user_metadata: { theme: 'dark', langs: ['en', 'fr'] },
      app_metadata: { plan: 'gold' },
    });
    expectNoSecrets(profile);
  });

  it('leaves out the keys whose column is NULL', async () => {
    const profile = await legacyDb.login('bob@example.com', 'hunter2-hunter2');
    expect(profile).toEqual({
      user_id: expect.stringMatching(/^\d+$/),
      email: 'bob@example.com',
      email_verified: false,
      phone_verified: false,
    });
    expectNoSecrets(profile);
  });

  it('answers null for a wrong password and for an unknown user', async () => {
    expect(await legacyDb.login('Ada@Example.com', 'wrong password')).toBeNull();
    expect(await legacyDb.login('Ada@Example.com', '')).toBeNull();
    expect(await legacyDb.login('Ada@Example.com', 'x'.repeat(100))).toBeNull();
    expect(await legacyDb.login('nobody@example.com', 'correct horse battery')).toBeNull();
    expect(await legacyDb.getUser('nobody@example.com')).toBeNull();
  });

  it('logs in by username and by email in another case', async () => {
    const byUsername = await legacyDb.login('ADA', 'correct horse battery');
    const byEmail = await legacyDb.login('ada@EXAMPLE.com', 'correct horse battery');
    expect(byUsername?.email).toBe('Ada@Example.com');
    expect(byEmail?.user_id).toBe(byUsername?.user_id);
  });

  it('getUser finds a user by email or username without a password', async () => {
    const byEmail = await legacyDb.getUser('ada@example.com');
    expect(byEmail).toMatchObject({ email: 'Ada@Example.com', username: 'ada', name: 'Ada Lovelace' });
    expect(await legacyDb.getUser('Ada')).toEqual(byEmail);
    expectNoSecrets(byEmail);
  });

  it('creates a user who can then log in', async () => {
    const created = await legacyDb.create({
      email: 'grace@example.com',
      password: 'cobol-forever',
      username: 'grace',
      name: 'Grace Hopper',
      given_name: 'Grace',
      family_name: 'Hopper',
      user_metadata: { team: 'navy' },
      app_metadata: { plan: 'silver' },
      connection: 'legacy-db',
    });
    expect(created).toEqual({
      user_id: expect.stringMatching(/^\d+$/),
      email: 'grace@example.com',
      email_verified: false,
      phone_verified: false,
      username: 'grace',
      name: 'Grace Hopper',
      given_name: 'Grace',
      family_name: 'Hopper',
      user_metadata: { team: 'navy' },
      app_metadata: { plan: 'silver' },
    });
    expectNoSecrets(created);
    expect(await legacyDb.login('grace', 'cobol-forever')).toEqual(created);
    expect(readLegacyAccount(dbPath, 'legacy-db', 'GRACE@example.com')).toEqual(created);
  });

  it('refuses to create a user whose email or username exists', async () => {
    await expect(legacyDb.create({ email: 'BOB@example.com', password: 'another-one' })).rejects.toThrow(
      /already exists/,
    );
    await expect(
      legacyDb.create({ email: 'someone@example.com', password: 'another-one', username: 'Ada' }),
    ).rejects.toThrow(/already exists/);
    expect(await legacyDb.getUser('someone@example.com')).toBeNull();
  });

  it('changePassword: the old password stops working, the new one works', async () => {
    await expect(legacyDb.changePassword('bob@example.com', 'brand-new-secret')).resolves.toBe(true);
    expect(await legacyDb.login('bob@example.com', 'hunter2-hunter2')).toBeNull();
    expect(await legacyDb.login('bob@example.com', 'brand-new-secret')).toMatchObject({
      email: 'bob@example.com',
    });
    await expect(legacyDb.changePassword('nobody@example.com', 'whatever-1')).rejects.toThrow();
  });

  it('changeEmail: the user logs in by the new email, not the old one', async () => {
    await expect(legacyDb.changeEmail('bob@example.com', 'robert@example.com', true)).resolves.toBe(true);
    expect(await legacyDb.login('bob@example.com', 'hunter2-hunter2')).toBeNull();
    expect(await legacyDb.login('robert@example.com', 'hunter2-hunter2')).toMatchObject({
      email: 'robert@example.com',
      email_verified: true,
    });
    // Only the flag (same email): not "taken".
    await expect(legacyDb.changeEmail('robert@example.com', 'robert@example.com', false)).resolves.toBe(true);
    expect((await legacyDb.getUser('robert@example.com'))?.email_verified).toBe(false);
  });

  it('changeEmail refuses an email that is taken and an unknown user', async () => {
    await expect(legacyDb.changeEmail('bob@example.com', 'ADA@example.com', false)).rejects.toThrow(/taken/);
    await expect(legacyDb.changeEmail('nobody@example.com', 'new@example.com', false)).rejects.toThrow();
    expect(await legacyDb.getUser('bob@example.com')).not.toBeNull();
  });

  it('a change made directly in the legacy database shows at the next login', async () => {
    const before = await legacyDb.login('ada', 'correct horse battery');
    await updateLegacyAccount(dbPath, 'legacy-db', 'ada@example.com', {
      name: 'Augusta Ada King',
      given_name: 'Augusta',
      nickname: null,
      email: 'ada@analytical.engine',
      plan: 'platinum',
    });
    const after = await legacyDb.login('ada@analytical.engine', 'correct horse battery');
    expect(after?.user_id).toBe(before?.user_id);
    expect(after).toMatchObject({
      name: 'Augusta Ada King',
      given_name: 'Augusta',
      family_name: 'Lovelace',
      email: 'ada@analytical.engine',
      app_metadata: { plan: 'platinum' },
    });
    expect(after).not.toHaveProperty('nickname');
    expect(readLegacyAccount(dbPath, 'legacy-db', 'Ada@Example.com')).toBeNull();
  });

  it('keeps tenants apart', async () => {
    expect(await legacyImport.login('Ada@Example.com', 'correct horse battery')).toBeNull();
    expect(await legacyImport.getUser('ada')).toBeNull();
    expect(readLegacyAccount(dbPath, 'legacy-import', 'Ada@Example.com')).toBeNull();
    // The same email may exist once per tenant.
    expect(await seedLegacyAccounts(dbPath, 'legacy-import', [{ ...ADA, name: 'Imported Ada' }], COST)).toBe(
      1,
    );
    expect((await legacyImport.login('ada', 'correct horse battery'))?.name).toBe('Imported Ada');
    expect((await legacyDb.login('ada', 'correct horse battery'))?.name).toBe('Ada Lovelace');
  });

  it('seeding twice inserts nothing the second time', async () => {
    expect(await seedLegacyAccounts(dbPath, 'legacy-db', [ADA, BOB], COST)).toBe(0);
    expect(
      await seedLegacyAccounts(
        dbPath,
        'legacy-db',
        [BOB, { email: 'new@example.com', password: 'pw-123456' }],
        COST,
      ),
    ).toBe(1);
  });

  it('reads LEGACY_DB_PATH at each call', async () => {
    process.env.LEGACY_DB_PATH = join(dir, `empty-${caseNo}.db`);
    expect(await legacyDb.getUser('ada')).toBeNull();
    process.env.LEGACY_DB_PATH = dbPath;
    expect(await legacyDb.getUser('ada')).not.toBeNull();
  });
});

describe('the script files, loaded through the gateway', () => {
  it('legacy-db has every script, legacy-import only login and getUser', async () => {
    const registry = new ScriptRegistry(scriptsDir, 2000);
    expect(await registry.capabilities('legacy-db')).toEqual({
      create: true,
      changeEmail: true,
      changePassword: true,
    });
    expect(await registry.capabilities('legacy-import')).toEqual({
      create: false,
      changeEmail: false,
      changePassword: false,
    });
    const imported = await registry.load('legacy-import');
    expect(typeof imported.login).toBe('function');
    expect(typeof imported.getUser).toBe('function');
  });

  it('registry.call reaches the legacy database', async () => {
    const registry = new ScriptRegistry(scriptsDir, 2000);
    const profile = await registry.call('legacy-db', (s) => s.login('ada', 'correct horse battery'));
    expect(profile).toMatchObject({ email: 'Ada@Example.com', username: 'ada' });
    expectNoSecrets(profile);
    expect(await registry.call('legacy-db', (s) => s.login('ada', 'nope'))).toBeNull();
    expect(await registry.call('legacy-import', (s) => s.login('ada', 'correct horse battery'))).toBeNull();
  });
});

// Connection management and bulk operations: option merge, importUsers (API and streaming CLI,
// including a process killed mid-import), updateUsers, export and re-import.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { createTestDatabase, TEST_STORE } from '../helpers/database.js';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
let tmp: string;

beforeAll(async () => {
  // A small bound, so the PostgreSQL store's import keys go to its TEMP table within these files.
  gw = await startTestGateway({ env: { IMPORT_KEYS_IN_MEMORY: '5000' } });
  admin = await adminToken(gw);
  tmp = mkdtempSync(join(tmpdir(), 'bulk-'));
});
afterAll(async () => {
  await gw?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const IMPORT = `mutation($input: ImportUsersInput!) { importUsers(input: $input) { inserted updated unchanged failed dryRun errors { index code message } } }`;
type Summary = { inserted: number; updated: number; unchanged: number; failed: number; dryRun: boolean; errors: { index: number; code: string }[] };

async function importApi(input: Record<string, unknown>): Promise<Summary> {
  const res = await gw.gql<{ importUsers: Summary }>(IMPORT, { input }, admin);
  expect(res.errors).toBeUndefined();
  return res.data?.importUsers as Summary;
}

/** Runs a CLI command as a child process, without blocking this process (the gateway under test runs in it). */
function cli(script: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return run(['--import', 'tsx', `src/cli/${script}.ts`, ...args], env);
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, DATABASE_URL: gw.database.url, IMPORT_KEYS_IN_MEMORY: '5000', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const countUsers = async (connection: string) => {
  const rows = await gw.database.query<{ n: number | string }>('SELECT count(*) AS n FROM users u JOIN connections c ON c.id = u.connection_id WHERE c.name = ?', [connection]);
  return Number(rows[0]?.n);
};

describe('updateConnection', () => {
  it('merges options, keeps unrelated keys, removes keys set to null, replaces only when asked', async () => {
    await createConnection(gw, admin, { name: 'opts', kind: 'DATABASE', options: { brute_force_protection: true, password_policy: 'good', keep: 1 } });
    const update = (input: Record<string, unknown>) =>
      gw.gql<{ updateConnection: { connection: { options: Record<string, unknown> } | null; userErrors: { field: string[]; code: string }[] } }>(
        'mutation($id: ID!, $input: UpdateConnectionInput!) { updateConnection(id: $id, input: $input) { connection { options } userErrors { field code } } }',
        { id: 'opts', input },
        admin,
      );
    const merged = await update({ options: { password_policy: 'excellent', keep: null }, requiresUsername: true });
    expect(merged.data?.updateConnection.connection?.options).toEqual({
      brute_force_protection: true,
      password_policy: 'excellent',
      requires_username: true,
      set_user_root_attributes: 'on_each_login',
    });
    const replaced = await update({ options: { only: 'this' }, replaceOptions: true });
    expect(replaced.data?.updateConnection.connection?.options).toEqual({ only: 'this' });
    for (const [input, field, code] of [
      [{ importMode: true }, 'importMode', 'NOT_SUPPORTED_BY_CONNECTION'],
      [{ options: { set_user_root_attributes: 'sometimes' } }, 'syncUserRootAttributes', 'INVALID_SYNC_SETTING'],
      [{ kind: 'SOCIAL' }, 'kind', 'IMMUTABLE'],
    ] as const) {
      const res = await update(input);
      expect(res.data?.updateConnection.connection).toBeNull();
      expect(res.data?.updateConnection.userErrors).toContainEqual({ field: [field], code });
    }
  });

  it('refuses a sync setting on passwordless and a script that does not load', async () => {
    await createConnection(gw, admin, { name: 'pwl', kind: 'PASSWORDLESS', strategy: 'sms' });
    const res = await gw.gql<{ updateConnection: { userErrors: { code: string }[] } }>(
      'mutation { updateConnection(id: "pwl", input: { syncUserRootAttributes: ON_FIRST_LOGIN }) { userErrors { code } } }',
      {},
      admin,
    );
    expect(res.data?.updateConnection.userErrors).toEqual([{ code: 'NOT_SUPPORTED_BY_CONNECTION' }]);
    await createConnection(gw, admin, { name: 'cdb', kind: 'DATABASE', customDatabase: true, customScripts: 'legacy-db' });
    const bad = await gw.gql<{ updateConnection: { userErrors: { code: string }[] } }>(
      'mutation { updateConnection(id: "cdb", input: { customScripts: "nope" }) { userErrors { code } } }',
      {},
      admin,
    );
    expect(bad.data?.updateConnection.userErrors).toEqual([{ code: 'INVALID_SCRIPT' }]);
  });

  it('a changed sync setting changes fieldPolicies at once', async () => {
    await createConnection(gw, admin, { name: 'g-sync', kind: 'SOCIAL', strategy: 'google-oauth2' });
    const login = await gw.token('login', 'login:users');
    const res = await gw.gql<{ recordLogin: { user: { id: string } } }>(
      'mutation { recordLogin(input: { connection: "g-sync", profile: { user_id: "1", name: "N" } }) { user { id } } }',
      {},
      login,
    );
    const id = res.data?.recordLogin.user.id as string;
    const nameReason = async () =>
      (
        await gw.gql<{ user: { fieldPolicies: { field: string; editable: boolean }[] } }>('query($id: ID!) { user(id: $id) { fieldPolicies { field editable } } }', { id }, admin)
      ).data?.user.fieldPolicies.find((p) => p.field === 'NAME')?.editable;
    expect(await nameReason()).toBe(false);
    await gw.gql('mutation { updateConnection(id: "g-sync", input: { syncUserRootAttributes: ON_FIRST_LOGIN }) { connection { id } } }', {}, admin);
    expect(await nameReason()).toBe(true);
  });

  it('deleteConnection refuses while users exist, unless asked to erase them', async () => {
    await createConnection(gw, admin, { name: 'doomed', kind: 'DATABASE' });
    await createUser(gw, admin, { connection: 'doomed', email: 'd1@doomed.example', password: 'password-123' });
    const del = (deleteUsers: boolean) =>
      gw.gql<{ deleteConnection: { deletedConnectionId: string | null; deletedUsers: number; userErrors: { code: string }[] } }>(
        'mutation($d: Boolean) { deleteConnection(id: "doomed", deleteUsers: $d) { deletedConnectionId deletedUsers userErrors { code } } }',
        { d: deleteUsers },
        admin,
      );
    expect((await del(false)).data?.deleteConnection).toEqual({ deletedConnectionId: null, deletedUsers: 0, userErrors: [{ code: 'CONNECTION_HAS_USERS' }] });
    const done = await del(true);
    expect(done.data?.deleteConnection.deletedUsers).toBe(1);
    expect(done.data?.deleteConnection.deletedConnectionId).toMatch(/^con_/);
    expect((await gw.gql('{ connection(id: "doomed") { id } }', {}, admin)).data).toEqual({ connection: null });
  });
});

describe('importUsers', () => {
  // Bad records interleaved with good ones: every error code at least once.
  async function tenThousand(): Promise<{ records: unknown[]; bad: Map<number, string> }> {
    const bcrypt = '$2b$10$abcdefghijklmnopqrstuuVbZQ8k6/n2k5m5Tqn0.8YrM8r2xrE6u';
    const scrypt = await hashPassword('imported-password');
    const badOnes: [unknown, string][] = [
      [{ email: 5, username: 'numeric-email' }, 'INVALID_RECORD'],
      [{ email: 'x@i.example', username: 'x', favourite: 'blue' }, 'UNKNOWN_FIELD'],
      [{ username: 'noemail' }, 'REQUIRED'],
      [{ email: 'nouser@i.example' }, 'REQUIRED'],
      [{ email: 'not-an-email', username: 'bademail' }, 'INVALID_EMAIL'],
      [{ email: 'long@i.example', username: 'longname', name: 'x'.repeat(151) }, 'INVALID_LENGTH'],
      [{ email: 'sp@i.example', username: 'has space' }, 'INVALID_USERNAME'],
      [{ email: 'ph@i.example', username: 'phone', phone_number: '0123' }, 'INVALID_PHONE_NUMBER'],
      [{ email: 'pic@i.example', username: 'pic', picture: 'javascript:alert(1)' }, 'INVALID_PICTURE'],
      [{ email: 'k@i.example', username: 'k', user_metadata: { 'a.b': 1 } }, 'INVALID_METADATA_KEY'],
      [{ email: 'r@i.example', username: 'r', app_metadata: { blocked: true } }, 'RESERVED_METADATA_KEY'],
      [{ email: 'big@i.example', username: 'big', user_metadata: { big: 'x'.repeat(17000) } }, 'METADATA_TOO_LARGE'],
      [{ email: 'arr@i.example', username: 'arr', user_metadata: [1] }, 'INVALID_METADATA_VALUE'],
      [{ email: 'h@i.example', username: 'h', password_hash: 'md5:abc' }, 'INVALID_PASSWORD_HASH'],
      [{ email: 'id@i.example', username: 'id', user_id: 'bad id!' }, 'INVALID_USER_ID'],
      [{ email: 'user5@i.example', username: 'dupe-of-5' }, 'DUPLICATE_IN_FILE'],
      [{ email: 'existing@i.example', username: 'existing-taken' }, 'CONFLICT'],
    ];
    const records: unknown[] = [];
    const bad = new Map<number, string>();
    let b = 0;
    for (let i = 0; records.length < 10_000; i++) {
      if (i % 500 === 250 && b < badOnes.length) {
        const [record, code] = badOnes[b++] as [unknown, string];
        bad.set(records.length, code);
        records.push(record);
        continue;
      }
      records.push({
        email: `user${i}@i.example`,
        username: `user${i}`,
        name: `User ${i}`,
        user_metadata: { n: i },
        ...(i % 3 === 0 ? { password_hash: i % 2 ? bcrypt : scrypt } : {}),
      });
    }
    return { records, bad };
  }

  it('imports the good records of a 10,000-record file and reports exactly the bad ones; upsert re-run changes nothing; dry run writes nothing', async () => {
    await createConnection(gw, admin, { name: 'imp', kind: 'DATABASE', requiresUsername: true });
    await createUser(gw, admin, { connection: 'imp', email: 'existing@i.example', username: 'existing', password: 'password-123' });
    const { records, bad } = await tenThousand();
    expect(bad.size).toBe(17);
    expect(new Set(bad.values()).size).toBe(16);

    const dry = await importApi({ connection: 'imp', users: records, dryRun: true });
    expect(dry).toMatchObject({ inserted: 10_000 - bad.size, failed: bad.size, dryRun: true });
    expect(await countUsers('imp')).toBe(1);

    const first = await importApi({ connection: 'imp', users: records });
    expect(first).toMatchObject({ inserted: 10_000 - bad.size, updated: 0, failed: bad.size });
    expect(new Map(first.errors.map((e) => [e.index, e.code]))).toEqual(bad);
    expect(await countUsers('imp')).toBe(1 + 10_000 - bad.size);

    const again = await importApi({ connection: 'imp', users: records, upsert: true });
    // The CONFLICT record has the existing user's email but a new username: with upsert it is an update.
    expect(again).toMatchObject({ inserted: 0, updated: 1, unchanged: 10_000 - bad.size, failed: bad.size - 1 });
    const third = await importApi({ connection: 'imp', users: records, upsert: true });
    expect(third).toMatchObject({ inserted: 0, updated: 0, unchanged: 10_000 - bad.size + 1 });
  }, 150_000);

  it('verifies imported bcrypt and scrypt hashes at login; users imported with import mode are migrated', async () => {
    const login = await gw.token('login', 'login:users');
    const auth = (connection: string, identifier: string, password: string) =>
      gw.gql<{ authenticate: { user: { id: string; migrated: boolean } | null; userErrors: { code: string }[] } }>(
        'mutation($i: AuthenticateInput!) { authenticate(input: $i) { user { id migrated } userErrors { code } } }',
        { i: { connection, identifier, password } },
        login,
      );
    expect((await auth('imp', 'user0@i.example', 'imported-password')).data?.authenticate.user).not.toBeNull();
    await createConnection(gw, admin, { name: 'imp-mig', kind: 'DATABASE', customDatabase: true, importMode: true, customScripts: 'legacy-import' });
    const res = await importApi({ connection: 'imp-mig', users: [{ email: 'mig@i.example', password_hash: await hashPassword('mig-password-1') }] });
    expect(res.inserted).toBe(1);
    expect((await auth('imp-mig', 'mig@i.example', 'mig-password-1')).data?.authenticate.user?.migrated).toBe(true);
  });

  it('upserting a cached legacy user into an import-mode connection migrates them', async () => {
    const login = await gw.token('login', 'login:users');
    await createConnection(gw, admin, { name: 'imp-conv', kind: 'DATABASE', customDatabase: true, customScripts: 'legacy-import' });
    const { seedLegacyAccounts } = await import('../../scripts/lib/legacy-database.mjs');
    await seedLegacyAccounts(process.env.LEGACY_DB_PATH as string, 'legacy-import', [{ email: 'conv@i.example', password: 'legacy-pass-1' }], { bcryptCost: 4 });
    const cached = await gw.gql<{ authenticate: { user: { id: string; migrated: boolean } } }>(
      'mutation { authenticate(input: { connection: "imp-conv", identifier: "conv@i.example", password: "legacy-pass-1" }) { user { id migrated } } }',
      {},
      login,
    );
    expect(cached.data?.authenticate.user.migrated).toBe(false);
    await gw.gql('mutation { updateConnection(id: "imp-conv", input: { importMode: true }) { connection { id } } }', {}, admin);
    const res = await importApi({ connection: 'imp-conv', users: [{ email: 'conv@i.example', password_hash: await hashPassword('gateway-pass-1') }], upsert: true });
    expect(res).toMatchObject({ updated: 1, failed: 0 });
    const after = await gw.gql<{ authenticate: { user: { migrated: boolean } | null } }>(
      'mutation { authenticate(input: { connection: "imp-conv", identifier: "conv@i.example", password: "gateway-pass-1" }) { user { migrated } } }',
      {},
      login,
    );
    expect(after.data?.authenticate.user?.migrated).toBe(true);
  });

  it('upsert follows the same policy as updateUser', async () => {
    await createConnection(gw, admin, { name: 'imp-plain', kind: 'DATABASE' });
    await importApi({ connection: 'imp-plain', users: [{ email: 'p@i.example', user_metadata: { a: 1, b: 2 } }] });
    const res = await importApi({ connection: 'imp-plain', users: [{ email: 'p@i.example', user_metadata: { b: null, c: 3 } }], upsert: true });
    expect(res).toMatchObject({ updated: 1, failed: 0 });
    const user = await gw.gql<{ users: { edges: { node: { userMetadata: unknown } }[] } }>('{ users(filter: { email: "p@i.example" }) { edges { node { userMetadata } } } }', {}, admin);
    expect(user.data?.users.edges[0]?.node.userMetadata).toEqual({ a: 1, c: 3 });
  });

  it('needs import:users and a database connection', async () => {
    const res = await gw.gql(IMPORT, { input: { connection: 'imp', users: [] } }, await gw.token('x', 'update:users'));
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(errorCode(await gw.gql(IMPORT, { input: { connection: 'g-sync', users: [] } }, admin))).toBe('BAD_USER_INPUT');
  });
});

describe('the import and export commands', () => {
  it('stream a file in, report errors to a file, export NDJSON that re-imports to the same profiles', async () => {
    await createConnection(gw, admin, { name: 'cli', kind: 'DATABASE' });
    const lines = [
      ...Array.from({ length: 300 }, (_, i) => JSON.stringify({ email: `c${i}@cli.example`, name: `C ${i}`, app_metadata: { tier: i % 3 } })),
      '{ this is not json',
      JSON.stringify({ email: 'c5@cli.example' }),
    ];
    const file = join(tmp, 'cli.ndjson');
    writeFileSync(file, lines.join('\n'));
    const imported = await cli('import', ['--connection', 'cli', file]);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/Inserted 300, updated 0, unchanged 0, failed 2/);
    const errors = readFileSync(`${file}.errors.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(errors).toEqual([
      { index: 300, code: 'INVALID_JSON', message: expect.any(String) },
      { index: 301, code: 'DUPLICATE_IN_FILE', message: expect.any(String) },
    ]);

    const out = join(tmp, 'export.ndjson');
    const exported = await cli('export', ['--connection', 'cli', '--out', out]);
    expect(exported.status).toBe(0);
    const records = readFileSync(out, 'utf8').trim().split('\n');
    expect(records).toHaveLength(300);

    // Into a fresh gateway database: the same profiles come back, ids included.
    const other = await createTestDatabase(mkdtempSync(join(tmp, 'other-')));
    const env = { DATABASE_URL: other.url, SEED_DEMO: '0' };
    const seed = await run(['--import', 'tsx', '-e', "import('./src/runtime.ts').then(async (m) => { const c = await import('./src/config.ts'); const r = await m.startRuntime({ ...c.loadConfig(), port: 0 }); const { systemContext } = await import('./src/app/system.ts'); const { createConnection } = await import('./src/app/connections.ts'); const { ScriptRegistry } = await import('./src/connectors/custom-db.ts'); await createConnection(systemContext(r.store, new ScriptRegistry('scripts', 1000)), { name: 'cli', kind: 'DATABASE' }); await r.close(); })"], env);
    expect(seed.status).toBe(0);
    expect((await cli('import', ['--connection', 'cli', out], env)).stdout).toMatch(/Inserted 300,/);
    const reexport = join(tmp, 'again.ndjson');
    expect((await cli('export', ['--connection', 'cli', '--out', reexport], env)).status).toBe(0);
    expect(readFileSync(reexport, 'utf8')).toBe(readFileSync(out, 'utf8'));
    await other.drop();
  }, 60_000);

  it('a process killed mid-import leaves a consistent database, and a re-run with --upsert completes it', async () => {
    await createConnection(gw, admin, { name: 'kill', kind: 'DATABASE' });
    const file = join(tmp, 'kill.ndjson');
    writeFileSync(file, Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ email: `k${i}@kill.example`, name: `K ${i}` })).join('\n'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/import.ts', '--connection', 'kill', '--batch', '200', file], {
      env: { ...process.env, DATABASE_URL: gw.database.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Wait until some batches have landed, then kill it without warning.
    const started = Date.now();
    while (await countUsers('kill') < 1000) {
      if (Date.now() - started > 40_000 || child.exitCode !== null) throw new Error('the import did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const landed = await countUsers('kill');
    expect(landed).toBeLessThan(50_000);
    // Whole batches only, each user with its identity and its audit event.
    expect(landed % 200).toBe(0);
    if (TEST_STORE === 'sqlite') expect(await gw.database.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    const orphans = await gw.database.query<{ n: number | string }>(
      "SELECT count(*) AS n FROM users u WHERE u.email_lower LIKE '%@kill.example' AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = u.id)",
    );
    expect(Number(orphans[0]?.n)).toBe(0);
    const rerun = await cli('import', ['--connection', 'kill', '--upsert', file]);
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toMatch(new RegExp(`Inserted ${50_000 - landed}, updated 0, unchanged ${landed}, failed 0`));
    expect(await countUsers('kill')).toBe(50_000);
  }, 150_000);
});

describe('updateUsers', () => {
  it('judges each item on its own', async () => {
    await createConnection(gw, admin, { name: 'uu', kind: 'DATABASE' });
    const a = await createUser(gw, admin, { connection: 'uu', email: 'a@uu.example', password: 'password-123' });
    const b = await createUser(gw, admin, { connection: 'uu', email: 'b@uu.example', password: 'password-123' });
    const self = await gw.token(a);
    const res = await gw.gql<{ updateUsers: { results: { id: string; user: { name: string } | null; userErrors: { field: string[] | null; code: string; message: string }[] }[] } }>(
      `mutation($input: UpdateUsersInput!) { updateUsers(input: $input) { results { id user { name } userErrors { field code message } } } }`,
      {
        input: {
          items: [
            { id: a, input: { name: 'Mine' } },
            { id: a, input: { appMetadata: { plan: 'x' }, name: 'Not this' } },
            { id: b, input: { name: 'Not mine' } },
            { id: a, input: { nickname: 'x'.repeat(301) } },
          ],
        },
      },
      self,
    );
    expect(res.errors).toBeUndefined();
    const [ok, refused, hidden, invalid] = res.data?.updateUsers.results ?? [];
    expect(ok).toMatchObject({ id: a, user: { name: 'Mine' }, userErrors: [] });
    expect(refused?.user).toBeNull();
    expect(refused?.userErrors).toEqual([{ field: ['appMetadata'], code: 'FIELD_NOT_EDITABLE', message: expect.stringMatching(/REQUIRES_TENANT_ADMIN/) }]);
    expect(hidden?.userErrors).toEqual([{ field: null, code: 'NOT_FOUND', message: expect.any(String) }]);
    expect(invalid?.userErrors).toEqual([expect.objectContaining({ field: ['nickname'], code: 'INVALID_LENGTH' })]);
  });
});

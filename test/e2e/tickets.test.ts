// Password reset and email verification tickets: single-use, expiring, stored as hashes, handed
// to tenant administrators only and otherwise delivered through the outbox.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedLegacyAccounts } from '../../scripts/lib/legacy-database.mjs';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { adminToken, createConnection, createUser } from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
let login: string;

const RESET_TICKET = 'mutation($user: ID!, $ttl: Int) { createPasswordResetTicket(input: { user: $user, ttlSeconds: $ttl }) { ticket expiresAt userErrors { code message } } }';
const RESET = 'mutation($ticket: String!, $password: String!) { resetPassword(input: { ticket: $ticket, password: $password }) { user { id version } userErrors { code } } }';
// An anonymous ticket holder sees only id and version (writing does not grant reading).
const VERIFY_TICKET = 'mutation($user: ID!) { createEmailVerificationTicket(input: { user: $user }) { ticket expiresAt userErrors { code } } }';
const VERIFY = 'mutation($ticket: String!) { verifyEmail(input: { ticket: $ticket }) { user { id version } userErrors { code } } }';

type TicketPayload = { ticket: string | null; expiresAt: string | null; userErrors: { code: string; message?: string }[] };

async function resetTicket(user: string, token = admin, ttl?: number): Promise<TicketPayload> {
  const res = await gw.gql<{ createPasswordResetTicket: TicketPayload }>(RESET_TICKET, { user, ttl }, token);
  expect(res.errors).toBeUndefined();
  return res.data?.createPasswordResetTicket as TicketPayload;
}

async function reset(ticket: string, password: string) {
  const res = await gw.gql<{ resetPassword: { user: { id: string } | null; userErrors: { code: string }[] } }>(RESET, { ticket, password }, null);
  expect(res.errors).toBeUndefined();
  return res.data?.resetPassword as { user: { id: string } | null; userErrors: { code: string }[] };
}

async function canLogIn(connection: string, identifier: string, password: string): Promise<boolean> {
  const res = await gw.gql<{ authenticate: { user: unknown } }>(
    'mutation($input: AuthenticateInput!) { authenticate(input: $input) { user { id } } }',
    { input: { connection, identifier, password } },
    login,
  );
  return res.data?.authenticate.user != null;
}

/** The messages the outbox delivered (file transport), after draining it. */
async function delivered(): Promise<{ to: string; subject: string; body: string }[]> {
  await gw.runtime.outbox.drain();
  const file = join(gw.dir, 'outbox.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { to: string; subject: string; body: string });
}

const ticketIn = (body: string) => /ticket: ([\w-]+)/.exec(body)?.[1] as string;

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
  login = await gw.token('login-server', 'login:users');
  await createConnection(gw, admin, { name: 't-db', kind: 'DATABASE' });
  await createConnection(gw, admin, { name: 't-google', kind: 'SOCIAL', strategy: 'google-oauth2' });
  await createConnection(gw, admin, { name: 't-legacy', kind: 'DATABASE', customDatabase: true, customScripts: 'legacy-db' });
});
afterAll(async () => {
  await gw?.close();
});

describe('password reset tickets', () => {
  it('a tenant administrator receives the ticket; it resets the password once', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'rita@t.example', password: 'old-password-1' });
    const issued = await resetTicket(id);
    expect(issued.userErrors).toEqual([]);
    expect(issued.ticket).toMatch(/^[\w-]{40,}$/);
    expect(Date.parse(issued.expiresAt as string) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    // Too weak: refused, and the ticket is still good.
    expect((await reset(issued.ticket as string, 'short')).userErrors).toEqual([{ code: 'PASSWORD_TOO_WEAK' }]);
    const done = await reset(issued.ticket as string, 'new-password-1');
    expect(done).toEqual({ user: { id, version: expect.any(Number) }, userErrors: [] });
    expect(await canLogIn('t-db', 'rita@t.example', 'new-password-1')).toBe(true);
    expect(await canLogIn('t-db', 'rita@t.example', 'old-password-1')).toBe(false);
    expect((await reset(issued.ticket as string, 'third-password-1')).userErrors).toEqual([{ code: 'TICKET_USED' }]);
    expect((await reset('not-a-ticket', 'third-password-1')).userErrors).toEqual([{ code: 'TICKET_INVALID' }]);
  });

  it('keeps only a hash of the ticket', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'hash@t.example', password: 'old-password-1' });
    const { ticket } = await resetTicket(id);
    const rows = await gw.database.query('SELECT * FROM tickets');
    expect(JSON.stringify(rows)).not.toContain(ticket as string);
  });

  it('refuses an expired ticket', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'late@t.example', password: 'old-password-1' });
    const { ticket } = await resetTicket(id, admin, 60);
    await gw.database.query('UPDATE tickets SET expires_at = ? WHERE user_id = ?', [new Date(Date.now() - 1), id]);
    expect((await reset(ticket as string, 'new-password-1')).userErrors).toEqual([{ code: 'TICKET_EXPIRED' }]);
    expect(await canLogIn('t-db', 'late@t.example', 'old-password-1')).toBe(true);
  });

  it("requested by the user, the ticket goes to the user's address and never into the response", async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'sam@t.example', password: 'old-password-1', emailVerified: true });
    const issued = await resetTicket(id, await gw.token(id));
    expect(issued).toMatchObject({ ticket: null, userErrors: [] });
    const message = (await delivered()).filter((m) => m.to === 'sam@t.example').at(-1);
    expect(message?.subject).toBe('Reset your password');
    expect((await reset(ticketIn(message?.body as string), 'from-mail-1')).userErrors).toEqual([]);
    expect(await canLogIn('t-db', 'sam@t.example', 'from-mail-1')).toBe(true);
  });

  it('is refused where no one can set a password, with the reason as the code', async () => {
    const res = await gw.gql<{ recordLogin: { user: { id: string } } }>(
      'mutation($input: RecordLoginInput!) { recordLogin(input: $input) { user { id } } }',
      { input: { connection: 't-google', profile: { user_id: 'g1', email: 'g1@gmail.example' } } },
      login,
    );
    const issued = await resetTicket(res.data?.recordLogin.user.id as string);
    expect(issued.ticket).toBeNull();
    expect(issued.userErrors).toEqual([expect.objectContaining({ code: 'NOT_SUPPORTED_BY_CONNECTION' })]);
  });

  it('resets a legacy user through the changePassword script', async () => {
    await seedLegacyAccounts(process.env.LEGACY_DB_PATH as string, 'legacy-db', [{ email: 'leo@t.example', password: 'legacy-pass-1' }], {
      bcryptCost: 4,
    });
    expect(await canLogIn('t-legacy', 'leo@t.example', 'legacy-pass-1')).toBe(true);
    const id = (await gw.gql<{ users: { edges: { node: { id: string } }[] } }>('{ users(filter: { email: "leo@t.example" }) { edges { node { id } } } }', {}, admin)).data
      ?.users.edges[0]?.node.id as string;
    const version = async () =>
      (await gw.gql<{ user: { version: number } }>('query($id: ID!) { user(id: $id) { version } }', { id }, admin)).data?.user.version as number;
    const before = await version();
    const { ticket } = await resetTicket(id);
    expect((await reset(ticket as string, 'legacy-pass-2')).userErrors).toEqual([]);
    // A password write, though the legacy database stores it: versioned (and audited).
    expect(await version()).toBe(before + 1);
    expect(await canLogIn('t-legacy', 'leo@t.example', 'legacy-pass-2')).toBe(true);
    expect(await canLogIn('t-legacy', 'leo@t.example', 'legacy-pass-1')).toBe(false);
  });

  it('two redemptions of one ticket at once: one succeeds, the other is told it was used', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'race@t.example', password: 'old-password-1' });
    const { ticket } = await resetTicket(id);
    const results = await Promise.all([reset(ticket as string, 'first-password-1'), reset(ticket as string, 'second-password-1')]);
    const codes = results.map((r) => r.userErrors[0]?.code ?? 'OK').sort();
    expect(codes).toEqual(['OK', 'TICKET_USED']);
    const winner = results[0]?.userErrors.length === 0 ? 'first-password-1' : 'second-password-1';
    expect(await canLogIn('t-db', 'race@t.example', winner)).toBe(true);
  });

  it('is not given to anyone else', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'vic@t.example', password: 'old-password-1' });
    const stranger = await gw.token(await createUser(gw, admin, { connection: 't-db', email: 'str@t.example', password: 'old-password-1' }));
    expect(errorCode(await gw.gql(RESET_TICKET, { user: id }, stranger))).toBe('NOT_FOUND');
    expect(errorCode(await gw.gql(RESET_TICKET, { user: id }, null))).toBe('UNAUTHENTICATED');
  });
});

describe('email verification', () => {
  it('a tenant administrator receives the ticket; verifyEmail marks the address verified', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'eve@t.example', password: 'old-password-1' });
    const res = await gw.gql<{ createEmailVerificationTicket: TicketPayload }>(VERIFY_TICKET, { user: id }, admin);
    const ticket = res.data?.createEmailVerificationTicket.ticket as string;
    expect(ticket).toMatch(/^[\w-]{40,}$/);
    const verified = await gw.gql<{ verifyEmail: { user: { emailVerified: boolean }; userErrors: unknown[] } }>(VERIFY, { ticket }, null);
    expect(verified.data?.verifyEmail).toEqual({ user: { id, version: expect.any(Number) }, userErrors: [] });
    const again = await gw.gql<{ verifyEmail: { userErrors: { code: string }[] } }>(VERIFY, { ticket }, null);
    expect(again.data?.verifyEmail.userErrors).toEqual([{ code: 'TICKET_USED' }]);
  });

  it("a user's own email change resets verification and mails a ticket to the new address", async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'fay@t.example', password: 'old-password-1', emailVerified: true });
    const self = await gw.token(id);
    const changed = await gw.gql<{ updateUser: { user: { emailVerified: boolean } } }>(
      'mutation($id: ID!) { updateUser(id: $id, input: { email: "fay.new@t.example" }) { user { emailVerified } } }',
      { id },
      self,
    );
    expect(changed.data?.updateUser.user.emailVerified).toBe(false);
    const message = (await delivered()).filter((m) => m.to === 'fay.new@t.example').at(-1);
    expect(message?.subject).toBe('Verify your email address');
    const res = await gw.gql<{ verifyEmail: { userErrors: unknown[] } }>(VERIFY, { ticket: ticketIn(message?.body as string) }, null);
    expect(res.data?.verifyEmail.userErrors).toEqual([]);
    const after = await gw.gql<{ user: { emailVerified: boolean } }>('query($id: ID!) { user(id: $id) { emailVerified } }', { id }, self);
    expect(after.data?.user.emailVerified).toBe(true);
  });

  it('an email change and its verification ticket commit together, or not at all', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'hal@t.example', password: 'old-password-1', emailVerified: true });
    const self = await gw.token(id);
    const change = (email: string) =>
      gw.gql<{ updateUser: { user: { email: string; emailVerified: boolean; version: number } | null } }>(
        'mutation($id: ID!, $email: EmailAddress!) { updateUser(id: $id, input: { email: $email }) { user { email emailVerified version } } }',
        { id, email },
        self,
      );
    const before = await gw.gql<{ user: { version: number } }>('query($id: ID!) { user(id: $id) { version } }', { id }, self);
    // The database refuses the ticket row: the change must not commit without it.
    const sqlite = gw.database.path !== null;
    if (sqlite) {
      await gw.database.query("CREATE TRIGGER refuse_tickets BEFORE INSERT ON tickets BEGIN SELECT RAISE(ABORT, 'no tickets today'); END");
    } else {
      await gw.database.query("CREATE FUNCTION refuse_tickets() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no tickets today'; END $$");
      await gw.database.query('CREATE TRIGGER refuse_tickets BEFORE INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION refuse_tickets()');
    }
    try {
      const refused = await change('hal.new@t.example');
      expect(refused.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await gw.database.query(sqlite ? 'DROP TRIGGER refuse_tickets' : 'DROP TRIGGER refuse_tickets ON tickets');
    }
    const after = await gw.gql<{ user: { email: string; emailVerified: boolean; version: number } }>(
      'query($id: ID!) { user(id: $id) { email emailVerified version } }',
      { id },
      self,
    );
    expect(after.data?.user).toEqual({ email: 'hal@t.example', emailVerified: true, version: before.data?.user.version });
    const queued = await gw.database.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE to_address = ?', ['hal.new@t.example']);
    expect(Number(queued[0]?.n)).toBe(0);
    // With the database willing, the change and its ticket land together.
    const changed = await change('hal.new@t.example');
    expect(changed.data?.updateUser.user).toMatchObject({ email: 'hal.new@t.example', emailVerified: false });
    const tickets = await gw.database.query<{ n: number }>("SELECT COUNT(*) AS n FROM tickets WHERE user_id = ? AND kind = 'email_verification'", [id]);
    expect(Number(tickets[0]?.n)).toBe(1);
    const message = (await delivered()).filter((m) => m.to === 'hal.new@t.example').at(-1);
    expect(message?.subject).toBe('Verify your email address');
  });

  it('refuses a ticket sent to an address the user no longer has', async () => {
    const id = await createUser(gw, admin, { connection: 't-db', email: 'gus@t.example', password: 'old-password-1' });
    const res = await gw.gql<{ createEmailVerificationTicket: TicketPayload }>(VERIFY_TICKET, { user: id }, admin);
    await gw.gql('mutation($id: ID!) { updateUser(id: $id, input: { email: "gus.other@t.example" }) { user { id } } }', { id }, admin);
    const verified = await gw.gql<{ verifyEmail: { user: unknown; userErrors: { code: string }[] } }>(
      VERIFY,
      { ticket: res.data?.createEmailVerificationTicket.ticket },
      null,
    );
    expect(verified.data?.verifyEmail).toEqual({ user: null, userErrors: [{ code: 'EMAIL_MISMATCH' }] });
  });
});

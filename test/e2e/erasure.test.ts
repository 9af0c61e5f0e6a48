// Erasure, export and the audit log (domain.md, "Organizations, help desk, self-service" and
// "Audit"), through real HTTP: deleteMe leaves no trace of the user in any table but one
// pseudonymous deletion record; exportUserData answers the user and read:users only; deleteUser
// follows the help-desk rule; every write is audited without values, and refused writes are not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  addMember,
  adminToken,
  createConnection,
  createOrganization,
  createUser,
} from '../helpers/tenant.js';

let gw: TestGateway;
let admin: string;
const orgs: Record<string, string> = {};
const ids: Record<string, string> = {};
let n = 0;

type UserError = { field: string[] | null; code: string; message: string };
type AuditNode = {
  id: string;
  at: string;
  actorId: string;
  operation: string;
  targetUserId: string | null;
  organizationId: string | null;
  fields: string[];
};
type AuditPage = {
  auditEvents: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: AuditNode }[];
  };
};

const AUDIT = `query($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id at actorId operation targetUserId organizationId fields } }
  }
}`;

const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) { user { id } userErrors { field code message } }
}`;

const DELETE_USER = 'mutation($id: ID!) { deleteUser(id: $id) { deletedUserId userErrors { field code message } } }';

const auditAdmin = () => gw.token('auditor', 'read:audit');
const reader = () => gw.token('reader', 'read:users');

async function audit(token: string, filter: Record<string, unknown> = {}, first = 100, after?: string) {
  return gw.gql<AuditPage>(AUDIT, { first, after, filter }, token);
}

async function update(id: string, input: Record<string, unknown>, token = admin) {
  return gw.gql<{ updateUser: { user: { id: string } | null; userErrors: UserError[] } }>(UPDATE, { id, input }, token);
}

async function readAsAdmin(id: string) {
  const res = await gw.gql<{
    user: { id: string; email: string; organizations: { organization: { id: string } }[] } | null;
  }>('query($id: ID!) { user(id: $id) { id email organizations { organization { id } } } }', { id }, await reader());
  expect(res.errors).toBeUndefined();
  return res.data?.user ?? null;
}

async function plainUser(tag: string, organizations: string[] = []): Promise<string> {
  n += 1;
  const id = await createUser(gw, admin, {
    connection: 'erasure-db',
    email: `${tag}${n}@erasure.example`,
    username: `${tag}${n}`,
    password: 'long-enough-1',
    name: `${tag} ${n}`,
  });
  for (const org of organizations) await addMember(gw, admin, org, id);
  return id;
}

/** Every string value (and key) of a JSON document, to search in. */
function walk(value: unknown, visit: (key: string | null, v: unknown) => void, key: string | null = null): void {
  visit(key, value);
  if (Array.isArray(value)) for (const v of value) walk(v, visit);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, visit, k);
}

interface RichUser {
  id: string;
  /** The part after `auth0|`: also the identity's upstream user_id. */
  key: string;
  email: string;
  username: string;
  /** Every name the profile ever carried. */
  names: string[];
  nickname: string;
  metadataMarker: string;
  token: string;
  memberOrgName: string;
  inviteOrgId: string;
  inviteOrgName: string;
  /** Tickets the tenant administrator received in responses (never sent to the user). */
  adminTickets: string[];
  /** A member of the invitation's organization the user (as its ADMIN) acted on. */
  otherMember: string;
}

/**
 * A user with a bit of everything: a membership (addMember), an accepted invitation (to a
 * differently-cased address, making them ADMIN of a second organization), a pending password
 * reset ticket requested by themself (so a message sits in the outbox), an email verification
 * ticket, updates by the administrator and by themself, and writes they made as help desk (an
 * update of another member and an invitation).
 */
async function buildRichUser(tag: string, memberOrg: string, memberOrgName: string): Promise<RichUser> {
  const email = `Zephyrine.${tag}.Quarrington@Erasure-Example.org`;
  const username = `zq_${tag}_handle`;
  const firstName = `Zephyrine ${tag} Quarrington`;
  const name = `Zephyrine ${tag} Q-Renamed`;
  const nickname = `zephy-${tag}-nick`;
  const metadataMarker = `favourite-${tag}-colour-chartreuse`;
  const id = await createUser(gw, admin, {
    connection: 'erasure-db',
    email,
    username,
    password: 'first-password-1',
    emailVerified: true,
    name: firstName,
    phoneNumber: '+14155550142',
    userMetadata: { marker: metadataMarker, nested: { pet: `${tag}-tortoise` } },
  });
  const token = await gw.token(id);
  await addMember(gw, admin, memberOrg, id);

  // Pending password reset, requested by the user: the ticket goes to the outbox.
  const reset = await gw.gql<{ createPasswordResetTicket: { ticket: string | null; userErrors: UserError[] } }>(
    'mutation($input: CreatePasswordResetTicketInput!) { createPasswordResetTicket(input: $input) { ticket expiresAt userErrors { field code message } } }',
    { input: { user: id } },
    token,
  );
  expect(reset.errors).toBeUndefined();
  expect(reset.data?.createPasswordResetTicket).toMatchObject({ ticket: null, userErrors: [] });

  // An email verification ticket, given to the administrator.
  const verification = await gw.gql<{ createEmailVerificationTicket: { ticket: string | null; userErrors: UserError[] } }>(
    'mutation($input: CreateEmailVerificationTicketInput!) { createEmailVerificationTicket(input: $input) { ticket expiresAt userErrors { field code message } } }',
    { input: { user: id } },
    admin,
  );
  expect(verification.errors).toBeUndefined();
  expect(verification.data?.createEmailVerificationTicket.userErrors).toEqual([]);
  const verificationTicket = verification.data?.createEmailVerificationTicket.ticket as string;
  expect(verificationTicket).toEqual(expect.any(String));

  // An accepted invitation to a second organization, as its ADMIN.
  const inviteOrgName = `erasure-invite-${tag}`;
  const inviteOrgId = await createOrganization(gw, admin, { name: inviteOrgName });
  const otherMember = await plainUser(`other${tag}`, [inviteOrgId]);
  const invitation = await gw.gql<{
    createInvitation: { invitation: { id: string; email: string; ticket: string | null } | null; userErrors: UserError[] };
  }>(
    'mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id email expiresAt ticket } userErrors { field code message } } }',
    { input: { organization: inviteOrgId, email: email.toLowerCase(), roles: ['ADMIN'] } },
    admin,
  );
  expect(invitation.errors).toBeUndefined();
  expect(invitation.data?.createInvitation.userErrors).toEqual([]);
  const invitationTicket = invitation.data?.createInvitation.invitation?.ticket as string;
  expect(invitationTicket).toEqual(expect.any(String));
  const accepted = await gw.gql<{ acceptInvitation: { membership: { roles: string[] } | null; userErrors: UserError[] } }>(
    'mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { membership { roles invitedEmail } userErrors { field code message } } }',
    { input: { ticket: invitationTicket } },
    token,
  );
  expect(accepted.errors).toBeUndefined();
  expect(accepted.data?.acceptInvitation).toMatchObject({ membership: { roles: ['ADMIN'] }, userErrors: [] });

  // Updates that target them: by the administrator, and by themself.
  expect((await update(id, { name, userMetadata: { extra: 1 } })).data?.updateUser.userErrors).toEqual([]);
  expect((await update(id, { nickname }, token)).data?.updateUser.userErrors).toEqual([]);

  // Writes they make as the help desk of the second organization: the actor is them.
  expect((await update(otherMember, { nickname: `touched-${tag}` }, token)).data?.updateUser.userErrors).toEqual([]);
  const sent = await gw.gql<{ createInvitation: { invitation: { ticket: string | null } | null; userErrors: UserError[] } }>(
    'mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id ticket } userErrors { field code message } } }',
    { input: { organization: inviteOrgId, email: `friend-of-${tag}@elsewhere.example` } },
    token,
  );
  expect(sent.errors).toBeUndefined();
  expect(sent.data?.createInvitation).toMatchObject({ invitation: { ticket: null }, userErrors: [] });

  // A pending invitation from the help desk of the first organization, to the address in another
  // case: the invitation goes to the outbox, addressed to them but not linked to their id.
  const pending = await gw.gql<{ createInvitation: { invitation: { ticket: string | null } | null; userErrors: UserError[] } }>(
    'mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id ticket } userErrors { field code message } } }',
    { input: { organization: memberOrg, email: email.toUpperCase() } },
    await gw.token(ids.helpdesk as string),
  );
  expect(pending.errors).toBeUndefined();
  expect(pending.data?.createInvitation).toMatchObject({ invitation: { ticket: null }, userErrors: [] });

  return {
    id,
    key: id.replace(/^auth0\|/, ''),
    email,
    username,
    names: [firstName, name],
    nickname,
    metadataMarker,
    token,
    memberOrgName,
    inviteOrgId,
    inviteOrgName,
    adminTickets: [verificationTicket, invitationTicket],
    otherMember,
  };
}

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await adminToken(gw);
  await createConnection(gw, admin, { name: 'erasure-db', kind: 'DATABASE', requiresUsername: true });
  orgs.a = await createOrganization(gw, admin, { name: 'erasure-org-a', displayName: 'Erasure A' });
  orgs.b = await createOrganization(gw, admin, { name: 'erasure-org-b' });
  ids.helpdesk = await plainUser('helpdesk');
  await addMember(gw, admin, orgs.a, ids.helpdesk, ['ADMIN']);
});
afterAll(async () => {
  await gw?.close();
});

describe('deleteMe', () => {
  it('erases every trace of the user but one pseudonymous deletion record', async () => {
    const u = await buildRichUser('gone', orgs.a as string, 'erasure-org-a');
    // A webhook the user created (with a token that may): it stays, its creator becomes the pseudonym.
    const hook = await gw.gql<{ createWebhook: { userErrors: UserError[] } }>(
      'mutation { createWebhook(input: { url: "https://93.184.216.34/in", types: ["user.updated"] }) { userErrors { field code message } } }',
      {},
      await gw.token(u.id, 'update:webhooks'),
    );
    expect(hook.data?.createWebhook.userErrors).toEqual([]);
    // Sanity: before the erasure the identifiers are in the database (so the scan below can see them).
    expect((await dumpDatabase()).some((r) => r.json.includes(u.key))).toBe(true);

    const res = await gw.gql<{ deleteMe: { deletedUserId: string | null; userErrors: UserError[] } }>(
      'mutation { deleteMe { deletedUserId userErrors { field code message } } }',
      {},
      u.token,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.deleteMe).toEqual({ deletedUserId: u.id, userErrors: [] });

    const rows = await dumpDatabase();
    const needles = [u.id, u.key, u.email, u.username, ...u.names, u.nickname, u.metadataMarker].map((s) => s.toLowerCase());
    const leaks = rows.flatMap((r) =>
      needles.filter((needle) => r.json.toLowerCase().includes(needle)).map((needle) => `${r.table}: ${needle} in ${r.json}`),
    );
    expect(leaks).toEqual([]);

    // The deletion record: operation deleteMe, a pseudonym as target (and as actor: it was them).
    const auditRows = rows.filter((r) => r.table === 'audit_events').map((r) => r.row);
    const deletions = auditRows.filter((r) => r.operation === 'deleteMe');
    expect(deletions).toHaveLength(1);
    const record = deletions[0] as Record<string, unknown>;
    const pseudonym = String(record.target_user_id);
    expect(pseudonym).toMatch(/^deleted-user:/);
    expect(pseudonym).not.toContain(u.key);
    expect(String(record.actor_id)).toMatch(/^deleted-user:/);
    // About the pseudonym: the deletion, and what others (the administrator) did to the user; the
    // user's own events about themself went.
    const aboutThem = auditRows.filter((r) => r.target_user_id === pseudonym);
    expect(aboutThem.filter((r) => r.actor_id === pseudonym).map((r) => r.operation)).toEqual(['deleteMe']);
    expect(aboutThem.length).toBeGreaterThan(1);
    // What they did to others stays, with the actor pseudonymised.
    const onOther = auditRows.filter((r) => r.target_user_id === u.otherMember && r.operation === 'updateUser');
    expect(onOther.length).toBeGreaterThan(0);
    for (const r of onOther) expect(String(r.actor_id)).toMatch(/^deleted-user:/);
    // The invitation they sent as help desk stays (it is the friend's), its inviter pseudonymised.
    const sentByThem = rows.filter((r) => r.table === 'invitations' && String(r.row.email).startsWith('friend-of-gone@'));
    expect(sentByThem).toHaveLength(1);
    expect(String(sentByThem[0]?.row.inviter_id)).toMatch(/^deleted-user:/);

    // The audit API agrees: nothing about or by the old id.
    const auditor = await auditAdmin();
    expect((await audit(auditor, { userId: u.id })).data?.auditEvents.totalCount).toBe(0);
    expect((await audit(auditor, { actorId: u.id })).data?.auditEvents.totalCount).toBe(0);
    const byPseudonym = await audit(auditor, { userId: pseudonym });
    expect(byPseudonym.data?.auditEvents.edges.map((e) => e.node.operation)[0]).toBe('deleteMe');
    expect(byPseudonym.data?.auditEvents.totalCount).toBe(aboutThem.length);

    // The old token is dead at once; the profile is gone for a tenant administrator too.
    const me = await gw.gql('{ me { id } }', {}, u.token);
    expect(errorCode(me)).toBe('UNAUTHENTICATED');
    const again = await gw.gql('mutation { deleteMe { deletedUserId } }', {}, u.token);
    expect(errorCode(again)).toBe('UNAUTHENTICATED');
    expect(await readAsAdmin(u.id)).toBeNull();
    // A token whose sub is no user has no account to delete.
    const nobody = await gw.gql('mutation { deleteMe { deletedUserId } }', {}, await gw.token('auth0|nobody-at-all'));
    expect(errorCode(nobody)).toBe('FORBIDDEN');
    const exported = await gw.gql<{ exportUserData: unknown }>(
      'query($id: ID!) { exportUserData(id: $id) }',
      { id: u.id },
      await reader(),
    );
    expect(exported.data?.exportUserData).toBeNull();
  });
});

/** Every row of every table of the gateway's database (SQLite file or PostgreSQL schema), as JSON. */
async function dumpDatabase(): Promise<{ table: string; row: Record<string, unknown>; json: string }[]> {
  const tables = await gw.database.tables();
  expect(tables).toEqual(expect.arrayContaining(['users', 'audit_events', 'outbox', 'tickets', 'invitations']));
  const out: { table: string; row: Record<string, unknown>; json: string }[] = [];
  for (const name of tables) {
    for (const row of await gw.database.query(`SELECT * FROM "${name.replace(/"/g, '""')}"`)) {
      out.push({ table: name, row, json: JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)) });
    }
  }
  return out;
}

describe('erasure and addresses', () => {
  it("erasing a user does not erase another user's messages sent to the same address (an address is not an identity)", async () => {
    await createConnection(gw, admin, { name: 'twin-a', kind: 'DATABASE' });
    await createConnection(gw, admin, { name: 'twin-b', kind: 'DATABASE' });
    const a = await createUser(gw, admin, { connection: 'twin-a', email: 'twin@shared.example', password: 'password-123', emailVerified: true });
    const b = await createUser(gw, admin, { connection: 'twin-b', email: 'twin@shared.example', password: 'password-123' });
    await gw.gql('mutation($u: ID!) { createPasswordResetTicket(input: { user: $u }) { ticket } }', { u: a }, await gw.token(a));
    const before = await gw.runtime.store.outbox.byUser(a);
    expect(before.length).toBe(1);
    await gw.gql('mutation { deleteMe { deletedUserId } }', {}, await gw.token(b));
    expect(await gw.runtime.store.outbox.byUser(a)).toHaveLength(1);
  });
});

describe('exportUserData', () => {
  let u: RichUser;
  const EXPORT = 'query($id: ID!) { exportUserData(id: $id) }';

  beforeAll(async () => {
    u = await buildRichUser('kept', orgs.a as string, 'erasure-org-a');
  });

  it('gives the user everything held about them, without ticket hashes or secrets', async () => {
    const res = await gw.gql<{ exportUserData: Record<string, unknown> | null }>(EXPORT, { id: u.id }, u.token);
    expect(res.errors).toBeUndefined();
    const doc = res.data?.exportUserData as Record<string, unknown>;
    expect(doc).toBeTruthy();
    const text = JSON.stringify(doc);

    // Profile.
    expect(doc.user).toMatchObject({
      user_id: u.id,
      email: u.email,
      username: u.username,
      name: u.names.at(-1),
      nickname: u.nickname,
      user_metadata: { marker: u.metadataMarker, extra: 1 },
    });
    // Identities.
    expect(doc.identities).toEqual([expect.objectContaining({ user_id: u.key })]);
    // Organizations, by name.
    const orgNames = (doc.organizations as { name: string }[]).map((o) => o.name).sort();
    expect(orgNames).toEqual([u.memberOrgName, u.inviteOrgName].sort());
    // Tickets: the pending reset and the verification ticket, without their secrets.
    const kinds = (doc.tickets as { kind: string }[]).map((k) => k.kind).sort();
    expect(kinds).toEqual(expect.arrayContaining(['email_verification', 'password_reset']));
    // The invitation they accepted (one merely sent to their address is not theirs: an address is not an identity).
    const invitations = doc.invitations as { email: string; accepted_at: string | null }[];
    expect(invitations).toHaveLength(1);
    expect(invitations[0]?.email.toLowerCase()).toBe(u.email.toLowerCase());
    expect(invitations[0]?.accepted_at).not.toBeNull();
    // Messages sent to them, without their bodies (a body may hold a live ticket).
    const subjects = (doc.messages as { to: string; subject: string }[]).map((m) => m.subject);
    expect(subjects).toContain('Reset your password');
    for (const m of doc.messages as { to: string }[]) {
      expect(m.to.toLowerCase()).toBe(u.email.toLowerCase());
      expect(m).not.toHaveProperty('body');
    }
    // Audit events about them.
    const operations = (doc.audit_events as { operation: string }[]).map((e) => e.operation);
    expect(operations).toEqual(
      expect.arrayContaining(['createUser', 'updateUser', 'acceptInvitation', 'createPasswordResetTicket', 'addOrganizationMember']),
    );

    // No ticket hash, no password hash, no ticket handed to the administrator.
    const keys: string[] = [];
    walk(doc, (k) => {
      if (k !== null) keys.push(k);
    });
    expect(keys.filter((k) => /ticket_?hash|password_?hash/i.test(k))).toEqual([]);
    expect(text).not.toMatch(/\b[0-9a-f]{64}\b/i);
    expect(text).not.toMatch(/\$argon2|\$scrypt|\$2[aby]\$/);
    for (const ticket of u.adminTickets) expect(text).not.toContain(ticket);
  });

  it('never holds a live ticket: not the ones mailed to the user, not the ones handed to an administrator', async () => {
    await gw.runtime.outbox.drain();
    const mailed = readFileSync(join(gw.dir, 'outbox.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { to: string; body: string })
      .filter((m) => m.to.toLowerCase() === u.email.toLowerCase())
      .map((m) => /ticket: ([\w-]+)/.exec(m.body)?.[1])
      .filter((t): t is string => Boolean(t));
    expect(mailed.length).toBeGreaterThan(0);
    const res = await gw.gql<{ exportUserData: Record<string, unknown> | null }>(EXPORT, { id: u.id }, u.token);
    const text = JSON.stringify(res.data?.exportUserData);
    for (const ticket of [...mailed, ...u.adminTickets]) expect(text).not.toContain(ticket);
    // Delivered messages keep no body in the database either.
    const bodies = await gw.database.query("SELECT body FROM outbox WHERE sent_at IS NOT NULL AND body <> ''");
    expect(bodies).toEqual([]);
  });

  it('gives a tenant administrator with read:users the same document', async () => {
    const own = await gw.gql<{ exportUserData: Record<string, unknown> }>(EXPORT, { id: u.id }, u.token);
    const res = await gw.gql<{ exportUserData: Record<string, unknown> }>(EXPORT, { id: u.id }, await reader());
    expect(res.errors).toBeUndefined();
    const strip = (d: Record<string, unknown> | undefined) => {
      const { exported_at: _at, ...rest } = d ?? {};
      return rest;
    };
    expect(strip(res.data?.exportUserData)).toEqual(strip(own.data?.exportUserData));
    expect(strip(res.data?.exportUserData)).toHaveProperty('user.user_id', u.id);
  });

  it('answers null, without an error, to another user and to the help desk of their organization', async () => {
    const other = await plainUser('nosy', [orgs.a as string]);
    for (const token of [await gw.token(other), await gw.token(ids.helpdesk as string), await gw.token(u.otherMember)]) {
      const res = await gw.gql<{ exportUserData: unknown }>(EXPORT, { id: u.id }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ exportUserData: null });
    }
    const missing = await gw.gql<{ exportUserData: unknown }>(EXPORT, { id: 'auth0|000000000000000000000000' }, await reader());
    expect(missing.errors).toBeUndefined();
    expect(missing.data).toEqual({ exportUserData: null });
    // The help desk can read the member (so the null is the export rule, not visibility).
    const visible = await gw.gql<{ user: { id: string } | null }>(
      'query($id: ID!) { user(id: $id) { id } }',
      { id: u.id },
      await gw.token(ids.helpdesk as string),
    );
    expect(visible.data?.user).toEqual({ id: u.id });
  });
});

describe('deleteUser', () => {
  it('a tenant administrator with delete:users deletes anyone', async () => {
    const victims = [await plainUser('anyone'), await plainUser('anyorg', [orgs.a as string, orgs.b as string])];
    const token = await gw.token('deleter', 'delete:users');
    for (const id of victims) {
      const res = await gw.gql<{ deleteUser: { deletedUserId: string | null; userErrors: UserError[] } }>(DELETE_USER, { id }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data?.deleteUser).toEqual({ deletedUserId: id, userErrors: [] });
      expect(await readAsAdmin(id)).toBeNull();
    }
  });

  it('a user without scopes cannot find another user to delete (NOT_FOUND)', async () => {
    const [caller, target] = [await plainUser('caller', [orgs.a as string]), await plainUser('target', [orgs.a as string])];
    const res = await gw.gql(DELETE_USER, { id: target }, await gw.token(caller));
    expect(errorCode(res)).toBe('NOT_FOUND');
    const missing = await gw.gql(DELETE_USER, { id: 'auth0|000000000000000000000000' }, await gw.token(caller));
    expect(errorCode(missing)).toBe('NOT_FOUND');
    expect(res.errors?.[0]?.message.replace(target, 'ID')).toBe(missing.errors?.[0]?.message.replace('auth0|000000000000000000000000', 'ID'));
    expect(await readAsAdmin(target)).not.toBeNull();
  });

  it('read:users without delete:users sees the user but may not delete it (FORBIDDEN)', async () => {
    const target = await plainUser('readonly');
    const res = await gw.gql(DELETE_USER, { id: target }, await reader());
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(await readAsAdmin(target)).not.toBeNull();
  });

  it('the help desk deletes a member who belongs to its organization only', async () => {
    const member = await plainUser('onlya', [orgs.a as string]);
    const auditor = await auditAdmin();
    const aboutMember = (await audit(auditor, { userId: member })).data?.auditEvents.totalCount as number;
    expect(aboutMember).toBe(2); // createUser, addOrganizationMember
    const before = (await audit(auditor, { organization: orgs.a })).data?.auditEvents.totalCount as number;
    const res = await gw.gql<{ deleteUser: { deletedUserId: string | null; userErrors: UserError[] } }>(
      DELETE_USER,
      { id: member },
      await gw.token(ids.helpdesk as string),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.deleteUser).toEqual({ deletedUserId: member, userErrors: [] });
    expect(await readAsAdmin(member)).toBeNull();
    // The deletion is audited, in organization A, with the help desk as actor and a pseudonym as target.
    const after = await audit(auditor, { organization: orgs.a });
    // The membership event (organization A, by the administrator) stays, about the pseudonym; the deletion record comes.
    expect(after.data?.auditEvents.totalCount).toBe(before + 1);
    expect((await audit(auditor, { userId: member })).data?.auditEvents.totalCount).toBe(0);
    expect(after.data?.auditEvents.edges[0]?.node).toMatchObject({
      operation: 'deleteUser',
      actorId: ids.helpdesk,
      organizationId: orgs.a,
      fields: [],
    });
    expect(after.data?.auditEvents.edges[0]?.node.targetUserId).toMatch(/^deleted-user:/);
  });

  it('the help desk may not delete a member who also belongs to another organization: FORBIDDEN, nothing changes', async () => {
    const member = await plainUser('both', [orgs.a as string, orgs.b as string]);
    const auditor = await auditAdmin();
    const before = (await audit(auditor)).data?.auditEvents.totalCount;
    const res = await gw.gql<{ deleteUser: unknown }>(DELETE_USER, { id: member }, await gw.token(ids.helpdesk as string));
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(res.errors?.[0]?.message).toContain('removeOrganizationMember');
    expect(res.data?.deleteUser ?? null).toBeNull();
    const still = await readAsAdmin(member);
    expect(still?.id).toBe(member);
    expect(still?.organizations.map((o) => o.organization.id).sort()).toEqual([orgs.a, orgs.b].sort());
    expect((await audit(auditor)).data?.auditEvents.totalCount).toBe(before);
    // Their token still works.
    const me = await gw.gql<{ me: { id: string } }>('{ me { id } }', {}, await gw.token(member));
    expect(me.data?.me.id).toBe(member);
  });

  it("the help desk cannot find a user of another organization (NOT_FOUND)", async () => {
    const member = await plainUser('onlyb', [orgs.b as string]);
    const res = await gw.gql(DELETE_USER, { id: member }, await gw.token(ids.helpdesk as string));
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(await readAsAdmin(member)).not.toBeNull();
  });
});

describe('audit', () => {
  let subject: string;
  const email = 'Audited.Person@Audit-Values.example';
  const phone = '+14155550177';
  const password = 'audited-secret-password-1';
  const newEmail = 'renamed.person@audit-values.example';
  const newPhone = '+14155550188';
  const newPassword = 'second-secret-password-2';

  it('records one event per write, newest first, with field names', async () => {
    const created = await gw.gql<{ createUser: { user: { id: string } | null; userErrors: UserError[] } }>(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { field code message } } }',
      { input: { connection: 'erasure-db', email, username: 'audited_person', phoneNumber: phone, password, name: 'Audited' } },
      admin,
    );
    expect(created.data?.createUser.userErrors).toEqual([]);
    subject = created.data?.createUser.user?.id as string;
    expect((await update(subject, { name: 'Audited Again', nickname: 'audi' })).data?.updateUser.userErrors).toEqual([]);
    await addMember(gw, admin, orgs.a as string, subject);

    const res = await audit(await auditAdmin(), { userId: subject });
    expect(res.errors).toBeUndefined();
    const nodes = res.data?.auditEvents.edges.map((e) => e.node) ?? [];
    expect(res.data?.auditEvents.totalCount).toBe(3);
    expect(nodes.map((e) => e.operation)).toEqual(['addOrganizationMember', 'updateUser', 'createUser']);
    for (const e of nodes) expect(e).toMatchObject({ actorId: 'admin@tenant', targetUserId: subject });
    expect([...(nodes[1]?.fields ?? [])].sort()).toEqual(['name', 'nickname']);
    expect(nodes[0]?.organizationId).toBe(orgs.a);
    // Newest first, by time too.
    const times = nodes.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(JSON.stringify(nodes).toLowerCase()).not.toContain(email.toLowerCase());
    expect(JSON.stringify(nodes)).not.toContain(phone);
    expect(JSON.stringify(nodes)).not.toContain(password);
  });

  it('names email, phone and password changes but never records their values', async () => {
    const res = await update(subject, { email: newEmail, phoneNumber: newPhone, password: newPassword });
    expect(res.data?.updateUser.userErrors).toEqual([]);
    const events = await audit(await auditAdmin(), { userId: subject });
    const nodes = events.data?.auditEvents.edges.map((e) => e.node) ?? [];
    const latestUpdate = nodes.find((e) => e.operation === 'updateUser');
    expect(latestUpdate?.fields).toEqual(expect.arrayContaining(['email', 'password']));
    expect(latestUpdate?.fields.some((f) => /phone/i.test(f))).toBe(true);
    const all = JSON.stringify((await audit(await auditAdmin())).data?.auditEvents).toLowerCase();
    for (const value of [email, phone, password, newEmail, newPhone, newPassword]) {
      expect(all).not.toContain(value.toLowerCase());
    }
  });

  it('adds no event for a refused write', async () => {
    const auditor = await auditAdmin();
    const total = async () => (await audit(auditor)).data?.auditEvents.totalCount;
    const before = await total();
    const stranger = await plainUser('stranger');
    const afterCreate = await total();
    expect(afterCreate).toBe((before as number) + 1);

    // A plain user on someone else: NOT_FOUND.
    const notFound = await update(subject, { name: 'Hijacked' }, await gw.token(stranger));
    expect(errorCode(notFound)).toBe('NOT_FOUND');
    // The user themself on a field they may not change: FIELD_NOT_EDITABLE.
    const refused = await update(subject, { name: 'Mine', appMetadata: { plan: 'free' } }, await gw.token(subject));
    expect(errorCode(refused)).toBe('FIELD_NOT_EDITABLE');
    // A business failure in userErrors: nothing written either.
    const invalid = await update(subject, { name: 'x'.repeat(151) });
    expect(invalid.data?.updateUser.userErrors.length).toBeGreaterThan(0);
    // A reader without delete:users deleting: FORBIDDEN.
    const forbidden = await gw.gql(DELETE_USER, { id: subject }, await reader());
    expect(errorCode(forbidden)).toBe('FORBIDDEN');

    expect(await total()).toBe(afterCreate);
    expect((await readAsAdmin(subject))?.id).toBe(subject);
  });

  it('is FORBIDDEN to a token without read:audit and without an ADMIN role', async () => {
    for (const token of [await gw.token(subject), await reader(), await gw.token('nobody'), await gw.token(subject, '', { orgId: orgs.a })]) {
      const res = await audit(token);
      expect(errorCode(res)).toBe('FORBIDDEN');
      expect(res.data?.auditEvents ?? null).toBeNull();
    }
    const anonymous = await audit('');
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
  });

  it("gives the help desk its organization's events only", async () => {
    // Events in organization B exist, so the narrowing means something.
    await plainUser('bmember', [orgs.b as string]);
    const everything = await audit(await auditAdmin(), { organization: orgs.b });
    expect(everything.data?.auditEvents.totalCount).toBeGreaterThan(0);

    const desk = await gw.token(ids.helpdesk as string);
    // A write by the help desk is recorded in its organization.
    expect((await update(subject, { nickname: 'desk-set' }, desk)).data?.updateUser.userErrors).toEqual([]);
    const res = await audit(desk);
    expect(res.errors).toBeUndefined();
    const nodes = res.data?.auditEvents.edges.map((e) => e.node) ?? [];
    expect(nodes.length).toBeGreaterThan(0);
    for (const e of nodes) expect(e.organizationId).toBe(orgs.a);
    expect(nodes[0]).toMatchObject({ operation: 'updateUser', actorId: ids.helpdesk, targetUserId: subject, fields: ['nickname'] });
    // Exactly what a tenant administrator sees for organization A.
    const forA = await audit(await auditAdmin(), { organization: orgs.a });
    expect(res.data?.auditEvents.totalCount).toBe(forA.data?.auditEvents.totalCount);
    expect(nodes.map((e) => e.id)).toEqual(forA.data?.auditEvents.edges.map((e) => e.node.id));
    // Filters narrow within organization A.
    const aboutSubject = await audit(desk, { userId: subject });
    expect(aboutSubject.data?.auditEvents.edges.map((e) => e.node.operation)).toEqual(['updateUser', 'addOrganizationMember']);
    expect(errorCode(await audit(desk, { organization: orgs.b }))).toBe('FORBIDDEN');
    // A token issued for another organization carries none of organization A's powers.
    expect(errorCode(await audit(await gw.token(ids.helpdesk as string, '', { orgId: orgs.b })))).toBe('FORBIDDEN');
    expect((await audit(desk, { organization: orgs.a })).data?.auditEvents.totalCount).toBe(res.data?.auditEvents.totalCount);
  });

  it('pages with first/after through every event, without duplicates or gaps', async () => {
    const auditor = await auditAdmin();
    const full = await audit(auditor, {}, 100);
    const total = full.data?.auditEvents.totalCount as number;
    expect(total).toBeGreaterThan(10);
    expect(total).toBeLessThanOrEqual(100);
    const expected = full.data?.auditEvents.edges.map((e) => e.node.id);
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 100; page++) {
      const res = await audit(auditor, {}, 7, after);
      expect(res.errors).toBeUndefined();
      const conn = res.data?.auditEvents;
      expect(conn?.totalCount).toBe(total);
      seen.push(...(conn?.edges.map((e) => e.node.id) ?? []));
      if (!conn?.pageInfo.hasNextPage) break;
      expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor);
      after = conn.pageInfo.endCursor as string;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected);
    // Newest first.
    const byId = new Map(full.data?.auditEvents.edges.map((e) => [e.node.id, Date.parse(e.node.at)]));
    const times = seen.map((id) => byId.get(id) as number);
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(errorCode(await audit(auditor, {}, 5, 'not-a-cursor'))).toBe('BAD_USER_INPUT');
  });
});

// Builds the benchmark tenant on a new SQLite file: connections and organizations through the app
// layer (so their options are the real ones), then N users, their identities and memberships
// written directly with better-sqlite3 prepared statements in large transactions (100k users in a
// few seconds; going through createUser would take minutes and measure the wrong thing).
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { createConnection } from '../../src/app/connections.js';
import { createOrganization } from '../../src/app/organizations.js';
import { systemContext } from '../../src/app/system.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { MIGRATIONS_FOLDER } from '../../src/config.js';
import { ScriptRegistry } from '../../src/connectors/custom-db.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

export type UserKind = 'own' | 'google' | 'github' | 'saml' | 'email';

export interface Tenant {
  users: number;
  organizations: number;
  memberships: number;
  /** Seconds spent building it. */
  seconds: number;
  /** Scenario 1's profile: a Google user with an identity, member of two organizations. */
  profileId: string;
  /** The help desk (an ADMIN) of one of that profile's organizations. */
  helpDeskId: string;
  /** Own-store users, not blocked (updateUser of user_metadata). */
  ownIds: string[];
  /** Google users, not blocked: upstream ids and profiles (recordLogin). */
  google: { upstreamId: string; email: string; given: string; family: string }[];
  /** Every user id (random pages start after one of them). */
  allIds: string[];
}

const GIVEN = ['Ada', 'Bruno', 'Chloé', 'Dmitri', 'Elif', 'Farah', 'Goran', 'Hana', 'Ivo', 'Jun', 'Kemal', 'Lea', 'Mateo', 'Nia', 'Oskar', 'Pia'];
const FAMILY = ['Almeida', 'Becker', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Haddad', 'Ibrahim', 'Jensen', 'Kowalski', 'Lindqvist', 'Moreau', 'Novak', 'Okafor', 'Petrov'];

/** How many departments the own-store users are spread over (`dept-0` …), about 100 each in 100,000. */
export const DEPARTMENTS = 500;
/** Own-store users are the first half of every 20 (kindOf): each department gets its share of them. */
export const departmentOf = (i: number) => `dept-${Math.floor(i / 20) % DEPARTMENTS}`;

/** The kind of user i: half own store, 30% Google, 10% GitHub, 5% SAML, 5% passwordless email. */
export function kindOf(i: number): UserKind {
  const r = i % 20;
  if (r < 10) return 'own';
  if (r < 16) return 'google';
  if (r < 18) return 'github';
  if (r < 19) return 'saml';
  return 'email';
}

const hex24 = (i: number) => i.toString(16).padStart(24, '0');

export async function buildTenant(dbPath: string, n: number): Promise<Tenant> {
  const started = performance.now();
  // 1. Schema, connections and organizations through the real code.
  const store = openSqliteStore({ path: dbPath, migrationsFolder: MIGRATIONS_FOLDER });
  const ctx = systemContext(store, new ScriptRegistry('scripts', 5000), 'bench:tenant');
  const conn: Record<UserKind, string> = { own: '', google: '', github: '', saml: '', email: '' };
  const inputs = [
    ['own', { name: 'Username-Password-Authentication', kind: 'DATABASE', requiresUsername: true }],
    ['google', { name: 'google-oauth2', kind: 'SOCIAL', strategy: 'google-oauth2', syncUserRootAttributes: 'on_each_login' }],
    ['github', { name: 'github', kind: 'SOCIAL', strategy: 'github', syncUserRootAttributes: 'on_first_login' }],
    ['saml', { name: 'acme-saml', kind: 'ENTERPRISE', strategy: 'samlp', syncUserRootAttributes: 'never_on_login' }],
    ['email', { name: 'email', kind: 'PASSWORDLESS', strategy: 'email' }],
  ] as const;
  for (const [kind, input] of inputs) {
    const { connection, userErrors } = await createConnection(ctx, input);
    if (!connection) throw new Error(`bench tenant: connection ${input.name}: ${JSON.stringify(userErrors)}`);
    conn[kind] = connection.id;
  }
  const orgCount = Math.max(2, Math.round(n / 5000));
  const orgIds: string[] = [];
  for (let k = 0; k < orgCount; k++) {
    const { organization, userErrors } = await createOrganization(ctx, {
      name: `org-${k}`,
      displayName: `Organization ${k}`,
      connections: ['Username-Password-Authentication', 'google-oauth2', 'acme-saml'],
    });
    if (!organization) throw new Error(`bench tenant: organization ${k}: ${JSON.stringify(userErrors)}`);
    orgIds.push(organization.id);
  }
  await store.close();

  // 2. Users, identities, memberships: raw prepared statements, 10,000 rows per transaction.
  const passwordHash = await hashPassword('correct-horse-battery');
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insertUser = db.prepare(`INSERT INTO users (id, connection_id, email, email_lower, email_verified, username,
    username_lower, phone_number, phone_verified, name, nickname, given_name, family_name, picture, user_metadata,
    app_metadata, blocked, migrated, password_hash, version, created_at, updated_at, last_login, last_ip, logins_count,
    profile_synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 1, ?, ?, ?, ?, ?, ?)`);
  const insertIdentity = db.prepare(
    'INSERT INTO identities (user_id, connection_id, provider, upstream_user_id, is_social, profile_data) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertMember = db.prepare(
    'INSERT OR IGNORE INTO memberships (organization_id, user_id, roles, invited_email, joined_at) VALUES (?, ?, ?, ?, ?)',
  );

  const tenant: Tenant = {
    users: n,
    organizations: orgCount,
    memberships: 0,
    seconds: 0,
    profileId: '',
    helpDeskId: '',
    ownIds: [],
    google: [],
    allIds: [],
  };
  const now = Date.now();
  const admins = new Map<number, string>();
  const write = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const kind = kindOf(i);
      const given = GIVEN[i % GIVEN.length] as string;
      const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length] as string;
      const name = `${given} ${family}`;
      const created = now - (n - i) * 60_000;
      let id: string;
      let email: string | null;
      let username: string | null = null;
      let phone: string | null = null;
      let provider: string;
      let upstream: string;
      let profileData: string | null = null;
      let loggedIn = true;
      const blocked = i % 97 === 5;
      switch (kind) {
        case 'own':
          upstream = hex24(i);
          id = `auth0|${upstream}`;
          email = `user${i}@bench.example`;
          username = `user${i}`;
          phone = i % 4 === 0 ? `+1415${String(i % 10_000_000).padStart(7, '0')}` : null;
          provider = 'auth0';
          loggedIn = i % 3 !== 0;
          break;
        case 'google':
          upstream = `1045${String(i).padStart(17, '0')}`;
          id = `google-oauth2|${upstream}`;
          email = `g${i}@gmail.example`;
          provider = 'google-oauth2';
          if (!blocked) tenant.google.push({ upstreamId: upstream, email, given, family });
          break;
        case 'github':
          upstream = String(58_000_000 + i);
          id = `github|${upstream}`;
          email = `gh${i}@dev.example`;
          provider = 'github';
          break;
        case 'saml':
          upstream = `e-${i}`;
          id = `samlp|acme-saml|${upstream}`;
          email = `emp${i}@acme-corp.example`;
          provider = 'samlp';
          break;
        case 'email':
          upstream = hex24(i);
          id = `email|${upstream}`;
          email = `pl${i}@mail.example`;
          provider = 'email';
          break;
      }
      if (kind !== 'own') {
        profileData = JSON.stringify({
          user_id: upstream,
          name,
          given_name: given,
          family_name: family,
          nickname: given.toLowerCase(),
          email,
          email_verified: true,
          picture: `https://avatars.example.com/${upstream}.png`,
          locale: 'en',
        });
      }
      // Own-store users carry a department, which the bench declares and searches by (scenario 5).
      const metadata: Record<string, string> = i % 2 === 0 ? { theme: i % 4 === 0 ? 'dark' : 'light', language: 'en' } : {};
      if (kind === 'own') metadata.department = departmentOf(i);
      const userMetadata = JSON.stringify(metadata);
      const appMetadata = i % 5 === 0 ? JSON.stringify({ plan: i % 10 === 0 ? 'pro' : 'basic' }) : '{}';
      insertUser.run(
        id,
        conn[kind],
        email,
        email.toLowerCase(),
        1,
        username,
        username?.toLowerCase() ?? null,
        phone,
        phone ? 1 : 0,
        name,
        given.toLowerCase(),
        given,
        family,
        `https://avatars.example.com/${i}.png`,
        userMetadata,
        appMetadata,
        blocked ? 1 : 0,
        kind === 'own' ? passwordHash : null,
        created,
        created,
        loggedIn ? created + 3_600_000 : null,
        loggedIn ? '203.0.113.10' : null,
        loggedIn ? 1 + (i % 7) : 0,
        loggedIn && kind !== 'own' ? created + 3_600_000 : null,
      );
      insertIdentity.run(id, conn[kind], provider, upstream, kind === 'google' || kind === 'github' ? 1 : 0, profileData);
      tenant.allIds.push(id);
      if (kind === 'own' && !blocked) tenant.ownIds.push(id);
      // Memberships: a third of the users in one organization, one in seven in a second one; the
      // first own-store member of each organization is its ADMIN (help desk).
      const orgs: number[] = [];
      if (i % 3 === 0) orgs.push(Math.floor(i / 3) % orgCount);
      if (i % 7 === 0) orgs.push((Math.floor(i / 7) + 1) % orgCount);
      for (const k of orgs) {
        let roles = '["MEMBER"]';
        if (kind === 'own' && !blocked && !admins.has(k)) {
          admins.set(k, id);
          roles = '["ADMIN"]';
        }
        tenant.memberships += insertMember.run(orgIds[k], id, roles, null, created).changes;
      }
      if (!tenant.profileId && kind === 'google' && !blocked && orgs.length === 2 && i > 0) tenant.profileId = id;
    }
  });
  for (let from = 0; from < n; from += 10_000) write(from, Math.min(n, from + 10_000));
  db.pragma('optimize');
  db.close();

  // The help desk of the profile's first organization.
  const profileIndex = tenant.allIds.indexOf(tenant.profileId);
  const firstOrg = Math.floor(profileIndex / 3) % orgCount;
  tenant.helpDeskId = admins.get(firstOrg) ?? '';
  if (!tenant.profileId || !tenant.helpDeskId) throw new Error('bench tenant: too few users for the scenarios (use --users 1000 or more)');
  tenant.seconds = (performance.now() - started) / 1000;
  return tenant;
}

/** A fresh secret for the gateway's HS256 tokens. */
export const newSecret = () => randomBytes(32).toString('base64url');

/** What bench/inprocess.ts measures on a tenant (F1, F2, statement counts): the same samples for every tree. */
export function inProcessSamples(tenant: Tenant): { profileId: string; ownIds: string[]; pageAfterIds: string[]; google: Tenant['google'] } {
  return {
    profileId: tenant.profileId,
    ownIds: tenant.ownIds.slice(0, 20_000),
    pageAfterIds: tenant.allIds.filter((_, i) => i % 7 === 0).slice(0, 10_000),
    google: tenant.google.slice(0, 1000),
  };
}

// The demo tenant: one connection of every kind, two organizations with a help desk, and two
// dozen users with realistic profiles. Built through the same operations the API uses.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ConnectionInput, createConnection } from '../app/connections.js';
import { addOrganizationMember, createOrganization } from '../app/organizations.js';
import { systemContext } from '../app/system.js';
import { authenticate, recordLogin } from '../app/logins.js';
import { createUser } from '../app/users.js';
import type * as LegacyDatabase from '../../scripts/lib/legacy-database.mjs';
import { PROJECT_ROOT } from '../config.js';
import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { OrgRole } from '../domain/types.js';
import type { Store } from '../store/types.js';

export const DEMO_PASSWORD = 'correct-horse-battery';

export const DEMO_CONNECTIONS: ConnectionInput[] = [
  { name: 'Username-Password-Authentication', kind: 'DATABASE', requiresUsername: true },
  { name: 'legacy-db', kind: 'DATABASE', customDatabase: true, customScripts: 'legacy-db' },
  {
    name: 'legacy-import',
    kind: 'DATABASE',
    customDatabase: true,
    importMode: true,
    customScripts: 'legacy-import',
  },
  {
    name: 'google-oauth2',
    kind: 'SOCIAL',
    strategy: 'google-oauth2',
    syncUserRootAttributes: 'on_each_login',
  },
  { name: 'github', kind: 'SOCIAL', strategy: 'github', syncUserRootAttributes: 'on_first_login' },
  { name: 'acme-saml', kind: 'ENTERPRISE', strategy: 'samlp', syncUserRootAttributes: 'never_on_login' },
  { name: 'email', kind: 'PASSWORDLESS', strategy: 'email' },
  { name: 'sms', kind: 'PASSWORDLESS', strategy: 'sms' },
];

interface DemoPerson {
  given: string;
  family: string;
  email: string;
  username?: string;
  phone?: string;
  blocked?: boolean;
  metadata?: Record<string, unknown>;
  plan?: string;
}

const OWN_STORE: DemoPerson[] = [
  {
    given: 'Alice',
    family: 'Martin',
    email: 'alice@acme.example',
    username: 'alice',
    metadata: { theme: 'dark', language: 'en' },
    plan: 'pro',
  },
  {
    given: 'Hugo',
    family: 'Desk',
    email: 'helpdesk@acme.example',
    username: 'hugo.desk',
    metadata: { team: 'support' },
  },
  { given: 'Bob', family: 'Nguyen', email: 'bob@acme.example', username: 'bob_n', phone: '+14155550101' },
  {
    given: 'Carol',
    family: 'Schmidt',
    email: 'carol@globex.example',
    username: 'carol',
    metadata: { language: 'de' },
  },
  { given: 'Dave', family: 'Okafor', email: 'dave@acme.example', username: 'dave.o', blocked: true },
  {
    given: 'Grace',
    family: 'Hopper',
    email: 'grace@globex.example',
    username: 'ghopper',
    plan: 'enterprise',
  },
  { given: 'Erin', family: 'Kowalski', email: 'erin@globex.example', username: 'erin.k', phone: '+48601234567' },
];

/** Accounts that exist only in the customer's legacy database until their first login. */
export const LEGACY_ACCOUNTS = [
  {
    email: 'lena.legacy@acme.example',
    name: 'Lena Lindqvist',
    given_name: 'Lena',
    family_name: 'Lindqvist',
    username: 'lena',
    plan: 'basic',
  },
  { email: 'omar.legacy@acme.example', name: 'Omar Haddad', given_name: 'Omar', family_name: 'Haddad', username: 'omar' },
  { email: 'paula.legacy@globex.example', name: 'Paula Costa', given_name: 'Paula', family_name: 'Costa', username: 'paula' },
];
export const IMPORT_ACCOUNTS = [
  {
    email: 'ivan.import@acme.example',
    name: 'Ivan Petrov',
    given_name: 'Ivan',
    family_name: 'Petrov',
    username: 'ivan',
    plan: 'pro',
  },
  { email: 'mia.import@globex.example', name: 'Mia Wong', given_name: 'Mia', family_name: 'Wong', username: 'mia' },
];

interface UpstreamUser {
  connection: string;
  id: string;
  given: string;
  family: string;
  email?: string;
  phone?: string;
}

const UPSTREAM: UpstreamUser[] = [
  {
    connection: 'google-oauth2',
    id: '104518326578913240001',
    given: 'Gabriel',
    family: 'Silva',
    email: 'gabriel.silva@gmail.example',
  },
  {
    connection: 'google-oauth2',
    id: '104518326578913240002',
    given: 'Priya',
    family: 'Raman',
    email: 'priya.raman@gmail.example',
  },
  {
    connection: 'google-oauth2',
    id: '104518326578913240003',
    given: 'Tom',
    family: 'Becker',
    email: 'tom.becker@gmail.example',
  },
  {
    connection: 'google-oauth2',
    id: '104518326578913240004',
    given: 'Yuki',
    family: 'Tanaka',
    email: 'yuki.tanaka@gmail.example',
  },
  { connection: 'github', id: '58321001', given: 'Sam', family: 'Rivera', email: 'sam@rivera.example' },
  { connection: 'github', id: '58321002', given: 'Ines', family: 'Moreau', email: 'ines@moreau.example' },
  { connection: 'github', id: '58321003', given: 'Kofi', family: 'Mensah', email: 'kofi@mensah.example' },
  {
    connection: 'acme-saml',
    id: 'e-1001',
    given: 'Nora',
    family: 'Berg',
    email: 'nora.berg@acme-corp.example',
  },
  {
    connection: 'acme-saml',
    id: 'e-1002',
    given: 'Liam',
    family: 'Walsh',
    email: 'liam.walsh@acme-corp.example',
  },
  {
    connection: 'acme-saml',
    id: 'e-1003',
    given: 'Zara',
    family: 'Ali',
    email: 'zara.ali@acme-corp.example',
  },
  {
    connection: 'email',
    id: '6650a1f0c1d2e3f4a5b6c701',
    given: 'Eva',
    family: 'Novak',
    email: 'eva.novak@mail.example',
  },
  {
    connection: 'email',
    id: '6650a1f0c1d2e3f4a5b6c702',
    given: 'Felix',
    family: 'Braun',
    email: 'felix.braun@mail.example',
  },
  { connection: 'sms', id: '6650a1f0c1d2e3f4a5b6c801', given: 'Rosa', family: 'Diaz', phone: '+34600100200' },
  {
    connection: 'sms',
    id: '6650a1f0c1d2e3f4a5b6c802',
    given: 'Jonas',
    family: 'Weber',
    phone: '+491701234567',
  },
];

export interface SeedOptions {
  store: Store;
  scripts: ScriptRegistry;
  legacyDbPath?: string | undefined;
  log?: (line: string) => void;
}

export interface DemoTenant {
  connections: Record<string, string>;
  organizations: Record<string, string>;
  users: Record<string, string>;
}

const avatar = (seed: string) => `https://avatars.example.com/${encodeURIComponent(seed)}.png`;

export async function seedDemo(opts: SeedOptions): Promise<DemoTenant> {
  const ctx = systemContext(opts.store, opts.scripts, 'system:demo-seed');
  const tenant: DemoTenant = { connections: {}, organizations: {}, users: {} };
  const must = <T>(what: string, result: { userErrors: { code: string; message: string }[] } & T): T => {
    if (result.userErrors.length > 0) {
      throw new Error(
        `demo seed: ${what}: ${result.userErrors.map((e) => `${e.code} ${e.message}`).join('; ')}`,
      );
    }
    return result;
  };

  if (opts.legacyDbPath) await seedLegacyDatabase(opts.legacyDbPath);

  for (const input of DEMO_CONNECTIONS) {
    const { connection } = must(`connection ${input.name}`, await createConnection(ctx, input));
    if (connection) tenant.connections[input.name] = connection.id;
  }

  for (const p of OWN_STORE) {
    const { user } = must(
      `user ${p.email}`,
      await createUser(ctx, {
        connection: 'Username-Password-Authentication',
        email: p.email,
        email_verified: true,
        password: DEMO_PASSWORD,
        username: p.username ?? null,
        phone_number: p.phone ?? null,
        given_name: p.given,
        family_name: p.family,
        name: `${p.given} ${p.family}`,
        nickname: p.given.toLowerCase(),
        picture: avatar(p.email),
        user_metadata: p.metadata ?? {},
        app_metadata: p.plan ? { plan: p.plan } : {},
        blocked: p.blocked ?? false,
      }),
    );
    if (user) tenant.users[p.email] = user.id;
  }

  // Users of identity providers exist once they have logged in: the demo starts after one login each.
  for (const u of UPSTREAM) {
    const name = `${u.given} ${u.family}`;
    const { user } = must(
      `login ${u.connection} ${u.id}`,
      await recordLogin(ctx, {
        connection: u.connection,
        ip: '203.0.113.10',
        profile: {
          user_id: u.id,
          name,
          given_name: u.given,
          family_name: u.family,
          nickname: u.given.toLowerCase(),
          picture: avatar(u.id),
          ...(u.email ? { email: u.email, email_verified: true } : {}),
          ...(u.phone ? { phone_number: u.phone, phone_verified: true } : {}),
        },
      }),
    );
    if (user) tenant.users[u.email ?? u.phone ?? user.id] = user.id;
  }

  // Some legacy users have logged in once: cached (legacy-db) or migrated (legacy-import).
  if (opts.legacyDbPath) {
    for (const [connection, email] of [
      ['legacy-db', 'lena.legacy@acme.example'],
      ['legacy-db', 'omar.legacy@acme.example'],
      ['legacy-import', 'ivan.import@acme.example'],
    ] as const) {
      const { user } = must(
        `login ${email}`,
        await authenticate(ctx, { connection, identifier: email, password: DEMO_PASSWORD, ip: '198.51.100.7' }),
      );
      if (user) tenant.users[email] = user.id;
    }
  }

  const orgs: { name: string; displayName: string; connections: string[]; members: [string, OrgRole[]][] }[] =
    [
      {
        name: 'acme',
        displayName: 'Acme Corporation',
        connections: ['Username-Password-Authentication', 'google-oauth2', 'acme-saml', 'legacy-db'],
        members: [
          ['helpdesk@acme.example', ['ADMIN']],
          ['alice@acme.example', ['MEMBER']],
          ['bob@acme.example', ['MEMBER']],
          ['dave@acme.example', ['MEMBER']],
          ['gabriel.silva@gmail.example', ['MEMBER']],
          ['priya.raman@gmail.example', ['MEMBER']],
          ['nora.berg@acme-corp.example', ['MEMBER']],
          ['liam.walsh@acme-corp.example', ['MEMBER']],
          ['sam@rivera.example', ['MEMBER']],
          ['eva.novak@mail.example', ['MEMBER']],
          ['+34600100200', ['MEMBER']],
        ['lena.legacy@acme.example', ['MEMBER']],
        ['ivan.import@acme.example', ['MEMBER']],
        ],
      },
      {
        name: 'globex',
        displayName: 'Globex',
        connections: ['Username-Password-Authentication', 'github'],
        members: [
          ['grace@globex.example', ['ADMIN']],
          ['carol@globex.example', ['MEMBER']],
          ['ines@moreau.example', ['MEMBER']],
          ['tom.becker@gmail.example', ['MEMBER']],
        ['erin@globex.example', ['MEMBER']],
          // Bob belongs to both: the help desk of one cannot delete his account.
          ['bob@acme.example', ['MEMBER']],
        ],
      },
    ];
  for (const o of orgs) {
    const { organization } = must(
      `organization ${o.name}`,
      await createOrganization(ctx, { name: o.name, displayName: o.displayName, connections: o.connections }),
    );
    if (!organization) continue;
    tenant.organizations[o.name] = organization.id;
    for (const [key, roles] of o.members) {
      const userId = tenant.users[key];
      if (!userId) throw new Error(`demo seed: no user ${key}`);
      must(
        `member ${key}`,
        await addOrganizationMember(ctx, { organization: organization.id, user: userId, roles }),
      );
    }
  }
  opts.log?.(
    `Loaded the demo tenant: ${Object.keys(tenant.connections).length} connections, ${Object.keys(tenant.users).length} users, ${Object.keys(tenant.organizations).length} organizations.`,
  );
  return tenant;
}

/** The customer's own database behind the two custom-database connections (bcrypt hashes, its own layout). */
async function seedLegacyDatabase(path: string): Promise<void> {
  // From the project root, not this module's folder: the compiled copy lives in dist/src/seed.
  const lib = (await import(
    pathToFileURL(join(PROJECT_ROOT, 'scripts/lib/legacy-database.mjs')).href
  )) as typeof LegacyDatabase;
  const withPassword = (a: (typeof LEGACY_ACCOUNTS)[number]) => ({ ...a, password: DEMO_PASSWORD, email_verified: true });
  await lib.seedLegacyAccounts(path, 'legacy-db', LEGACY_ACCOUNTS.map(withPassword));
  await lib.seedLegacyAccounts(path, 'legacy-import', IMPORT_ACCOUNTS.map(withPassword));
}

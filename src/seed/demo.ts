// The demo tenant: one connection of every kind, two organizations with a help desk, and two
// dozen users with realistic profiles (their data in fixtures.ts). Built through the same
// operations the API uses.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createConnection } from '../app/connections.js';
import { addOrganizationMember, createOrganization } from '../app/organizations.js';
import { systemContext } from '../app/system.js';
import { authenticate, recordLogin } from '../app/logins.js';
import { createUser } from '../app/users.js';
import type * as LegacyDatabase from '../../scripts/lib/legacy-database.mjs';
import { PROJECT_ROOT } from '../config.js';
import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { OrgRole } from '../domain/types.js';
import type { Store } from '../store/types.js';
import { avatar, DEMO_CONNECTIONS, DEMO_PASSWORD, IMPORT_ACCOUNTS, LEGACY_ACCOUNTS, OWN_STORE, UPSTREAM } from './fixtures.js';

export { DEMO_PASSWORD } from './fixtures.js';

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

// The demo tenant's data: its connections, people, legacy and import accounts, and the upstream
// profiles its social and enterprise logins bring. src/seed/demo.ts builds the tenant from them.
import type { ConnectionInput } from '../app/connections.js';

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

export interface DemoPerson {
  given: string;
  family: string;
  email: string;
  username?: string;
  phone?: string;
  blocked?: boolean;
  metadata?: Record<string, unknown>;
  plan?: string;
}

export const OWN_STORE: DemoPerson[] = [
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

export interface UpstreamUser {
  connection: string;
  id: string;
  given: string;
  family: string;
  email?: string;
  phone?: string;
}

export const UPSTREAM: UpstreamUser[] = [
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

export const avatar = (seed: string) => `https://avatars.example.com/${encodeURIComponent(seed)}.png`;

// Types for the demo legacy database (plain JavaScript, so it runs under plain node too).
export interface LegacyProfile {
  user_id: string;
  email: string;
  email_verified: boolean;
  username?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  phone_number?: string;
  phone_verified: boolean;
  user_metadata?: Record<string, unknown>;
  app_metadata?: { plan: string };
}

export interface LegacyAccount {
  email: string;
  password: string;
  username?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  phone_number?: string;
  email_verified?: boolean;
  user_metadata?: Record<string, unknown>;
  plan?: string;
}

export interface LegacyScripts {
  login(identifier: string, password: string): Promise<LegacyProfile | null>;
  getUser(identifier: string): Promise<LegacyProfile | null>;
  create(user: Record<string, unknown>): Promise<LegacyProfile>;
  changePassword(identifier: string, newPassword: string): Promise<true>;
  changeEmail(identifier: string, newEmail: string, verified: boolean): Promise<true>;
}

export const DEFAULT_LEGACY_DB_PATH: string;
export const DEFAULT_BCRYPT_COST: number;
export function legacyDatabasePath(): string;
export function openLegacyDatabase(path?: string): unknown;
export function closeLegacyDatabases(): void;
export function makeScripts(tenant: string): LegacyScripts;
export function seedLegacyAccounts(
  path: string,
  tenant: string,
  accounts: LegacyAccount[],
  opts?: { bcryptCost?: number },
): Promise<number>;
export function updateLegacyAccount(
  path: string,
  tenant: string,
  email: string,
  changes: Record<string, unknown>,
  opts?: { bcryptCost?: number },
): Promise<LegacyProfile>;
export function readLegacyAccount(path: string, tenant: string, email: string): LegacyProfile | null;

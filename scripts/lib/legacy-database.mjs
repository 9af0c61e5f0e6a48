// A demo "legacy database": the user database a customer already owns and that the gateway reaches
// only through custom-database scripts (see scripts/legacy-db.mjs). It deliberately uses its own
// table layout, not Auth0's names, so the scripts show the mapping a real customer would write:
//
//   accounts(account_id, tenant, mail, mail_confirmed, login, pass_bcrypt, full_name, first_name,
//            last_name, nick, avatar_url, mobile, mobile_confirmed, prefs_json, plan)
//
// `tenant` separates the users of several demo connections kept in one file. Passwords are bcrypt
// hashes. Plain JavaScript (no TypeScript) so it runs under plain node too.
//
// The file is LEGACY_DB_PATH (read at every call), by default ./data/legacy.db under the working
// directory. Connections open lazily, one per path.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { bcrypt, bcryptVerify } from 'hash-wasm';

export const DEFAULT_LEGACY_DB_PATH = './data/legacy.db';
export const DEFAULT_BCRYPT_COST = 10;
/** bcrypt reads at most 72 bytes of a password; hash-wasm refuses longer ones. */
const BCRYPT_MAX_BYTES = 72;

/**
 * The profile a script resolves to: Auth0's normalized snake_case keys. Keys whose column is NULL
 * are left out.
 * @typedef {{
 *   user_id: string,
 *   email: string,
 *   email_verified: boolean,
 *   username?: string,
 *   name?: string,
 *   given_name?: string,
 *   family_name?: string,
 *   nickname?: string,
 *   picture?: string,
 *   phone_number?: string,
 *   phone_verified: boolean,
 *   user_metadata?: Record<string, unknown>,
 *   app_metadata?: { plan: string },
 * }} LegacyProfile
 */

/**
 * A row of `accounts`.
 * @typedef {{
 *   account_id: number, tenant: string, mail: string, mail_confirmed: number, login: string | null,
 *   pass_bcrypt: string, full_name: string | null, first_name: string | null, last_name: string | null,
 *   nick: string | null, avatar_url: string | null, mobile: string | null, mobile_confirmed: number,
 *   prefs_json: string | null, plan: string | null,
 * }} AccountRow
 */

/**
 * An account given to seedLegacyAccounts.
 * @typedef {{
 *   email: string, password: string, username?: string, name?: string, given_name?: string,
 *   family_name?: string, nickname?: string, picture?: string, phone_number?: string,
 *   phone_verified?: boolean, email_verified?: boolean, user_metadata?: Record<string, unknown>,
 *   plan?: string,
 * }} SeedAccount
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  account_id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  mail TEXT NOT NULL,
  mail_confirmed INTEGER NOT NULL DEFAULT 0,
  login TEXT,
  pass_bcrypt TEXT NOT NULL,
  full_name TEXT,
  first_name TEXT,
  last_name TEXT,
  nick TEXT,
  avatar_url TEXT,
  mobile TEXT,
  mobile_confirmed INTEGER NOT NULL DEFAULT 0,
  prefs_json TEXT,
  plan TEXT,
  UNIQUE (tenant, mail COLLATE NOCASE),
  UNIQUE (tenant, login COLLATE NOCASE)
)`;

/** Auth0 name -> legacy column, for the plain text columns. */
const TEXT_COLUMNS = /** @type {const} */ ({
  email: 'mail',
  username: 'login',
  name: 'full_name',
  given_name: 'first_name',
  family_name: 'last_name',
  nickname: 'nick',
  picture: 'avatar_url',
  phone_number: 'mobile',
  plan: 'plan',
});
/** Auth0 name -> legacy column, for the 0/1 flag columns. */
const FLAG_COLUMNS = /** @type {const} */ ({
  email_verified: 'mail_confirmed',
  phone_verified: 'mobile_confirmed',
});

/** @type {Map<string, import('better-sqlite3').Database>} */
const databases = new Map();

/** The path the scripts use: LEGACY_DB_PATH, read now, resolved against the working directory. */
export function legacyDatabasePath() {
  return resolve(process.cwd(), process.env.LEGACY_DB_PATH || DEFAULT_LEGACY_DB_PATH);
}

/**
 * Opens (once per path) the legacy database, creating the file and the table when missing.
 * @param {string} [path] defaults to legacyDatabasePath()
 */
export function openLegacyDatabase(path) {
  const file = path ? resolve(process.cwd(), path) : legacyDatabasePath();
  let db = databases.get(file);
  if (db?.open) return db;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Owner-only, like the gateway's own file (SQLite gives -wal and -shm the same mode).
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  db = new Database(file, { fileMustExist: false });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
  } catch (err) {
    db.close();
    throw err;
  }
  databases.set(file, db);
  return db;
}

/** Closes every connection this module opened (tests call it before removing their files). */
export function closeLegacyDatabases() {
  for (const db of databases.values()) {
    if (db.open) db.close();
  }
  databases.clear();
}

/**
 * The account whose mail or login is `identifier` (case-insensitively); a mail match wins.
 * @param {import('better-sqlite3').Database} db
 * @param {string} tenant
 * @param {string} identifier
 * @returns {AccountRow | undefined}
 */
function findAccount(db, tenant, identifier) {
  if (typeof identifier !== 'string' || identifier === '') return undefined;
  return /** @type {AccountRow | undefined} */ (
    db
      .prepare(
        `SELECT * FROM accounts
          WHERE tenant = @tenant AND (mail = @identifier COLLATE NOCASE OR login = @identifier COLLATE NOCASE)
          ORDER BY (mail = @identifier COLLATE NOCASE) DESC
          LIMIT 1`,
      )
      .get({ tenant, identifier })
  );
}

/**
 * @param {import('better-sqlite3').Database} db
 * @param {string} tenant
 * @param {string} email
 * @returns {AccountRow | undefined}
 */
function findByMail(db, tenant, email) {
  if (typeof email !== 'string' || email === '') return undefined;
  return /** @type {AccountRow | undefined} */ (
    db.prepare('SELECT * FROM accounts WHERE tenant = ? AND mail = ? COLLATE NOCASE').get(tenant, email)
  );
}

/**
 * Maps a legacy row to Auth0's normalized profile. The password hash never leaves this function.
 * @param {AccountRow} row
 * @returns {LegacyProfile}
 */
function toProfile(row) {
  /** @type {LegacyProfile} */
  const profile = {
    user_id: String(row.account_id),
    email: row.mail,
    email_verified: row.mail_confirmed === 1,
    phone_verified: row.mobile_confirmed === 1,
  };
  if (row.login !== null) profile.username = row.login;
  if (row.full_name !== null) profile.name = row.full_name;
  if (row.first_name !== null) profile.given_name = row.first_name;
  if (row.last_name !== null) profile.family_name = row.last_name;
  if (row.nick !== null) profile.nickname = row.nick;
  if (row.avatar_url !== null) profile.picture = row.avatar_url;
  if (row.mobile !== null) profile.phone_number = row.mobile;
  if (row.prefs_json !== null) profile.user_metadata = JSON.parse(row.prefs_json);
  if (row.plan !== null) profile.app_metadata = { plan: row.plan };
  return profile;
}

/** @param {unknown} password */
function isUsablePassword(password) {
  return typeof password === 'string' && password !== '' && Buffer.byteLength(password) <= BCRYPT_MAX_BYTES;
}

/**
 * @param {unknown} password
 * @param {number} [cost]
 */
async function hashPassword(password, cost = DEFAULT_BCRYPT_COST) {
  if (typeof password !== 'string' || password === '') throw new Error('A password is required.');
  if (Buffer.byteLength(password) > BCRYPT_MAX_BYTES) {
    throw new Error(`The password is longer than ${BCRYPT_MAX_BYTES} bytes.`);
  }
  return bcrypt({ password, salt: randomBytes(16), costFactor: cost, outputType: 'encoded' });
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {string | null}
 */
function optionalText(value, what) {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new Error(`${what} must be a string.`);
  return value;
}

/**
 * @param {unknown} value
 * @returns {string | null}
 */
function metadataJson(value) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('user_metadata must be an object.');
  return JSON.stringify(value);
}

/** @param {unknown} err */
function isUniqueViolation(err) {
  return err instanceof Error && /** @type {{ code?: string }} */ (err).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Inserts one account (the password already hashed). Throws when the email or username is taken.
 * @param {import('better-sqlite3').Database} db
 * @param {string} tenant
 * @param {Record<string, unknown>} user
 * @param {string} hash
 * @returns {AccountRow}
 */
function insertAccount(db, tenant, user, hash) {
  const email = optionalText(user.email, 'email');
  if (!email) throw new Error('An email is required.');
  const username = optionalText(user.username, 'username');
  const appMetadata = /** @type {{ plan?: unknown } | undefined} */ (user.app_metadata);
  const plan = optionalText(user.plan ?? appMetadata?.plan, 'plan');
  try {
    const info = db
      .prepare(
        `INSERT INTO accounts (tenant, mail, mail_confirmed, login, pass_bcrypt, full_name, first_name,
           last_name, nick, avatar_url, mobile, mobile_confirmed, prefs_json, plan)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        tenant,
        email,
        user.email_verified === true ? 1 : 0,
        username,
        hash,
        optionalText(user.name, 'name'),
        optionalText(user.given_name, 'given_name'),
        optionalText(user.family_name, 'family_name'),
        optionalText(user.nickname, 'nickname'),
        optionalText(user.picture, 'picture'),
        optionalText(user.phone_number, 'phone_number'),
        user.phone_verified === true ? 1 : 0,
        metadataJson(user.user_metadata),
        plan,
      );
    return /** @type {AccountRow} */ (
      db.prepare('SELECT * FROM accounts WHERE account_id = ?').get(info.lastInsertRowid)
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw new Error('The user already exists (email or username taken).');
    throw err;
  }
}

/**
 * The five scripts of one demo connection; `tenant` keeps its users apart from other connections'
 * users in the same file. Every call opens LEGACY_DB_PATH as it is at that moment.
 * @param {string} tenant
 */
export function makeScripts(tenant) {
  if (typeof tenant !== 'string' || tenant === '') throw new TypeError('makeScripts needs a tenant name.');
  return {
    /**
     * The profile when `identifier` (email or username) and `password` match, otherwise null.
     * @param {string} identifier
     * @param {string} password
     * @returns {Promise<LegacyProfile | null>}
     */
    async login(identifier, password) {
      const row = findAccount(openLegacyDatabase(), tenant, identifier);
      if (!row || !isUsablePassword(password)) return null;
      const ok = await bcryptVerify({ password, hash: row.pass_bcrypt });
      return ok ? toProfile(row) : null;
    },

    /**
     * The profile of the user whose email or username is `identifier`, or null.
     * @param {string} identifier
     * @returns {Promise<LegacyProfile | null>}
     */
    async getUser(identifier) {
      const row = findAccount(openLegacyDatabase(), tenant, identifier);
      return row ? toProfile(row) : null;
    },

    /**
     * Creates a user; throws when the email or username is taken.
     * @param {Record<string, unknown>} user email, password and optional profile fields
     * @returns {Promise<LegacyProfile>}
     */
    async create(user) {
      if (!user || typeof user !== 'object') throw new Error('create needs a user.');
      const hash = await hashPassword(user.password);
      return toProfile(insertAccount(openLegacyDatabase(), tenant, user, hash));
    },

    /**
     * @param {string} identifier the user's current email (or username)
     * @param {string} newPassword
     * @returns {Promise<true>}
     */
    async changePassword(identifier, newPassword) {
      const hash = await hashPassword(newPassword);
      const db = openLegacyDatabase();
      const row = findAccount(db, tenant, identifier);
      if (!row) throw new Error('No such user.');
      db.prepare('UPDATE accounts SET pass_bcrypt = ? WHERE account_id = ?').run(hash, row.account_id);
      return true;
    },

    /**
     * Sets the email and its verified flag (the same email with another flag is fine).
     * @param {string} identifier the user's current email (or username)
     * @param {string} newEmail
     * @param {boolean} verified
     * @returns {Promise<true>}
     */
    async changeEmail(identifier, newEmail, verified) {
      if (typeof newEmail !== 'string' || newEmail === '') throw new Error('A new email is required.');
      const db = openLegacyDatabase();
      const row = findAccount(db, tenant, identifier);
      if (!row) throw new Error('No such user.');
      const holder = findByMail(db, tenant, newEmail);
      if (holder && holder.account_id !== row.account_id) throw new Error('The email is already taken.');
      try {
        db.prepare('UPDATE accounts SET mail = ?, mail_confirmed = ? WHERE account_id = ?').run(
          newEmail,
          verified === true ? 1 : 0,
          row.account_id,
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new Error('The email is already taken.');
        throw err;
      }
      return true;
    },
  };
}

/**
 * Seeds accounts into the file at `path` for `tenant`, skipping those whose email already exists
 * there (so seeding twice is harmless). Returns how many were inserted.
 * @param {string} path
 * @param {string} tenant
 * @param {SeedAccount[]} accounts
 * @param {{ bcryptCost?: number }} [options]
 */
export async function seedLegacyAccounts(path, tenant, accounts, { bcryptCost = DEFAULT_BCRYPT_COST } = {}) {
  const db = openLegacyDatabase(path);
  const fresh = accounts.filter((account) => !findByMail(db, tenant, account.email));
  const hashes = await Promise.all(fresh.map((account) => hashPassword(account.password, bcryptCost)));
  const insertAll = db.transaction(() => {
    let inserted = 0;
    fresh.forEach((account, i) => {
      // Checked again: the list itself may name an email twice.
      if (findByMail(db, tenant, account.email)) return;
      insertAccount(db, tenant, account, /** @type {string} */ (hashes[i]));
      inserted++;
    });
    return inserted;
  });
  return insertAll();
}

/**
 * Changes an account directly in the legacy database, as the customer would (tests use it to
 * simulate a change made outside the gateway). `changes` uses Auth0's names: email, email_verified,
 * username, name, given_name, family_name, nickname, picture, phone_number, phone_verified,
 * user_metadata, plan (or app_metadata: { plan }), password. A null clears a nullable column.
 * Resolves to the updated profile; throws when there is no such account or a key is unknown.
 * @param {string} path
 * @param {string} tenant
 * @param {string} email the account's current email
 * @param {Record<string, unknown>} changes
 * @param {{ bcryptCost?: number }} [options]
 * @returns {Promise<LegacyProfile>}
 */
export async function updateLegacyAccount(
  path,
  tenant,
  email,
  changes,
  { bcryptCost = DEFAULT_BCRYPT_COST } = {},
) {
  /** @type {string[]} */
  const sets = [];
  /** @type {unknown[]} */
  const values = [];
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (key in TEXT_COLUMNS) {
      const column = TEXT_COLUMNS[/** @type {keyof typeof TEXT_COLUMNS} */ (key)];
      const text = optionalText(value, key);
      if (text === null && column === 'mail') throw new Error('email cannot be cleared.');
      sets.push(`${column} = ?`);
      values.push(text);
    } else if (key in FLAG_COLUMNS) {
      sets.push(`${FLAG_COLUMNS[/** @type {keyof typeof FLAG_COLUMNS} */ (key)]} = ?`);
      values.push(value === true ? 1 : 0);
    } else if (key === 'user_metadata') {
      sets.push('prefs_json = ?');
      values.push(metadataJson(value));
    } else if (key === 'app_metadata') {
      sets.push('plan = ?');
      values.push(optionalText(/** @type {{ plan?: unknown } | null} */ (value)?.plan, 'app_metadata.plan'));
    } else if (key === 'password') {
      sets.push('pass_bcrypt = ?');
      values.push(await hashPassword(value, bcryptCost));
    } else {
      throw new Error(`updateLegacyAccount: unknown field "${key}".`);
    }
  }
  const db = openLegacyDatabase(path);
  const row = findByMail(db, tenant, email);
  if (!row) throw new Error(`No legacy account ${email} for ${tenant}.`);
  if (sets.length > 0) {
    try {
      db.prepare(`UPDATE accounts SET ${sets.join(', ')} WHERE account_id = ?`).run(
        ...values,
        row.account_id,
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new Error('The email or username is already taken.');
      throw err;
    }
  }
  return toProfile(
    /** @type {AccountRow} */ (db.prepare('SELECT * FROM accounts WHERE account_id = ?').get(row.account_id)),
  );
}

/**
 * The profile of the account with this email, or null (no password hash in it).
 * @param {string} path
 * @param {string} tenant
 * @param {string} email
 * @returns {LegacyProfile | null}
 */
export function readLegacyAccount(path, tenant, email) {
  const row = findByMail(openLegacyDatabase(path), tenant, email);
  return row ? toProfile(row) : null;
}

// `npm run export -- --connection NAME [--out FILE]`: a connection's users as NDJSON in the
// import format (no password hashes: they never leave the store), page by page.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError } from '../app/errors.js';
import { findConnection } from '../app/lookup.js';
import { systemContext } from '../app/system.js';
import { ConfigError, loadConfig } from '../config.js';
import { ScriptRegistry } from '../connectors/custom-db.js';
import { openStore } from '../store/index.js';
import type { UserRow } from '../store/types.js';
import { CAMEL_NAMES } from '../domain/names.js';

/** A stored user as an import record. */
export function exportRecord(u: UserRow): Record<string, unknown> {
  const record: Record<string, unknown> = { user_id: u.id.replace(/^auth0\|/, ''), email: u.email, email_verified: u.emailVerified };
  for (const field of ['username', 'phone_number', 'name', 'nickname', 'given_name', 'family_name', 'picture'] as const) {
    const value = u[CAMEL_NAMES[field]];
    if (value !== null) record[field] = value;
  }
  if (u.phoneNumber !== null) record.phone_verified = u.phoneVerified;
  if (u.blocked) record.blocked = true;
  if (Object.keys(u.userMetadata).length > 0) record.user_metadata = u.userMetadata;
  if (Object.keys(u.appMetadata).length > 0) record.app_metadata = u.appMetadata;
  return record;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { connection: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } } });
  if (values.help || !values.connection) {
    console.log('Usage: npm run export -- --connection NAME [--out FILE]   (NDJSON; stdout without --out)');
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfig();
  const store = await openStore(config);
  const ctx = systemContext(store, new ScriptRegistry(config.customDbScriptsDir, config.customDbScriptTimeoutMs), 'cli:export', config.tickets);
  const out: NodeJS.WritableStream = values.out ? createWriteStream(values.out, { encoding: 'utf8', mode: 0o600 }) : process.stdout;
  let count = 0;
  try {
    const connection = await findConnection(ctx, values.connection);
    if (!connection) throw new ConfigError(`No connection ${values.connection}.`);
    let after: string | null = null;
    for (;;) {
      const page = await store.connections.usersPage(connection.id, { first: 1000, after });
      if (page.length === 0) break;
      for (const user of page) {
        // Respect back-pressure so a million users stream in bounded memory.
        if (!out.write(`${JSON.stringify(exportRecord(user))}\n`)) await once(out, 'drain');
        count += 1;
      }
      after = page.at(-1)?.id ?? null;
    }
  } finally {
    if (out !== process.stdout) await new Promise<void>((resolve) => out.end(() => resolve()));
    await store.close();
  }
  process.stderr.write(`Exported ${count} users.\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError || err instanceof AppError ? err.message : err);
  process.exit(1);
});

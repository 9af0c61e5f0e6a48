#!/usr/bin/env node
// `npm run legacy -- …`: look at and change the demo's legacy database directly, as its owner
// would, to watch the gateway's cache follow (or, for migrated users, not follow) at the next login.
//   npm run legacy -- show EMAIL [--tenant legacy-db]
//   npm run legacy -- set EMAIL name="Lena L." given_name=Lena [--tenant legacy-db]
// The tenant is the connection whose script reaches the account: legacy-db or legacy-import.
import { parseArgs } from 'node:util';
import { closeLegacyDatabases, legacyDatabasePath, readLegacyAccount, updateLegacyAccount } from './legacy-database.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tenant: { type: 'string', default: 'legacy-db' } },
});
const [command, email, ...assignments] = positionals;
const path = process.env.LEGACY_DB_PATH ?? legacyDatabasePath();

try {
  if (command === 'show' && email) {
    console.log(JSON.stringify(readLegacyAccount(path, values.tenant, email), null, 2));
  } else if (command === 'set' && email && assignments.length > 0) {
    const changes = Object.fromEntries(
      assignments.map((a) => {
        const at = a.indexOf('=');
        if (at < 1) throw new Error(`"${a}" is not key=value`);
        return [a.slice(0, at), a.slice(at + 1)];
      }),
    );
    console.log(JSON.stringify(await updateLegacyAccount(path, values.tenant, email, changes), null, 2));
  } else {
    console.log('Usage: npm run legacy -- show EMAIL | set EMAIL key=value… [--tenant legacy-db|legacy-import]');
    process.exitCode = 2;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
} finally {
  closeLegacyDatabases();
}

// Issue 6's figures: records per second through the import CLI (importUsers, batches of 500 in
// transactions) into a fresh connection, and the CLI's peak memory streaming a large NDJSON file.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createConnection } from '../../src/app/connections.js';
import { systemContext } from '../../src/app/system.js';
import { ScriptRegistry } from '../../src/connectors/custom-db.js';
import { openStore } from '../../src/store/index.js';
import { runMeasured } from './proc.js';

export interface ImportFigures {
  records: number;
  inserted: number;
  failed: number;
  /** The CLI's own elapsed time (from its summary line): reading, checking and writing. */
  cliSeconds: number;
  /** Including process start (tsx, migrations check). */
  wallSeconds: number;
  recordsPerSecond: number;
  fileMb: number;
  maxRssMb: number;
  rssMeasuredWith: string;
  /** VmRSS of the CLI as the import goes (records done → MB), about a dozen points. */
  rssSamples: { records: number; rssMb: number }[];
}

/** A valid-format bcrypt hash (cost 10): imported as is, verified at the user's first login. */
const BCRYPT = '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy';

/** Writes `count` Auth0 bulk-import records, one JSON object a line, with backpressure. */
export async function writeNdjson(file: string, count: number, prefix: string): Promise<number> {
  const out = createWriteStream(file, { encoding: 'utf8' });
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const line = `${JSON.stringify({
      user_id: `${prefix}${i.toString(16).padStart(16, '0')}`,
      email: `${prefix}${i}@import.example`,
      email_verified: i % 2 === 0,
      name: `Imported User ${i}`,
      given_name: 'Imported',
      family_name: `User ${i}`,
      nickname: `imp${i}`,
      picture: `https://avatars.example.com/imp/${i}.png`,
      user_metadata: { source: 'legacy-crm', tier: i % 3, language: i % 2 === 0 ? 'en' : 'fr' },
      app_metadata: { plan: i % 10 === 0 ? 'pro' : 'basic', legacy_id: i },
      password_hash: BCRYPT,
    })}\n`;
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bytes / (1024 * 1024);
}

/** DATABASE_URL for `database`: a SQLite file's path or a postgres://… URL. */
export const databaseUrlOf = (database: string) => (database.startsWith('postgres://') ? database : `file:${database}`);

/**
 * A new own-store DATABASE connection (no usernames) to import into; creates and migrates the
 * database if new. `database`: a SQLite file's path or a postgres://… URL.
 */
export async function createImportConnection(database: string, name: string, pseudonymSecret?: string): Promise<void> {
  const pgUrl = database.startsWith('postgres://') ? database : null;
  const store = await openStore({ databasePath: pgUrl ? '' : database, databaseUrl: pgUrl, pseudonymSecret: pseudonymSecret ?? null });
  try {
    const ctx = systemContext(store, new ScriptRegistry('scripts', 5000), 'bench:bulk');
    const { connection, userErrors } = await createConnection(ctx, { name, kind: 'DATABASE' });
    if (!connection) throw new Error(`bench: connection ${name}: ${JSON.stringify(userErrors)}`);
  } finally {
    await store.close();
  }
}

/** `node --import tsx src/cli/import.ts --connection NAME FILE`, its peak RSS and its rate. */
export async function runImportCli(opts: {
  cwd: string;
  /** A SQLite file's path or a postgres://… URL. */
  dbPath: string;
  /** PSEUDONYM_SECRET for the CLI (the bench passes its own on PostgreSQL). */
  pseudonymSecret?: string;
  connection: string;
  file: string;
  records: number;
  fileMb: number;
  /** The import command of the tree measured (default: this tree's CLI under tsx). */
  cli?: { command: string; args: string[] };
}): Promise<ImportFigures> {
  // The CLI prints "N records … R/s" every 2 s when stderr is not a terminal: pair them with RSS samples.
  const started = performance.now();
  const progress: { seconds: number; records: number }[] = [];
  let partial = '';
  const cli = opts.cli ?? { command: process.execPath, args: ['--import', 'tsx', 'src/cli/import.ts'] };
  const run = await runMeasured(
    cli.command,
    [...cli.args, '--connection', opts.connection, '--errors', `${opts.file}.errors`, opts.file],
    {
      cwd: opts.cwd,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrlOf(opts.dbPath),
        NODE_ENV: 'production',
        ...(opts.pseudonymSecret ? { PSEUDONYM_SECRET: opts.pseudonymSecret } : {}),
      },
      sampleMs: 500,
      onStderr: (text) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const m = /^(\d+) records/.exec(line);
          if (m) progress.push({ seconds: (performance.now() - started) / 1000, records: Number(m[1]) });
        }
      },
    },
  );
  const summary = /Inserted (\d+), updated (\d+), unchanged (\d+), failed (\d+) in ([\d.]+) s\./.exec(run.stdout);
  if (run.code !== 0 || !summary) {
    throw new Error(`import CLI failed (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
  }
  const inserted = Number(summary[1]);
  const cliSeconds = Number(summary[5]);
  return {
    records: opts.records,
    inserted,
    failed: Number(summary[4]),
    cliSeconds,
    wallSeconds: run.seconds,
    recordsPerSecond: opts.records / cliSeconds,
    fileMb: opts.fileMb,
    maxRssMb: run.maxRssMb,
    rssMeasuredWith: run.how,
    rssSamples: pairSamples(run.samples, progress, inserted),
  };
}

/** Each RSS sample with the records done by then (from the progress lines), thinned to about a dozen points. */
function pairSamples(
  samples: { seconds: number; rssMb: number }[],
  progress: { seconds: number; records: number }[],
  total: number,
): { records: number; rssMb: number }[] {
  if (samples.length === 0) return [];
  const paired = samples.map((s) => {
    let records = 0;
    for (const p of progress) if (p.seconds <= s.seconds) records = p.records;
    return { records, rssMb: Math.round(s.rssMb) };
  });
  const last = paired[paired.length - 1] as { records: number; rssMb: number };
  last.records = total;
  const step = Math.max(1, Math.ceil(paired.length / 12));
  const thinned = paired.filter((_, i) => i % step === 0);
  if (thinned[thinned.length - 1] !== last) thinned.push(last);
  return thinned;
}

// `npm run import -- --connection NAME FILE [--upsert] [--dry-run] [--errors FILE] [--batch N]`:
// streams a JSON array or NDJSON file of users into a database connection, with a progress bar on
// a terminal (plain lines otherwise), a summary, and an error report (one NDJSON line per failed
// record: index, code, message). Batches are transactions: a crash loses at most the batch in
// flight, and re-running with --upsert completes the import without changing what is there.
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { importUsers, type ImportSummary } from '../app/bulk.js';
import { AppError } from '../app/errors.js';
import { systemContext } from '../app/system.js';
import { ConfigError, loadConfig } from '../config.js';
import { ScriptRegistry } from '../connectors/custom-db.js';
import { openStore } from '../store/index.js';
import { readRecords } from './records.js';

const USAGE = 'Usage: npm run import -- --connection NAME FILE [--upsert] [--dry-run] [--errors FILE] [--batch N]';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      connection: { type: 'string' },
      upsert: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      errors: { type: 'string' },
      batch: { type: 'string', default: '500' },
      help: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (values.help || !values.connection || !file) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) throw new ConfigError('--batch is from 1 to 5000.');
  const config = loadConfig();
  const store = await openStore(config);
  const ctx = systemContext(store, new ScriptRegistry(config.customDbScriptsDir, config.customDbScriptTimeoutMs), 'cli:import', config.tickets);
  const errorsFile = values.errors ?? `${file}.errors.ndjson`;
  const report = createWriteStream(errorsFile, { encoding: 'utf8' });
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let lastLine = 0;
  const progress = (done: number, s: ImportSummary) => {
    const rate = Math.round(done / Math.max((Date.now() - started) / 1000, 0.001));
    const text = `${done} records  ${s.inserted} inserted  ${s.updated} updated  ${s.unchanged} unchanged  ${s.failed} failed  ${rate}/s`;
    if (tty) process.stderr.write(`\r\x1b[2K${text}`);
    else if (Date.now() - lastLine > 2000) {
      lastLine = Date.now();
      process.stderr.write(`${text}\n`);
    }
  };
  try {
    const summary = await importUsers(ctx, readRecords(file), {
      connection: values.connection,
      upsert: values.upsert,
      dryRun: values['dry-run'],
      batchSize,
      keepErrors: 0,
      onError: (e) => report.write(`${JSON.stringify(e)}\n`),
      onProgress: progress,
    });
    if (tty) process.stderr.write('\n');
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `${values['dry-run'] ? 'Dry run: nothing written. ' : ''}Inserted ${summary.inserted}, updated ${summary.updated}, unchanged ${summary.unchanged}, failed ${summary.failed} in ${seconds.toFixed(1)} s.`,
    );
    if (summary.failed > 0) console.log(`Errors: ${errorsFile}`);
  } finally {
    await new Promise<void>((resolve) => report.end(resolve));
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError || err instanceof AppError ? err.message : err);
  process.exit(1);
});

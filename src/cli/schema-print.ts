// `npm run schema:print [-- --check]`: writes the whole SDL of schema/*.graphql, as the server
// builds it, to schema.graphql at the root: the one file clients generate their types from.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printSchema } from 'graphql';
import { PROJECT_ROOT } from '../config.js';
import { buildBareSchema } from '../graphql/schema.js';

export const PUBLISHED_SCHEMA_PATH = join(PROJECT_ROOT, 'schema.graphql');

const HEADER =
  '# The published schema of the profile gateway, printed from schema/*.graphql.\n' +
  '# Generated: do not edit; run `npm run schema:print` after changing schema/.\n\n';

/** The published schema's text: what `schema.graphql` must hold. */
export function printPublishedSchema(): string {
  return `${HEADER}${printSchema(buildBareSchema())}\n`;
}

function main(): void {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const text = printPublishedSchema();
  if (values.check) {
    let current = '';
    try {
      current = readFileSync(PUBLISHED_SCHEMA_PATH, 'utf8');
    } catch {
      // A missing file is stale too.
    }
    if (current !== text) {
      console.error('schema.graphql is stale: run npm run schema:print');
      process.exit(1);
    }
    console.log('schema.graphql is up to date.');
    return;
  }
  writeFileSync(PUBLISHED_SCHEMA_PATH, text);
  console.log(`Wrote ${PUBLISHED_SCHEMA_PATH}`);
}

// Runs as a command; importing the module (the test does) only exposes printPublishedSchema.
if (process.argv[1] === fileURLToPath(import.meta.url)) main();

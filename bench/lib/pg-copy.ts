// The bench's tenant on PostgreSQL: the SQLite tenant (bench/lib/tenant.ts) copied row for row into
// a migrated PostgreSQL schema, so both stores are measured on the same users, identities,
// memberships, organizations and connections. Each table goes over in batches of JSON rows
// (`json_populate_recordset`), with SQLite's representations turned into PostgreSQL's: 0/1 into
// booleans, epoch milliseconds into timestamptz, JSON text into jsonb.
import Database from 'better-sqlite3';
import pg from 'pg';

/** Parents before children (foreign keys); any other table with rows follows. */
const ORDER = ['connections', 'organizations', 'organization_connections', 'users', 'identities', 'memberships'];
const BATCH = 5000;

interface Column {
  name: string;
  type: string;
  identity: boolean;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function converter(type: string): (value: unknown) => unknown {
  switch (type) {
    case 'timestamp with time zone':
      return (v) => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
    case 'boolean':
      return (v) => (v === null || v === undefined ? null : v === 1 || v === true || v === '1');
    case 'jsonb':
    case 'json':
      return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
    default:
      return (v) => v;
  }
}

/**
 * Copies every non-empty table of the SQLite file at `sqlitePath` into the (migrated, empty) schema
 * that `pgUrl`'s search_path names. Returns the rows copied per table.
 */
export async function copySqliteToPg(sqlitePath: string, pgUrl: string): Promise<Record<string, number>> {
  const lite = new Database(sqlitePath, { readonly: true });
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  const copied: Record<string, number> = {};
  try {
    const liteTables = (
      lite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations'").all() as { name: string }[]
    ).map((r) => r.name);
    const pgColumns = (
      await client.query<{ table_name: string; column_name: string; data_type: string; is_identity: string }>(
        `SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns
          WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
      )
    ).rows;
    const columnsOf = new Map<string, Column[]>();
    for (const c of pgColumns) {
      const list = columnsOf.get(c.table_name) ?? [];
      list.push({ name: c.column_name, type: c.data_type, identity: c.is_identity === 'YES' });
      columnsOf.set(c.table_name, list);
    }
    const tables = [...ORDER.filter((t) => liteTables.includes(t)), ...liteTables.filter((t) => !ORDER.includes(t)).sort()];
    await client.query('BEGIN');
    for (const table of tables) {
      const count = (lite.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;
      if (count === 0) continue;
      const target = columnsOf.get(table);
      if (!target) throw new Error(`bench: table ${table} has rows on SQLite and no PostgreSQL counterpart`);
      const liteColumns = new Set((lite.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name));
      const columns = target.filter((c) => liteColumns.has(c.name));
      const missing = [...liteColumns].filter((n) => !target.some((c) => c.name === n));
      if (missing.length) throw new Error(`bench: ${table}.${missing.join(', ')} on SQLite has no PostgreSQL column`);
      const convert = columns.map((c) => converter(c.type));
      const names = columns.map((c) => quote(c.name)).join(', ');
      const overriding = columns.some((c) => c.identity) ? ' OVERRIDING SYSTEM VALUE' : '';
      const insert = `INSERT INTO ${quote(table)} (${names})${overriding} SELECT ${names} FROM json_populate_recordset(null::${quote(table)}, $1::json)`;
      let batch: Record<string, unknown>[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        await client.query(insert, [JSON.stringify(batch)]);
        batch = [];
      };
      for (const row of lite.prepare(`SELECT ${names} FROM ${quote(table)}`).iterate() as Iterable<Record<string, unknown>>) {
        const out: Record<string, unknown> = {};
        columns.forEach((c, i) => {
          out[c.name] = (convert[i] as (v: unknown) => unknown)(row[c.name]);
        });
        batch.push(out);
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      // Identity columns given explicitly: the next generated value follows the copied ones.
      for (const c of columns.filter((col) => col.identity)) {
        await client.query(
          `SELECT setval(pg_get_serial_sequence($1, $2), (SELECT coalesce(max(${quote(c.name)}), 0) + 1 FROM ${quote(table)}), false)`,
          [table, c.name],
        );
      }
      const pgCount = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}`)).rows[0]?.n);
      if (pgCount !== count) throw new Error(`bench: ${table}: ${count} rows on SQLite, ${pgCount} copied`);
      copied[table] = count;
    }
    await client.query('COMMIT');
    // Fresh statistics, as a server that had these rows for a while would have.
    for (const table of Object.keys(copied)) await client.query(`ANALYZE ${quote(table)}`);
    return copied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
    lite.close();
  }
}

/** The size of the schema's tables and indexes, in MB. */
export async function pgSchemaMb(pgUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS bytes FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`,
    );
    return Number(rows[0]?.bytes ?? 0) / (1024 * 1024);
  } finally {
    await client.end();
  }
}

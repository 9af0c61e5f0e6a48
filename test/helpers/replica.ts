// A streaming replica of the machine's PostgreSQL, started by a test (#15, read replicas):
// pg_basebackup of the primary into a temporary cluster, run as the `postgres` OS user on its own
// port, stopped and removed by `stop()`. The primary must accept replication connections from
// 127.0.0.1: when its pg_hba.conf has no `replication` rule, one (trust, 127.0.0.1 only) is appended
// and the configuration reloaded — the only change made to the machine's server.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const PRIMARY = 'postgres://postgres@127.0.0.1:5432/test';

function pgBin(name: string): string {
  for (const base of ['/usr/lib/postgresql']) {
    if (!existsSync(base)) continue;
    for (const version of readdirSync(base).sort().reverse()) {
      const p = join(base, version, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return name;
}

function asPostgres(bin: string, args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function onPrimary<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PRIMARY });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Makes sure the primary lets 127.0.0.1 open replication connections. */
async function allowReplication(): Promise<void> {
  await onPrimary(async (c) => {
    const rules = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND error IS NULL");
    if (Number(rules.rows[0]?.n) > 0) return;
    const file = (await c.query<{ hba_file: string }>('SHOW hba_file')).rows[0]?.hba_file;
    if (!file) throw new Error('the primary does not say where its pg_hba.conf is');
    appendFileSync(file, '\nhost replication all 127.0.0.1/32 trust\n');
    await c.query('SELECT pg_reload_conf()');
  });
}

export interface Replica {
  /** postgres://… of the replica (database `test`). */
  url: string;
  /** Pauses WAL replay: the replica's data stops where it is. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Waits until the replica has replayed everything the primary had written when called. */
  catchUp(): Promise<void>;
  stop(): Promise<void>;
}

export async function startReplica(port = 5433): Promise<Replica> {
  await allowReplication();
  const dir = mkdtempSync(join(tmpdir(), 'gateway-replica-'));
  const data = join(dir, 'data');
  const log = join(dir, 'replica.log');
  const { uid, gid } = { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()) };
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  // -c fast: the backup starts at once instead of waiting for a spread checkpoint.
  asPostgres(pgBin('pg_basebackup'), ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '-c', 'fast']);
  // Debian keeps postgresql.conf and pg_hba.conf outside the data directory, so the copy has
  // neither: the replica gets its own (trust on 127.0.0.1 only, as the primary here).
  for (const [name, text] of [
    ['postgresql.conf', 'hot_standby = on\n'],
    ['pg_hba.conf', 'local all all trust\nhost all all 127.0.0.1/32 trust\n'],
  ] as const) {
    const file = join(data, name);
    if (existsSync(file)) continue;
    writeFileSync(file, text);
    chownSync(file, uid, gid);
  }
  asPostgres(pgBin('pg_ctl'), ['-D', data, '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c hot_standby=on -c unix_socket_directories=${dir}`, '-l', log, '-w', 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/test`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const replica: Replica = {
    url,
    async pause() {
      await client.query('SELECT pg_wal_replay_pause()');
    },
    async resume() {
      await client.query('SELECT pg_wal_replay_resume()');
    },
    async catchUp() {
      const lsn = await onPrimary(async (c) => (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]?.l);
      for (let i = 0; i < 200; i += 1) {
        const r = await client.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]);
        if (r.rows[0]?.ok) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the replica did not catch up in 10 s');
    },
    async stop() {
      await client.end().catch(() => undefined);
      try {
        asPostgres(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return replica;
}

// Several gateway processes on one database: what `npm run cluster` starts and the cluster tests
// drive. Each instance is `src/cli/start.ts` in a process of its own, on a port of its own, all
// with the same DATABASE_URL and the same token secret (any instance accepts any instance's token).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface Instance {
  index: number;
  url: string;
  child: ChildProcess;
  /** Everything the process printed (its JSON log and the start banner). */
  output(): string;
}

export interface Cluster {
  instances: Instance[];
  secret: string;
  /** Starts one more instance (or again at `index`, after a kill) on the same database. */
  start(index?: number): Promise<Instance>;
  /** kill -9: no drain, no close. */
  kill(index: number): void;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  databaseUrl: string;
  /** Added to every instance's environment. */
  env?: Record<string, string>;
  /** Fixed ports from here (the CLI); 0 in tests (each instance picks a free one). */
  basePort?: number;
  /** Where each instance's dev files (legacy database, outbox log) go. */
  dir?: string;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const secret = opts.env?.AUTH_JWT_SECRET ?? randomBytes(32).toString('base64url');
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gateway-cluster-'));
  const instances: Instance[] = [];

  async function start(index = instances.length): Promise<Instance> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      SEED_DEMO: '0',
      LOG_LEVEL: 'info',
      AUTH_ISSUER: 'https://issuer.test/',
      AUTH_AUDIENCE: 'profile-gateway',
      OUTBOX_FILE: join(dir, `outbox-${index}.log`),
      LEGACY_DB_PATH: join(dir, 'legacy.db'),
      ...opts.env,
      DATABASE_URL: opts.databaseUrl,
      AUTH_JWT_SECRET: secret,
      PORT: String(opts.basePort ? opts.basePort + index : 0),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/start.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    // The start (where the migration and listening lines are) is kept; a long run's request log is not.
    const keep = (d: unknown) => {
      if (out.length < 256 * 1024) out += String(d);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const began = Date.now();
    let url: string | undefined;
    // The listening log line, or (at a LOG_LEVEL above info) the banner's curl example.
    while (!(url = /"event":"listening","url":"(http:[^"]+)"/.exec(out)?.[1] ?? /curl -s (http:\/\/\S+\/graphql)/.exec(out)?.[1])) {
      if (child.exitCode !== null || Date.now() - began > 60_000) {
        child.kill('SIGKILL');
        throw new Error(`instance ${index} did not start:\n${out.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const instance: Instance = { index, url, child, output: () => out };
    instances[index] = instance;
    return instance;
  }

  const cluster: Cluster = {
    instances,
    secret,
    start,
    kill(index) {
      instances[index]?.child.kill('SIGKILL');
    },
    async stop() {
      await Promise.all(
        instances.map(
          (i) =>
            new Promise<void>((done) => {
              if (!i || i.child.exitCode !== null || i.child.signalCode !== null) return done();
              i.child.once('exit', () => done());
              i.child.kill('SIGTERM');
              setTimeout(() => i.child.kill('SIGKILL'), 15_000).unref();
            }),
        ),
      );
    },
  };
  try {
    await Promise.all(Array.from({ length: opts.instances }, (_, i) => start(i)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

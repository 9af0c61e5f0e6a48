// The results file's shape and its markdown rendering.
import type { InProcessResult } from '../inprocess.js';
import type { WhatIfResult } from '../whatif.js';
import type { ImportFigures } from './bulk.js';
import type { LoadResult } from './load.js';
import type { ProfileSummary } from './profile.js';

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

/** The profile read through several gateway instances on one PostgreSQL database. */
export interface InstancesRow {
  instances: number;
  /** Connections in all, split evenly across the instances. */
  connections: number;
  /** Requests per second added up over the instances. */
  rps: number;
  requests: number;
  /** The slowest instance's percentiles: what a client behind a balancer may meet. */
  latencyMs: { p50: number; p90: number; p99: number };
  failures: number;
  /** CPU ms per request of each instance. */
  serverCpuMsPerRequest: number[];
  /** Every interleaved round's req/s (the row is the median round's). */
  roundsRps?: number[];
}

export interface BenchResults {
  version: 1;
  at: string;
  /** Which store the gateway ran on (absent in results written before there was a choice: SQLite). */
  store?: 'sqlite' | 'postgres';
  /** What this store's run left out, and why. */
  skipped?: string[];
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; platform: string };
  /** The commit measured and the source files that differed from it. */
  source: { commit: string | null; modified: string[] };
  options: Record<string, unknown>;
  tenant: { users: number; organizations: number; memberships: number; buildSeconds: number; dbMb: number };
  gateway: { idleRssMb: number; peakRssMb: number; peakHwmMb: number };
  http: LoadResult[];
  /** inProcess (F1, F2, statement counts): SQLite only. */
  floors: { f0: LoadResult[]; inProcess?: InProcessResult };
  instances?: InstancesRow[];
  ratios: {
    scenario1OverF0AtC50: number;
    scenario1OverF0AtC1: number;
    shieldExecuteRatio?: number;
    shieldTotalRatio?: number;
    shieldPageExecuteRatio?: number;
    p99Ms: Record<string, number>;
  };
  whatIf?: WhatIfResult;
  /** `note`: why the stream has fewer records than asked, if it has. */
  bulk: { import?: ImportFigures; stream?: ImportFigures & { note: string | null } };
  targets: Target[];
  profiles?: ProfileSummary[];
  seconds: number;
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

export function toMarkdown(r: BenchResults): string {
  const out: string[] = [];
  const storeName = r.store === 'postgres' ? 'PostgreSQL' : 'SQLite';
  out.push(`# Benchmark results: ${storeName}`);
  out.push('');
  out.push(
    `${r.at} · ${r.machine.cpus} × ${r.machine.cpuModel} · ${f(r.machine.memoryGb, 0)} GB · Node ${r.machine.node} · ` +
      `${int(r.tenant.users)} users, ${r.tenant.organizations} organizations, ${int(r.tenant.memberships)} memberships ` +
      `(built in ${f(r.tenant.buildSeconds)} s, ${f(r.tenant.dbMb, 0)} MB) · total ${f(r.seconds / 60)} min. ` +
      `Store: ${storeName}${r.store === 'postgres' ? ' (the server runs on the same machine)' : ' (in the gateway process)'}. ` +
      `Gateway${r.store === 'postgres' ? ', PostgreSQL' : ''} and load generator share the machine.`,
  );
  if (r.skipped?.length) {
    out.push('');
    out.push(`Not measured on this store: ${r.skipped.join('; ')}.`);
  }
  out.push('');
  out.push(
    `Source: commit ${r.source.commit?.slice(0, 12) ?? 'unknown'}${r.source.modified.length ? `, with uncommitted changes to ${r.source.modified.join(', ')}` : ' (clean)'}.`,
  );
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push('| target | goal | measured | met |');
  out.push('|---|---|---|---|');
  for (const t of r.targets) out.push(`| ${t.name} | ${t.goal} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  out.push('');
  out.push('## HTTP (autocannon)');
  out.push('');
  out.push('| run | conn. | req/s | p50 ms | p90 ms | p99 ms | errors | non-2xx | failed bodies | server CPU ms/req | server max RSS MB |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of [...r.http, ...r.floors.f0]) {
    out.push(
      `| ${l.name} | ${l.connections} | ${int(l.rps)} | ${f(l.latencyMs.p50, 2)} | ${f(l.latencyMs.p90, 2)} | ${f(l.latencyMs.p99, 2)} | ${l.errors + l.timeouts} | ${l.non2xx} | ${l.failedBodies} | ${f(l.serverCpuMsPerRequest, 3)} | ${f(l.serverMaxRssMb, 0)} |`,
    );
  }
  out.push('');
  out.push(
    `Gateway RSS: ${f(r.gateway.idleRssMb, 0)} MB idle after start, ${f(r.gateway.peakRssMb, 0)} MB at most while serving (VmHWM ${f(r.gateway.peakHwmMb, 0)} MB).`,
  );
  out.push('');
  if (r.instances?.length) {
    out.push('## Scenario 1 through several instances on one database');
    out.push('');
    out.push(
      'Fresh gateways (the compiled start, production) on the one database, connections split evenly across them, each instance loaded by its own autocannon at once; requests added up, the slowest instance\'s percentiles. ' +
        'The counts run in interleaved rounds; each row is the round with the median req/s (every round\'s req/s in the last column). ' +
        'Gateways, PostgreSQL and the load generator share this machine\'s cores: a second instance gets no core of its own.',
    );
    out.push('');
    out.push('| instances | conn. in all | req/s | p50 ms | p90 ms | p99 ms | failures | server CPU ms/req (each) | req/s of each round |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const i of r.instances) {
      out.push(
        `| ${i.instances} | ${i.connections} | ${int(i.rps)} | ${f(i.latencyMs.p50, 2)} | ${f(i.latencyMs.p90, 2)} | ${f(i.latencyMs.p99, 2)} | ${i.failures} | ${i.serverCpuMsPerRequest.map((c) => f(c, 3)).join(' / ')} | ${i.roundsRps?.join(', ') ?? '–'} |`,
      );
    }
    out.push('');
  }
  const ip = r.floors.inProcess;
  out.push('## Floors and ratios');
  out.push('');
  out.push('| measure | value |');
  out.push('|---|---|');
  out.push(`| scenario 1 ÷ F0, 50 connections | ${f(r.ratios.scenario1OverF0AtC50 * 100)} % |`);
  out.push(`| scenario 1 ÷ F0, 1 connection | ${f(r.ratios.scenario1OverF0AtC1 * 100)} % |`);
  if (ip) floorRows(out, ip);
  out.push('');
  whatIfAndBulk(out, r);
  return out.join('\n');
}

function floorRows(out: string[], ip: InProcessResult): void {
  const p = ip.f1.profile;
  out.push(`| F1 scenario 1 execute(), bare schema | ${f(p.bare.executeUs)} µs (+ ${f(p.bare.contextUs)} µs buildContext) |`);
  out.push(`| F1 scenario 1 execute(), shield | ${f(p.shield.executeUs)} µs (+ ${f(p.shield.contextUs)} µs buildContext) |`);
  out.push(`| shield ÷ bare, execute() | ${f(p.executeRatio, 2)}× (with buildContext: ${f(p.totalRatio, 2)}×) |`);
  const g = ip.f1.page;
  out.push(`| F1 scenario 2 (page of 100) execute(), bare → shield | ${f(g.bare.executeUs / 1000, 2)} ms → ${f(g.shield.executeUs / 1000, 2)} ms (${f(g.executeRatio, 2)}×) |`);
  out.push(`| F2 raw prepared statement, one user by id | ${f(ip.f2.rawUserByIdUs, 2)} µs (${int(ip.f2.rawUserByIdOpsPerSec)}/s) |`);
  out.push(`| the same read through the store (drizzle) | ${f(ip.f2.storeUserByIdUs, 2)} µs |`);
  out.push(`| raw \`SELECT count(*) FROM users\` (totalCount) | ${f(ip.f2.rawCountUsersUs, 0)} µs |`);
  out.push(`| raw page of 100 users / through the store (count + page) | ${f(ip.f2.rawPageOf100Us, 0)} µs / ${f(ip.f2.storeListPageOf100Us, 0)} µs |`);
  out.push(
    `| SQL statements per request (profile / page / updateUser / recordLogin) | ${ip.statements.profile.count} / ${ip.statements.page.count} / ${ip.statements.update.count} / ${ip.statements.login.count} |`,
  );
}

function whatIfAndBulk(out: string[], r: BenchResults): void {
  if (r.whatIf) {
    out.push('## What-if: the proposed fixes, measured in-process (Apollo pipeline, no socket)');
    out.push('');
    out.push('| variant (each adds to the one above) | scenario 1 µs/req | allocated KB/req | page of 100 ms/req | allocated MB/req |');
    out.push('|---|---|---|---|---|');
    for (const v of r.whatIf.variants) {
      out.push(`| ${v.name} | ${f(v.profileUs, 0)} | ${f(v.profileAllocatedKb, 0)} | ${f(v.pageUs / 1000, 1)} | ${f(v.pageAllocatedMb, 1)} |`);
    }
    out.push('');
  }
  out.push('## Bulk import (CLI)');
  out.push('');
  out.push('| run | records | file MB | records/s | CLI s | wall s | failed | peak RSS MB |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const [name, b] of [
    ['import into a fresh connection of the tenant', r.bulk.import],
    [r.store === 'postgres' ? 'stream into a new schema' : 'stream into a new database', r.bulk.stream],
  ] as const) {
    if (!b) continue;
    out.push(
      `| ${name} | ${int(b.records)} | ${f(b.fileMb, 0)} | ${int(b.recordsPerSecond)} | ${f(b.cliSeconds)} | ${f(b.wallSeconds)} | ${b.failed} | ${f(b.maxRssMb, 0)} |`,
    );
  }
  if (r.bulk.stream?.note) {
    out.push('');
    out.push(`Stream size: ${r.bulk.stream.note}.`);
  }
  if (r.bulk.stream?.rssSamples.length) {
    out.push('');
    out.push(
      `RSS of the streaming import as it goes (records → MB): ${r.bulk.stream.rssSamples.map((s) => `${int(s.records)} → ${f(s.rssMb, 0)}`).join(', ')}.`,
    );
  }
  if (r.profiles?.length) {
    out.push('');
    out.push('## CPU profiles of the gateway (node --cpu-prof)');
    for (const prof of r.profiles) {
      out.push('');
      out.push(`### ${prof.file} (${f(prof.totalMs / 1000)} s sampled, ${f(prof.idlePercent)} % idle)`);
      out.push('');
      out.push('| self % | function |');
      out.push('|---|---|');
      for (const h of prof.topSelf.slice(0, 15)) out.push(`| ${f(h.percent)} | \`${h.frame}\` |`);
      out.push('');
      out.push('| self % by package / file | |');
      out.push('|---|---|');
      for (const h of prof.byModule.slice(0, 10)) out.push(`| ${f(h.percent)} | \`${h.frame}\` |`);
      out.push('');
      out.push('| inclusive % (project code) | function |');
      out.push('|---|---|');
      for (const h of prof.projectInclusive.slice(0, 15)) out.push(`| ${f(h.percent)} | \`${h.frame}\` |`);
    }
  }
  out.push('');
}

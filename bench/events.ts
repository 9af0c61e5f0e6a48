// `npm run bench:events`: what a webhook costs the writes, and how far behind its deliveries run.
// Builds a small tenant, starts the gateway as its own process (production), and measures
// updateUser throughput (10 connections) with no webhook and with one webhook whose receiver
// runs here, interleaved (none, one, none, one…), then the delivery lag of every event delivered
// during the webhook runs (receipt time minus the event's commit time; one clock), and the lag at
// a fixed rate a third of that (open loop, below saturation). Writes
// bench/results/events.json and events.md.
//
//   npm run bench:events -- [--users N] [--duration S] [--rounds R] [--out DIR]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signToken } from '../src/auth/tokens.js';
import { PROJECT_ROOT } from '../src/config.js';
import { gatewayEnv } from './lib/gateway-env.js';
import { type LoadResult, runLoad } from './lib/load.js';
import { startProcess, stopProcess } from './lib/proc.js';
import { noUserErrors, pick, UPDATE } from './lib/queries.js';
import { buildTenant, newSecret } from './lib/tenant.js';
import { currentTree } from './lib/tree.js';

const { values: args } = parseArgs({
  options: { users: { type: 'string' }, duration: { type: 'string' }, rounds: { type: 'string' }, warmup: { type: 'string' }, out: { type: 'string' } },
});
const users = Number(args.users ?? 2000);
const duration = Number(args.duration ?? 6);
const warmup = Number(args.warmup ?? 1);
const rounds = Number(args.rounds ?? 2);
const root = PROJECT_ROOT.replace(/\/$/, '');
const outDir = resolve(args.out ?? join(root, 'bench/results'));
const t0 = performance.now();
const log = (line: string) => console.log(`[bench:events ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number);
};

async function gql(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data as Record<string, Record<string, unknown>>;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bench-events-'));
  const dbPath = join(dir, 'gateway.db');
  try {
    log(`building a tenant of ${users} users…`);
    const tenant = await buildTenant(dbPath, users);
    const secret = newSecret();
    const admin = await signToken(secret, { sub: 'bench-admin', scope: 'read:users update:users update:webhooks read:events', ttlSeconds: 3600 });
    const tree = currentTree(root, log);
    const start = tree.command('start');
    const gw = await startProcess(start.command, start.args, {
      cwd: root,
      env: { ...gatewayEnv(dir, dbPath, secret), WEBHOOK_ALLOW_PRIVATE: '1' },
      ready: /listening on http:\/\/localhost:(\d+)\/graphql/,
    });
    const url = `http://127.0.0.1:${gw.match[1]}/graphql`;

    // The receiver: answers 204 at once and notes when each event arrived.
    const lags: number[] = [];
    let delivered = 0;
    let measuring = false;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = Date.now();
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { time: string };
        delivered += 1;
        if (measuring) lags.push(at - Date.parse(event.time));
        res.writeHead(204).end();
      });
    });
    receiver.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;

    const body = () => JSON.stringify({ query: UPDATE, variables: { id: pick(tenant.ownIds), metadata: { theme: `t${Math.floor(Math.random() * 1e9)}` } } });
    const load = (name: string) =>
      runLoad({ name, url, connections: 10, seconds: duration, warmupSeconds: warmup, headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body, verify: noUserErrors, serverPid: gw.pid });

    const none: LoadResult[] = [];
    const one: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      log(`round ${r + 1}: updateUser, no webhook…`);
      none.push(await load('updateUser, no webhook'));
      log(`  ${Math.round(none.at(-1)?.rps ?? 0)} req/s`);
      const created = await gql(url, admin, 'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } userErrors { code message } } }', { input: { url: hookUrl, types: ['user.updated'] } });
      const hookId = (created.createWebhook?.webhook as { id: string }).id;
      log(`round ${r + 1}: updateUser, one webhook…`);
      measuring = true;
      const before = delivered;
      one.push(await load('updateUser, one webhook'));
      const written = (one.at(-1)?.requests ?? 0) - (one.at(-1)?.failedBodies ?? 0);
      // Let the deliveries of this run arrive (the warm-up's too), then stop measuring.
      const until = Date.now() + 30_000;
      while (delivered - before < written && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
      measuring = false;
      log(`  ${Math.round(one.at(-1)?.rps ?? 0)} req/s; ${delivered - before} deliveries`);
      await gql(url, admin, 'mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id: hookId });
    }
    const saturatedLags = [...lags];
    // Open loop: a fixed rate below saturation (a third of the rate just measured with a webhook),
    // one webhook, and the lag of each delivery.
    const rate = Math.max(20, Math.round(median(one.map((r) => r.rps)) / 3));
    const created = await gql(url, admin, 'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } userErrors { code message } } }', { input: { url: hookUrl, types: ['user.updated'] } });
    const hookId = (created.createWebhook?.webhook as { id: string }).id;
    log(`open loop: ${rate} updateUser a second for ${duration} s, one webhook…`);
    lags.length = 0;
    measuring = true;
    const before = delivered;
    let sentCount = 0;
    const pending: Promise<unknown>[] = [];
    const startedAt = performance.now();
    while (performance.now() - startedAt < duration * 1000) {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * rate);
      while (sentCount < due) {
        sentCount += 1;
        pending.push(fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: body() }).then((r) => r.text()));
      }
      await new Promise((res) => setTimeout(res, 2));
    }
    await Promise.all(pending);
    const untilOpen = Date.now() + 30_000;
    while (delivered - before < sentCount && Date.now() < untilOpen) await new Promise((res) => setTimeout(res, 20));
    measuring = false;
    const openLoop = { rate, sent: sentCount, delivered: delivered - before, p50: percentile(lags, 50), p90: percentile(lags, 90), p99: percentile(lags, 99), max: percentile(lags, 100) };
    log(`  ${openLoop.delivered} deliveries, lag p50 ${openLoop.p50} ms, p99 ${openLoop.p99} ms`);
    await gql(url, admin, 'mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }', { id: hookId });
    await stopProcess(gw.child);
    await new Promise<void>((r) => receiver.close(() => r()));

    const rpsNone = median(none.map((r) => r.rps));
    const rpsOne = median(one.map((r) => r.rps));
    const results = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, loadAverage: loadavg().map((x) => Number(x.toFixed(1))) },
      users,
      durationSeconds: duration,
      rounds,
      connections: 10,
      updateUser: {
        noWebhookRps: none.map((r) => Math.round(r.rps)),
        oneWebhookRps: one.map((r) => Math.round(r.rps)),
        medianNoWebhook: Math.round(rpsNone),
        medianOneWebhook: Math.round(rpsOne),
        ratio: Number((rpsOne / rpsNone).toFixed(3)),
        p99MsNoWebhook: Number(median(none.map((r) => r.latencyMs.p99)).toFixed(2)),
        p99MsOneWebhook: Number(median(one.map((r) => r.latencyMs.p99)).toFixed(2)),
      },
      deliveryLagMs: {
        count: saturatedLags.length,
        p50: percentile(saturatedLags, 50),
        p90: percentile(saturatedLags, 90),
        p99: percentile(saturatedLags, 99),
        max: percentile(saturatedLags, 100),
      },
      openLoop,
      targetMet: rpsOne / rpsNone >= 0.9,
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'events.json'), `${JSON.stringify(results, null, 2)}\n`);
    const md = [
      `# Change events: what one webhook costs updateUser (${results.at})`,
      '',
      `${users} users, ${rounds} interleaved rounds of ${duration} s (+${warmup} s warm-up) at 10 connections, gateway in production as its own process, the receiver in the bench process; ${results.machine.cpus} cores, load average ${results.machine.loadAverage.join(' / ')}.`,
      '',
      '| | req/s per round | median req/s | p99 ms (median) |',
      '|---|---|---|---|',
      `| no webhook | ${results.updateUser.noWebhookRps.join(', ')} | ${results.updateUser.medianNoWebhook} | ${results.updateUser.p99MsNoWebhook} |`,
      `| one webhook | ${results.updateUser.oneWebhookRps.join(', ')} | ${results.updateUser.medianOneWebhook} | ${results.updateUser.p99MsOneWebhook} |`,
      '',
      `Ratio ${results.updateUser.ratio} (target: at least 0.90): ${results.targetMet ? 'met' : 'not met'}.`,
      '',
      `Delivery lag at that (saturating) load, receipt minus commit time, ${saturatedLags.length} events: p50 ${results.deliveryLagMs.p50} ms, p90 ${results.deliveryLagMs.p90} ms, p99 ${results.deliveryLagMs.p99} ms, max ${results.deliveryLagMs.max} ms.`,
      '',
      `Delivery lag at a fixed ${openLoop.rate} updateUser a second (open loop, a third of the rate above), ${openLoop.delivered} of ${openLoop.sent} delivered: p50 ${openLoop.p50} ms, p90 ${openLoop.p90} ms, p99 ${openLoop.p99} ms, max ${openLoop.max} ms.`,
      '',
    ].join('\n');
    writeFileSync(join(outDir, 'events.md'), md);
    console.log(`\n${md}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

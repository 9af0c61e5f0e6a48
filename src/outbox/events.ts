// Delivery of change events to their consumers: each webhook, and the NATS publisher. Each
// consumer has its own cursor in the store, leased to one instance at a time, and its own loop,
// so a write never waits for a delivery and a dead receiver delays no one but itself. A consumer
// receives the events of each subject one at a time in commit order (several subjects at once); a failure is tried
// again with exponential backoff and jitter, and after WEBHOOK_GIVE_UP_AFTER_SECONDS the event is
// recorded as failed and the consumer moves on. Progress is recorded only under the lease and the
// generation it was read in: a redelivery moves the cursor back and no delivery in flight can move
// it on again.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { ChangeEventRow, ChangeEventType, NewChangeEvent } from '../domain/events.js';
import type { DeliveryCursor, DeliveryStore, EventStore, WebhookStore } from '../store/types.js';
import { traceWebhookDelivery } from '../observability/tracing.js';
import { safeErrorText } from './sender.js';
import { type SecretBox, sign } from './signing.js';
import { ADDRESS_REFUSED, guardedLookup, isPrivateAddress } from './webhook-urls.js';

/** The NATS publisher's consumer id (src/outbox/nats.ts, loaded only when NATS_URL is set). */
export const NATS_CONSUMER = 'nats';

const TIMED_OUT = 'TIMEOUT';

/** The CloudEvents 1.0 JSON form of an event: what webhooks receive, NATS carries and `events` answers. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: ChangeEventType;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: ChangeEventRow['data'];
}

export const EVENT_SOURCE = '/profile-gateway';

export function toCloudEvent(row: ChangeEventRow, source = EVENT_SOURCE): CloudEvent {
  return {
    specversion: '1.0',
    id: row.id,
    source,
    type: row.type,
    subject: row.subject,
    time: row.time.toISOString(),
    datacontenttype: 'application/json',
    data: row.data,
  };
}

/** What stands at rest for the subject of a sealed event. */
export const SEALED_SUBJECT = 'sealed';

/** An event kept encrypted at rest (an erasure's deletion notices): its subject and data sealed. */
export function sealEvent(e: NewChangeEvent, box: SecretBox): NewChangeEvent {
  return {
    type: e.type,
    subject: SEALED_SUBJECT,
    data: { fields: [], actor: SEALED_SUBJECT, sealed: box.seal(JSON.stringify({ subject: e.subject, data: e.data })) },
  };
}

/** An event as written, opened if it was sealed. */
export function openEvent(row: ChangeEventRow, box: SecretBox | undefined): ChangeEventRow {
  if (row.data.sealed === undefined || !box) return row;
  try {
    const { subject, data } = JSON.parse(box.open(row.data.sealed)) as Pick<ChangeEventRow, 'subject' | 'data'>;
    return { ...row, subject, data };
  } catch {
    // Another key cannot open it: the notice goes out without the id.
    return { ...row, data: { fields: [], actor: SEALED_SUBJECT } };
  }
}

/** Where one consumer's events go. `send` resolves when the consumer accepted the event. */
export interface EventSink {
  types: readonly ChangeEventType[];
  send(event: CloudEvent, body: string): Promise<void>;
  close?(): void;
}

export interface DispatcherOptions {
  store: { events: EventStore; webhooks: WebhookStore; deliveries: DeliveryStore };
  box: SecretBox;
  /** This instance, as the lease owner. */
  owner: string;
  allowPrivate: boolean;
  source?: string;
  /** How often cursors are looked at; default 100 ms. */
  pollMs?: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs, with full jitter (half to all of it). */
  backoffBaseMs?: number;
  maxBackoffMs?: number;
  /** After this long failing, an event is given up (recorded as failed) and the consumer moves on. */
  giveUpAfterMs?: number;
  /** Bound on one HTTP delivery. */
  timeoutMs?: number;
  leaseMs?: number;
  /** Subjects delivered at once per consumer (events of one subject always one after another); default 8. */
  concurrency?: number;
  /** EVENT_RETENTION_DAYS: events older than this are deleted (checked hourly). */
  retentionDays?: number;
  /** Extra sinks by consumer id (the NATS publisher). */
  extraSinks?: Map<string, EventSink>;
  log?: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
  /** Told of each event delivered (metrics, the benchmark's lag). */
  onDelivered?: (consumer: string, event: ChangeEventRow) => void;
  /** Told of each failed attempt, and of each event given up. */
  onFailed?: (consumer: string, givenUp: boolean) => void;
}

/** Events read (and progress recorded) at a time per consumer. */
const PAGE = 100;
/** How stale the generation read may be before a delivery (a redelivery is seen within this). */
const GENERATION_CHECK_MS = 5;

/** The outbox's error text (code first, control characters flattened, bounded): no address to mask here. */
const errorText = (err: unknown): string => safeErrorText(err, { to: '' });

/** POSTs of one event to a webhook URL, signed; only a 2xx counts. Redirects are not followed. */
export function webhookSink(url: string, secret: string, types: readonly ChangeEventType[], opts: { allowPrivate: boolean; timeoutMs: number; concurrency: number }): EventSink {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: opts.concurrency }) : new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const lookup = guardedLookup(opts.allowPrivate);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  return {
    types,
    send(event, body) {
      // A literal address never goes through lookup: checked here.
      if (!opts.allowPrivate && isIP(host) && isPrivateAddress(host)) {
        return Promise.reject(Object.assign(new Error('refused: a private address'), { code: ADDRESS_REFUSED }));
      }
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'profile-gateway-webhooks/1',
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': sign(secret, event.id, timestamp, body),
      };
      return new Promise<void>((resolve, reject) => {
        const req = (secure ? https : http).request(
          target,
          { method: 'POST', headers, agent, lookup, timeout: opts.timeoutMs, signal: AbortSignal.timeout(opts.timeoutMs) },
          (res) => {
            res.resume();
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) resolve();
              else reject(Object.assign(new Error(`HTTP ${status}`), { code: `HTTP_${status}` }));
            });
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: TIMED_OUT })));
        req.on('error', reject);
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

export class EventDispatcher {
  private readonly running = new Map<string, Promise<void>>();
  /** Consumers this instance has held a lease of (given back at stop). */
  private readonly leased = new Set<string>();
  private readonly sinks = new Map<string, { sink: EventSink; key: string }>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastPrune = 0;
  /** Counts kicks, so a consumer's run that read before one looks again rather than wait for the poll. */
  private kicks = 0;
  private kickScheduled = false;
  private consumerCount = 0;
  private readonly pollMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxBackoffMs: number;
  private readonly giveUpAfterMs: number;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;
  private readonly concurrency: number;

  constructor(private readonly opts: DispatcherOptions) {
    this.pollMs = opts.pollMs ?? 100;
    this.backoffBaseMs = opts.backoffBaseMs ?? 5_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 60 * 60_000;
    this.giveUpAfterMs = opts.giveUpAfterMs ?? 3 * 24 * 3600_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    // A lease outlasts two deliveries' timeouts with room to spare: a send still in flight when the
    // lease ran out would let another instance send the same event, and later ones, before it ends.
    this.leaseMs = Math.max(opts.leaseMs ?? 30_000, 2 * this.timeoutMs + 5_000);
    this.concurrency = opts.concurrency ?? 8;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for the deliveries in flight; leases are given back. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.running.values()]);
    for (const consumer of this.leased) await this.opts.store.deliveries.release(consumer, this.opts.owner).catch(() => undefined);
    for (const { sink } of this.sinks.values()) sink.close?.();
    this.sinks.clear();
  }

  /** Events were just committed here: look now rather than at the next poll (several kicks in one turn are one look). */
  kick(): void {
    this.kicks += 1;
    // No consumer at the last look: nothing to hurry (a new webhook is found by the next poll).
    if (this.kickScheduled || this.stopped || this.consumerCount === 0) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      void this.tick();
    });
  }

  /** One pass now over every consumer (tests); resolves when each has nothing more to do. */
  async drain(): Promise<void> {
    await this.tick();
    await Promise.allSettled([...this.running.values()]);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const consumers = await this.opts.store.deliveries.consumers();
      this.consumerCount = consumers.length;
      // Two reads, then a claim (a write) only for a consumer with something to send: idle webhooks
      // cost no write per poll (with a hundred of them that would be a thousand a second).
      const [last, cursors] = await Promise.all([this.opts.store.events.lastSeq(), this.opts.store.deliveries.cursors(consumers)]);
      for (const [i, consumer] of consumers.entries()) {
        if (this.running.has(consumer)) continue;
        const cursor = cursors[i];
        if (cursor && cursor.afterSeq >= last) continue;
        const run = this.runConsumer(consumer)
          .catch((err: unknown) => this.opts.log?.('error', { event: 'event_delivery_error', consumer, error: errorText(err) }, 'event delivery run failed'))
          .finally(() => this.running.delete(consumer));
        this.running.set(consumer, run);
      }
      for (const consumer of [...this.sinks.keys()]) {
        if (!consumers.includes(consumer)) {
          this.sinks.get(consumer)?.sink.close?.();
          this.sinks.delete(consumer);
        }
      }
      await this.prune();
    } catch (err) {
      this.opts.log?.('error', { event: 'event_delivery_error', error: errorText(err) }, 'reading event cursors failed');
    }
  }

  private async prune(): Promise<void> {
    const days = this.opts.retentionDays;
    if (!days || Date.now() - this.lastPrune < 3600_000) return;
    this.lastPrune = Date.now();
    const removed = await this.opts.store.events.prune(new Date(Date.now() - days * 86_400_000));
    if (removed > 0) this.opts.log?.('info', { event: 'events_pruned', removed, retentionDays: days }, 'old change events deleted');
  }

  private async sinkFor(consumer: string): Promise<EventSink | null> {
    const extra = this.opts.extraSinks?.get(consumer);
    if (extra) return extra;
    const [webhook] = await this.opts.store.webhooks.byIds([consumer]);
    if (!webhook) return null;
    const key = `${webhook.url}|${webhook.types.join(',')}`;
    const known = this.sinks.get(consumer);
    if (known && known.key === key) return known.sink;
    const sealed = await this.opts.store.webhooks.secretOf(consumer);
    if (!sealed) return null;
    const sink = webhookSink(webhook.url, this.opts.box.open(sealed), webhook.types, { allowPrivate: this.opts.allowPrivate, timeoutMs: this.timeoutMs, concurrency: this.concurrency });
    known?.sink.close?.();
    this.sinks.set(consumer, { sink, key });
    return sink;
  }

  private backoff(attempt: number): number {
    const full = Math.min(this.backoffBaseMs * 2 ** Math.min(attempt - 1, 30), this.maxBackoffMs);
    return Math.round(full / 2 + Math.random() * (full / 2));
  }

  /** Delivers what is due for one consumer, while this instance holds its lease. */
  private async runConsumer(consumer: string): Promise<void> {
    const { deliveries, events } = this.opts.store;
    const owner = this.opts.owner;
    while (!this.stopped) {
      const now = new Date();
      const cursor: DeliveryCursor | null = await deliveries.claim(consumer, owner, now, new Date(now.getTime() + this.leaseMs));
      if (!cursor) return;
      this.leased.add(consumer);
      if (cursor.nextAttemptAt && cursor.nextAttemptAt.getTime() > now.getTime()) return;
      const sink = await this.sinkFor(consumer);
      if (!sink) return;
      const kicksBefore = this.kicks;
      const rows = await events.since(cursor.afterSeq, PAGE, sink.types.length > 0 ? sink.types : null);
      if (rows.length === 0) {
        if (this.kicks !== kicksBefore) continue;
        return;
      }
      const outcome = await this.sendPage(consumer, sink, rows, cursor.generation, cursor.attempts + 1);
      // Progress is the longest run of delivered events from the cursor on, recorded once per page:
      // a crash in between sends at most a page again, with the same webhook-id (receivers
      // deduplicate by it); so do events of other subjects delivered beyond a failing one.
      let sent = cursor.afterSeq;
      const delivered: ChangeEventRow[] = [];
      let failed: { row: ChangeEventRow; error: string } | null = null;
      for (const row of rows) {
        const result = outcome.results.get(row.seq);
        if (result === undefined) break;
        if (result !== null) {
          failed = { row, error: result };
          break;
        }
        sent = row.seq;
        delivered.push(row);
      }
      let from = cursor.afterSeq;
      if (sent !== from) {
        if (!(await deliveries.advance(consumer, owner, cursor.generation, from, sent))) continue;
        for (const row of delivered) this.opts.onDelivered?.(consumer, row);
        from = sent;
      }
      if (failed) {
        const at = new Date();
        // The cursor's failure record is about the event after it: kept only if that is still the one failing.
        const failingSince = (from === cursor.afterSeq ? cursor.failingSince : null) ?? at;
        const attempts = (from === cursor.afterSeq ? cursor.attempts : 0) + 1;
        // Given up once it has failed for the give-up time, or once the event itself is that old: a
        // receiver dead for days drains its backlog of old events as failures (listed, redeliverable)
        // instead of giving up one event per give-up period while retention deletes the rest unseen.
        if (at.getTime() - failingSince.getTime() >= this.giveUpAfterMs || at.getTime() - failed.row.time.getTime() >= this.giveUpAfterMs) {
          this.opts.onFailed?.(consumer, true);
          this.opts.log?.('warn', { event: 'event_delivery_given_up', consumer, eventId: failed.row.id, attempts, error: failed.error }, 'an event was given up');
          await deliveries.advance(consumer, owner, cursor.generation, from, failed.row.seq, { eventId: failed.row.id, attempts, error: failed.error, at });
          continue;
        }
        const retryAt = new Date(at.getTime() + this.backoff(attempts));
        this.opts.onFailed?.(consumer, false);
        this.opts.log?.('info', { event: 'event_delivery_failed', consumer, eventId: failed.row.id, attempts, error: failed.error, retryAt: retryAt.toISOString() }, 'an event delivery failed; it will be retried');
        await deliveries.retryLater(consumer, owner, cursor.generation, failed.error, retryAt, failingSince);
        return;
      }
      // A redelivery asked meanwhile, or another instance took the lease: read the cursor again.
      if (outcome.lost) continue;
      if (this.stopped || (rows.length < PAGE && this.kicks === kicksBefore)) return;
    }
  }

  /**
   * Sends a page: the events of each subject in order, several subjects at once (a slow answer
   * for one subject does not hold up the others). After a failure no event beyond it is started,
   * so the first event not delivered, in commit order, is always a failed one.
   */
  private async sendPage(
    consumer: string,
    sink: EventSink,
    rows: ChangeEventRow[],
    generation: number,
    /** The try of the page's first event (earlier failures of it, plus one). */
    attempt: number,
  ): Promise<{ results: Map<number, string | null>; lost: boolean }> {
    const results = new Map<number, string | null>();
    let lost = false;
    let haltAt = Number.POSITIVE_INFINITY;
    // Erasure notices are sealed and the events before them pseudonymised: their subjects cannot be
    // told apart at rest, so a page holding one is sent one event at a time.
    const sequential = rows.some((r) => r.data.sealed !== undefined || r.subject.startsWith('deleted-user:'));
    const bySubject = new Map<string, ChangeEventRow[]>();
    for (const row of rows) {
      const key = sequential ? '' : row.subject;
      bySubject.set(key, [...(bySubject.get(key) ?? []), row]);
    }
    const chains = [...bySubject.values()];
    let started = 0;
    let checkedAt = performance.now();
    let claimedAt = performance.now();
    const runChain = async (chain: ChangeEventRow[]) => {
      for (const row of chain) {
        if (this.stopped || lost || row.seq > haltAt) return;
        // A redelivery asked meanwhile changes the generation: stop rather than send more than asked
        // (read again when the last read is more than a few milliseconds old).
        if (started++ > 0 && performance.now() - checkedAt > GENERATION_CHECK_MS) {
          checkedAt = performance.now();
          // Past half the lease, the read renews it (a long page must not let another instance in).
          const renew = performance.now() - claimedAt > this.leaseMs / 2;
          const now = new Date();
          const current = renew
            ? await this.opts.store.deliveries.claim(consumer, this.opts.owner, now, new Date(now.getTime() + this.leaseMs))
            : (await this.opts.store.deliveries.cursors([consumer]))[0];
          if (renew) claimedAt = performance.now();
          if (current?.generation !== generation) {
            lost = true;
            return;
          }
        }
        const event = toCloudEvent(openEvent(row, this.opts.box), this.opts.source);
        try {
          // A span per delivery (webhook.deliver, kind CLIENT): the webhook, the event type, the try.
          await traceWebhookDelivery({ webhookId: consumer, event: row.type, attempt: row.seq === rows[0]?.seq ? attempt : 1 }, async () => {
            await sink.send(event, JSON.stringify(event));
            return {};
          });
          results.set(row.seq, null);
        } catch (err) {
          results.set(row.seq, errorText(err));
          haltAt = Math.min(haltAt, row.seq);
          return;
        }
      }
    };
    let next = 0;
    const worker = async () => {
      while (next < chains.length) await runChain(chains[next++] as ChangeEventRow[]);
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, chains.length) }, worker));
    return { results, lost };
  }

}

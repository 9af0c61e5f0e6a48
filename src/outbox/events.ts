// Delivery of change events to their consumers: each webhook, and the NATS publisher. Each
// consumer has its own cursor in the store, leased to one instance at a time, and its own loop,
// so a write never waits for a delivery and a dead receiver delays no one but itself. A consumer
// receives its events one at a time in commit order (so in order per subject); a failure is tried
// again with exponential backoff and jitter, and after WEBHOOK_GIVE_UP_AFTER_SECONDS the event is
// recorded as failed and the consumer moves on. Progress is recorded only under the lease and the
// generation it was read in: a redelivery moves the cursor back and no delivery in flight can move
// it on again.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { ChangeEventRow, ChangeEventType, NewChangeEvent } from '../domain/events.js';
import type { DeliveryCursor, DeliveryStore, EventStore, WebhookStore } from '../store/types.js';
import { type SecretBox, sign } from './signing.js';
import { ADDRESS_REFUSED, guardedLookup, isPrivateAddress } from './webhook-urls.js';

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
  /** EVENT_RETENTION_DAYS: events older than this are deleted (checked hourly). */
  retentionDays?: number;
  /** Extra sinks by consumer id (the NATS publisher). */
  extraSinks?: Map<string, EventSink>;
  log?: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
  /** Told of each event delivered (metrics, the benchmark's lag). */
  onDelivered?: (consumer: string, event: ChangeEventRow) => void;
}

const ERROR_MAX = 300;

function errorText(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : null;
  const message = err instanceof Error ? err.message : String(err);
  // eslint-disable-next-line no-control-regex
  const text = (code && !message.startsWith(code) ? `${code}: ${message}` : message).replace(/[\x00-\x1f\x7f]+/g, ' ');
  return text.length > ERROR_MAX ? `${text.slice(0, ERROR_MAX - 1)}…` : text;
}

/** POSTs of one event to a webhook URL, signed; only a 2xx counts. Redirects are not followed. */
export function webhookSink(url: string, secret: string, types: readonly ChangeEventType[], opts: { allowPrivate: boolean; timeoutMs: number }): EventSink {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
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
  private readonly sinks = new Map<string, { sink: EventSink; key: string }>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastPrune = 0;
  private readonly pollMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxBackoffMs: number;
  private readonly giveUpAfterMs: number;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;

  constructor(private readonly opts: DispatcherOptions) {
    this.pollMs = opts.pollMs ?? 100;
    this.backoffBaseMs = opts.backoffBaseMs ?? 5_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 60 * 60_000;
    this.giveUpAfterMs = opts.giveUpAfterMs ?? 3 * 24 * 3600_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.leaseMs = opts.leaseMs ?? 30_000;
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
    for (const consumer of this.sinks.keys()) await this.opts.store.deliveries.release(consumer, this.opts.owner).catch(() => undefined);
    for (const { sink } of this.sinks.values()) sink.close?.();
    this.sinks.clear();
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
      for (const consumer of consumers) {
        if (this.running.has(consumer)) continue;
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
    const sink = webhookSink(webhook.url, this.opts.box.open(sealed), webhook.types, { allowPrivate: this.opts.allowPrivate, timeoutMs: this.timeoutMs });
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
      if (cursor.nextAttemptAt && cursor.nextAttemptAt.getTime() > now.getTime()) return;
      const sink = await this.sinkFor(consumer);
      if (!sink) return;
      const page = await events.list({ after: cursor.afterSeq, first: 100, types: sink.types.length > 0 ? sink.types : null });
      if (page.rows.length === 0) return;
      let from = cursor.afterSeq;
      let failingSince = cursor.failingSince;
      let attempts = cursor.attempts;
      let lost = false;
      for (const row of page.rows) {
        if (this.stopped) return;
        const event = toCloudEvent(openEvent(row, this.opts.box), this.opts.source);
        const body = JSON.stringify(event);
        let failure: string | null = null;
        try {
          await sink.send(event, body);
        } catch (err) {
          failure = errorText(err);
        }
        if (failure === null) {
          if (!(await deliveries.advance(consumer, owner, cursor.generation, from, row.seq))) {
            lost = true;
            break;
          }
          this.opts.onDelivered?.(consumer, row);
          from = row.seq;
          failingSince = null;
          attempts = 0;
          continue;
        }
        const at = new Date();
        failingSince ??= at;
        attempts += 1;
        if (at.getTime() - failingSince.getTime() >= this.giveUpAfterMs) {
          this.opts.log?.('warn', { event: 'event_delivery_given_up', consumer, eventId: row.id, attempts, error: failure }, 'an event was given up');
          if (!(await deliveries.advance(consumer, owner, cursor.generation, from, row.seq, { eventId: row.id, attempts, error: failure, at }))) {
            lost = true;
            break;
          }
          from = row.seq;
          failingSince = null;
          attempts = 0;
          continue;
        }
        const retryAt = new Date(at.getTime() + this.backoff(attempts));
        this.opts.log?.('info', { event: 'event_delivery_failed', consumer, eventId: row.id, attempts, error: failure, retryAt: retryAt.toISOString() }, 'an event delivery failed; it will be retried');
        await deliveries.retryLater(consumer, owner, cursor.generation, failure, retryAt, failingSince);
        this.wakeAt(retryAt);
        return;
      }
      // A lost advance (a redelivery, or another instance took the lease): read the cursor again.
      if (lost) continue;
      if (!page.hasNextPage) return;
    }
  }

  /** A retry due before the next poll would find it anyway; sooner than that, poll once more then. */
  private wakeAt(at: Date): void {
    const delay = at.getTime() - Date.now();
    if (delay < this.pollMs * 2) setTimeout(() => void this.tick(), Math.max(0, delay) + 1).unref();
  }
}

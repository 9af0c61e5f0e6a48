// Prometheus metrics (prom-client), one registry per gateway. Every label has a bounded set of
// values: operation names are the first MAX_OPERATION_NAMES distinct valid names seen, then
// "other"; connections and script functions are the tenant's own (an unknown one is "unknown").
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How many distinct operation names get their own series; later ones count as "other". */
export const MAX_OPERATION_NAMES = 200;
export const UNNAMED_OPERATION = 'anonymous';
export const OTHER_OPERATION = 'other';
/** An operation that never resolved (bad JSON, a parse or validation failure). */
export const UNKNOWN_OPERATION = 'unknown';

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export type RefusalReason = 'limit' | 'rate_limit' | 'trusted_document' | 'login_block';
export type ScriptOutcome = 'ok' | 'error' | 'timeout';

/** What a PostgreSQL pool (pg.Pool) reports; anything with these counts can be registered. */
export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

export interface OutboxCounts {
  pending: number;
  sent: number;
  failed: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly names = new Set<string>();
  private readonly pools = new Map<string, PoolStats>();
  private outboxCounts: (() => Promise<OutboxCounts>) | null = null;

  private readonly requestDuration = new Histogram({
    name: 'gateway_graphql_request_duration_seconds',
    help: 'GraphQL requests, by operation name, type and outcome (ok or error).',
    labelNames: ['operation', 'type', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'gateway_graphql_errors_total',
    help: 'Top-level GraphQL errors answered, by extensions.code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: 'gateway_operations_refused_total',
    help: 'Operations refused before execution: by an operation limit, a rate limit, a trusted-document rule or a login block.',
    labelNames: ['reason', 'limit'] as const,
    registers: [this.registry],
  });
  private readonly logins = new Counter({
    name: 'gateway_logins_total',
    help: 'Logins (authenticate, recordLogin) by connection, connection kind and outcome (success or the user error code).',
    labelNames: ['connection', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly scriptCalls = new Histogram({
    name: 'gateway_custom_db_script_duration_seconds',
    help: 'Custom-database script calls by connection, function and outcome (ok, error, timeout); _count is the number of calls.',
    labelNames: ['connection', 'function', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly storeCalls = new Histogram({
    name: 'gateway_store_call_duration_seconds',
    help: 'Store calls (one statement or one transaction each), by store method.',
    labelNames: ['call'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  private readonly outboxDeliveries = new Counter({
    name: 'gateway_outbox_deliveries_total',
    help: 'Outbox delivery attempts by outcome: sent, failed (will be retried), given_up.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly eventDeliveries = new Counter({
    name: 'gateway_event_deliveries_total',
    help: 'Change event deliveries by sink (webhook, nats) and outcome: delivered, failed (will be retried), given_up.',
    labelNames: ['sink', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly eventDeliveryLag = new Histogram({
    name: 'gateway_event_delivery_lag_seconds',
    help: 'From an event committed to its delivery accepted, by sink (webhook, nats).',
    labelNames: ['sink'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    const outboxCounts = () => this.outboxCounts;
    const pools = this.pools;
    new Gauge({
      name: 'gateway_outbox_messages',
      help: 'Outbox messages by status: pending (waiting or being retried), sent, failed (given up, waiting for an operator).',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const read = outboxCounts();
        if (!read) return;
        try {
          const counts = await read();
          for (const status of ['pending', 'sent', 'failed'] as const) this.set({ status }, counts[status]);
        } catch {
          // The database is closing or down: the scrape still answers, without this gauge's new value.
        }
      },
    });
    new Gauge({
      name: 'gateway_db_pool_connections',
      help: 'Database pool connections by pool and state (in_use, idle, waiting: requests queued for one).',
      labelNames: ['pool', 'state'] as const,
      registers: [this.registry],
      collect() {
        for (const [pool, stats] of pools) {
          this.set({ pool, state: 'in_use' }, stats.totalCount - stats.idleCount);
          this.set({ pool, state: 'idle' }, stats.idleCount);
          this.set({ pool, state: 'waiting' }, stats.waitingCount);
        }
      },
    });
  }

  /** The label value for an operation name: bounded, so a client cannot explode the series. */
  operationLabel(name: string | null | undefined): string {
    if (name === null || name === undefined || name === '') return UNNAMED_OPERATION;
    if (!GRAPHQL_NAME.test(name)) return OTHER_OPERATION;
    if (this.names.has(name)) return name;
    if (this.names.size >= MAX_OPERATION_NAMES) return OTHER_OPERATION;
    this.names.add(name);
    return name;
  }

  observeRequest(r: { operation: string; type: string; outcome: 'ok' | 'error'; seconds: number }): void {
    this.requestDuration.observe({ operation: r.operation, type: r.type, outcome: r.outcome }, r.seconds);
  }

  countErrors(codes: readonly string[]): void {
    for (const code of codes) this.errors.inc({ code: CODE.test(code) ? code : 'OTHER' });
  }

  refused(reason: RefusalReason, limit = ''): void {
    this.refusals.inc({ reason, limit: CODE.test(limit) ? limit : '' });
  }

  login(connection: string, kind: string, outcome: string): void {
    this.logins.inc({ connection, kind, outcome });
  }

  scriptCall(connection: string, fn: string, outcome: ScriptOutcome, seconds: number): void {
    this.scriptCalls.observe({ connection, function: fn, outcome }, seconds);
  }

  storeCall(call: string, seconds: number): void {
    this.storeCalls.observe({ call }, seconds);
  }

  eventDelivery(sink: 'webhook' | 'nats', outcome: 'delivered' | 'failed' | 'given_up', lagSeconds?: number): void {
    this.eventDeliveries.inc({ sink, outcome });
    if (lagSeconds !== undefined) this.eventDeliveryLag.observe({ sink }, lagSeconds);
  }

  outboxDelivery(outcome: 'sent' | 'failed' | 'given_up'): void {
    this.outboxDeliveries.inc({ outcome });
  }

  /** Where the outbox gauge reads its counts at scrape time. */
  setOutboxCounts(read: () => Promise<OutboxCounts>): void {
    this.outboxCounts = read;
  }

  /** A database pool (a pg.Pool) whose in-use and idle connections are exported as gauges. */
  registerDbPool(name: string, pool: PoolStats): void {
    this.pools.set(name, pool);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

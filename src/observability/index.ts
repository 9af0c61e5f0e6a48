// The gateway's observability, one object per running gateway: its logger, its metrics, and the
// named events other parts report (a refusal, a login block, a script failure, an outbox give-up).
// Call the event functions rather than the logger for these, so the log line and the metric agree
// and neither carries personal data: they take ids, names and codes, never an address or a value.
import { hostname } from 'node:os';
import { createLogger, type Logger, type LoggerOptions, scrub, serializeError, silentLogger } from './logger.js';
import { Metrics, type RefusalReason, type ScriptOutcome } from './metrics.js';

export { scrub, type Logger };
export type { RefusalReason, ScriptOutcome };

/** Who called, in a word (a label and a log field, never the caller's id). */
export type CallerKind = 'anonymous' | 'tenant_admin' | 'login_server' | 'help_desk' | 'user';

/** What one GraphQL request did, filled in as it runs and written as its log line at the end. */
export interface RequestRecord {
  requestId: string;
  operationName: string | null;
  operationType: string | null;
  callerKind: CallerKind;
  /** The organization the token is narrowed to (`org_id`), if any. */
  organization: string | null;
  errorCodes: string[];
}

export interface ObservabilityOptions {
  instance?: string;
  log?: Pick<LoggerOptions, 'level' | 'destination' | 'pretty'>;
  /** An existing logger (tests, or a CLI that has its own). */
  logger?: Logger;
}

export const defaultInstance = () => process.env.INSTANCE_ID || `${hostname()}:${process.pid}`;

export class Observability {
  readonly instance: string;
  readonly log: Logger;
  /**
   * The per-request line's logger (src/observability/requests.ts): the same output without the
   * redaction pass, which made a line about four times dearer. That line's fields are fixed ids,
   * names, codes and numbers, none of them a key the redaction list names (a test holds it).
   */
  readonly requestLog: Logger;
  readonly metrics = new Metrics();

  constructor(opts: ObservabilityOptions = {}) {
    this.instance = opts.instance ?? defaultInstance();
    this.log = opts.logger ?? createLogger({ instance: this.instance, ...opts.log });
    this.requestLog = this.log.child({}, { redact: [] });
  }

  /** For jobs that need the interface but no output (the CLI's system context, unit tests). */
  static silent(): Observability {
    return new Observability({ logger: silentLogger(), instance: 'silent' });
  }

  /**
   * An operation refused before execution (#12's guard calls this): by an operation limit
   * (`limit` names it: DEPTH, ALIASES, TOKENS, DIRECTIVES, COST), a rate limit, or a trusted-document rule.
   */
  refused(reason: RefusalReason, details: { limit?: string; callerKind?: CallerKind; organization?: string | null; requestId?: string; retryAfterSeconds?: number } = {}): void {
    this.metrics.refused(reason, details.limit);
    this.log.warn(
      {
        event: reason === 'rate_limit' ? 'rate_limited' : 'operation_refused',
        reason,
        ...(details.limit ? { limit: details.limit } : {}),
        ...(details.callerKind ? { callerKind: details.callerKind } : {}),
        ...(details.organization ? { organization: details.organization } : {}),
        ...(details.requestId ? { requestId: details.requestId } : {}),
        ...(details.retryAfterSeconds !== undefined ? { retryAfterSeconds: details.retryAfterSeconds } : {}),
      },
      reason === 'rate_limit' ? 'rate limit reached' : 'operation refused',
    );
  }

  /** Brute-force protection blocked logins for an identifier on a connection (never the identifier or IP itself). */
  loginBlocked(details: { connection: string; untilSeconds?: number; requestId?: string }): void {
    this.metrics.refused('login_block');
    this.log.warn({ event: 'login_blocked', connection: details.connection, ...(details.untilSeconds !== undefined ? { untilSeconds: details.untilSeconds } : {}), ...(details.requestId ? { requestId: details.requestId } : {}) }, 'logins blocked');
  }

  /** A login's result: the counter by connection, kind and outcome (`success` or the user error code). */
  login(connection: string, kind: string, outcome: string): void {
    this.metrics.login(connection, kind, outcome);
  }

  /** A custom-database script call ended: timed, and a failure logged with its (scrubbed) reason. */
  scriptCall(connection: string, fn: string, outcome: ScriptOutcome, seconds: number, err?: unknown): void {
    this.metrics.scriptCall(connection, fn, outcome, seconds);
    if (outcome !== 'ok') {
      this.log.warn({ event: 'script_failed', connection, function: fn, outcome, durationMs: Math.round(seconds * 1000), ...(err ? { err: serializeError(err) } : {}) }, 'custom database script failed');
    }
  }

  /** An outbox attempt's outcome; giving up is logged (an operator retries or discards it). */
  outboxDelivery(outcome: 'sent' | 'failed' | 'given_up', messageId: number, attempts?: number): void {
    this.metrics.outboxDelivery(outcome);
    if (outcome === 'given_up') this.log.error({ event: 'outbox_gave_up', messageId, attempts }, 'outbox message given up');
  }

  /** An unexpected error (never with a request body or a token; its message is scrubbed). */
  error(message: string, err: unknown, fields: Record<string, unknown> = {}): void {
    this.log.error({ ...fields, err: serializeError(err) }, message);
  }
}

// The outbox's background sender: polls the store for due messages, hands each to the transport,
// and records the outcome. Runs never overlap (two runs would fetch and send the same rows), one
// failing message never stops the others, and log lines carry ids and counts only: never a body
// (it holds a ticket) nor an address.
import type { OutboxMessage, OutboxStore } from '../store/types.js';
import type { MailTransport } from './transports.js';

export interface OutboxSenderOptions {
  /** Time between polls; default 1000 ms. */
  intervalMs?: number;
  /** Messages fetched per run; default 20. */
  batchSize?: number;
  /** Attempts after which a message is given up (retryAt null); default 5. */
  maxAttempts?: number;
  /** Delay before the next try, given the attempts made so far (1 after the first failure). */
  backoffMs?: (attempt: number) => number;
  log?: (line: string) => void;
  /** Told of each attempt's outcome (metrics; a give-up is logged there). */
  onDelivery?: (outcome: 'sent' | 'failed' | 'given_up', messageId: number, attempts: number) => void;
  /** The clock (tests). */
  now?: () => Date;
}

const BACKOFF_BASE_MS = 5_000;
const BACKOFF_CAP_MS = 10 * 60_000;
const ERROR_TEXT_MAX = 500;

/** 5 s, 10 s, 20 s, ... doubling per attempt, at most 10 minutes. */
export function defaultBackoffMs(attempt: number): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(BACKOFF_BASE_MS * 2 ** exponent, BACKOFF_CAP_MS);
}

function errorCode(err: unknown): string | null {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(code)) return code;
  }
  return null;
}

/**
 * What gets stored as the message's last error: the transport's message (transports keep secrets
 * out of it) with the recipient's address masked, control characters flattened, and bounded.
 */
export function safeErrorText(err: unknown, message: Pick<OutboxMessage, 'to'>): string {
  const code = errorCode(err);
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : 'send failed';
  let text = code && !raw.startsWith(code) ? `${code}: ${raw}` : raw;
  // SMTP replies often quote the address ("550 5.1.1 <a@b>: no such user").
  if (message.to) text = text.replace(new RegExp(escapeRegExp(message.to), 'gi'), '<recipient>');
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim() || 'send failed';
  return text.length > ERROR_TEXT_MAX ? `${text.slice(0, ERROR_TEXT_MAX - 1)}…` : text;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class OutboxSender {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: (attempt: number) => number;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;
  private readonly onDelivery: NonNullable<OutboxSenderOptions['onDelivery']>;

  private timer: NodeJS.Timeout | null = null;
  /** The run in progress or queued last; runs are chained so they never overlap. */
  private running: Promise<number> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<OutboxStore, 'pending' | 'markSent' | 'markFailed'>,
    private readonly transport: MailTransport,
    opts: OutboxSenderOptions = {},
  ) {
    this.intervalMs = positiveInt('intervalMs', opts.intervalMs ?? 1000);
    this.batchSize = positiveInt('batchSize', opts.batchSize ?? 20);
    this.maxAttempts = positiveInt('maxAttempts', opts.maxAttempts ?? 5);
    this.backoffMs = opts.backoffMs ?? defaultBackoffMs;
    const log = opts.log;
    this.log = log
      ? (line) => {
          try {
            log(line);
          } catch {
            // A broken logger must not break sending.
          }
        }
      : () => {};
    this.now = opts.now ?? (() => new Date());
    const onDelivery = opts.onDelivery;
    this.onDelivery = (outcome, id, attempts) => {
      try {
        onDelivery?.(outcome, id, attempts);
      } catch {
        // Observing must not break sending.
      }
    };
  }

  /** Polls every intervalMs until stop(). The timer does not keep the process alive. */
  start(): void {
    if (this.timer || this.stopping) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** One run now (after any run in progress); resolves to the number of messages sent. */
  drain(): Promise<number> {
    if (this.stopping) return Promise.reject(new Error('The outbox sender is stopped.'));
    return this.enqueue();
  }

  /** Stops polling, waits for the run in progress, then closes the transport. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.settled();
      try {
        await this.transport.close?.();
      } catch (err) {
        this.log(`outbox: closing the ${this.transport.name} transport failed (${errorCode(err) ?? 'error'})`);
      }
    })();
    return this.stopping;
  }

  private tick(): void {
    // A timer run never queues behind another: if one is still going, this tick is skipped.
    if (this.running || this.stopping) return;
    this.enqueue().catch((err: unknown) => {
      this.log(`outbox: run failed: could not read pending messages (${errorCode(err) ?? 'error'})`);
    });
  }

  private enqueue(): Promise<number> {
    const previous = this.running;
    const run = (async () => {
      if (previous) await previous.catch(() => 0);
      return this.runOnce();
    })();
    this.running = run;
    const clear = () => {
      if (this.running === run) this.running = null;
    };
    run.then(clear, clear);
    return run;
  }

  private async settled(): Promise<void> {
    while (this.running) await this.running.catch(() => 0);
  }

  private async runOnce(): Promise<number> {
    const messages = await this.store.pending(this.batchSize, this.now());
    if (messages.length === 0) return 0;
    let sent = 0;
    let failed = 0;
    for (const message of messages) {
      // On stop, finish the message in hand and leave the rest pending for the next start.
      if (this.stopping) break;
      if (await this.deliver(message)) sent++;
      else failed++;
    }
    const skipped = messages.length - sent - failed;
    this.log(
      `outbox: run done via ${this.transport.name}: ${sent} sent, ${failed} failed` +
        (skipped ? `, ${skipped} left for later` : ''),
    );
    return sent;
  }

  /** Sends one message and records the outcome; true when it was sent. Never throws. */
  private async deliver(message: OutboxMessage): Promise<boolean> {
    try {
      await this.transport.send({ to: message.to, subject: message.subject, body: message.body });
    } catch (err) {
      await this.recordFailure(message, err);
      return false;
    }
    try {
      await this.store.markSent(message.id, this.now());
      this.onDelivery('sent', message.id, message.attempts + 1);
      this.log(`outbox: message ${message.id} sent`);
    } catch (err) {
      // Delivered but not recorded: it will be sent again. Say so, it is the one duplicate path.
      this.log(`outbox: message ${message.id} sent but not marked sent (${errorCode(err) ?? 'error'}); it may be sent again`);
    }
    return true;
  }

  private async recordFailure(message: OutboxMessage, err: unknown): Promise<void> {
    const attempts = message.attempts + 1;
    let retryAt: Date | null = null;
    if (attempts < this.maxAttempts) {
      const delay = this.backoffMs(attempts);
      retryAt = new Date(this.now().getTime() + (Number.isFinite(delay) && delay > 0 ? delay : 0));
    }
    const code = errorCode(err) ?? 'error';
    try {
      await this.store.markFailed(message.id, safeErrorText(err, message), retryAt);
      this.onDelivery(retryAt ? 'failed' : 'given_up', message.id, attempts);
      this.log(
        `outbox: message ${message.id} failed (attempt ${attempts} of ${this.maxAttempts}, ${code}); ` +
          (retryAt ? `retry at ${retryAt.toISOString()}` : 'giving up'),
      );
    } catch (storeErr) {
      this.log(
        `outbox: message ${message.id} failed (attempt ${attempts}, ${code}) and the failure could not be recorded (${errorCode(storeErr) ?? 'error'})`,
      );
    }
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`OutboxSender: ${name} must be a positive whole number.`);
  return value;
}

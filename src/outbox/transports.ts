// Mail transports for the outbox sender: a file of JSON lines (the default, for development and
// tests) and SMTP through nodemailer. Message bodies hold tickets (password reset, verification,
// invitation links), so neither transport logs, the file is private to its owner, and no error
// thrown here carries the SMTP credentials.
import { chmod, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type * as Nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';

// nodemailer is loaded when SMTP is configured, not by every start.
const require = createRequire(import.meta.url);

export interface MailMessage {
  to: string;
  subject: string;
  body: string;
}

export interface MailTransport {
  name: string;
  /** Resolves once the message is handed over; rejects (with a secret-free error) otherwise. */
  send(message: MailMessage): Promise<void>;
  close?(): Promise<void>;
}

export const DEFAULT_MAIL_FROM = 'Profile gateway <no-reply@profile-gateway.local>';

/** A failed send. The message and code are safe to store and show: no credentials in them. */
export class MailTransportError extends Error {
  override name = 'MailTransportError';
  /** nodemailer's error code (EAUTH, ECONNECTION, EENVELOPE, ...) or a Node one (ENOENT, ...). */
  readonly code: string | undefined;
  /** The SMTP reply code, when the server answered with an error. */
  readonly responseCode: number | undefined;

  constructor(message: string, code?: string, responseCode?: number) {
    super(message);
    this.code = code;
    this.responseCode = responseCode;
  }
}

/** A bad transport configuration (thrown at construction, never with the URL's secrets). */
export class MailConfigError extends Error {
  override name = 'MailConfigError';
}

// One bare address: no display name, no list, no quoting, no whitespace or control characters.
// nodemailer would read "a@x, b@y" as two recipients; a ticket goes to exactly one.
// eslint-disable-next-line no-control-regex
const SINGLE_ADDRESS = /^[^\s\x00-\x1f\x7f@<>(),;:"\\[\]]+@[^\s\x00-\x1f\x7f@<>(),;:"\\[\]]+$/u;

function checkRecipient(to: string): void {
  if (!SINGLE_ADDRESS.test(to)) {
    throw new MailTransportError('The recipient is not a single plain e-mail address.', 'EENVELOPE');
  }
}

export interface FileTransportOptions {
  /** The clock written as `at` (tests). */
  now?: () => Date;
}

/** Appends each message as one JSON line `{ at, to, subject, body }` to a file (mode 0600). */
export class FileTransport implements MailTransport {
  readonly name = 'file';
  private readonly now: () => Date;

  constructor(
    readonly file: string,
    opts: FileTransportOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  async send(message: MailMessage): Promise<void> {
    const line =
      JSON.stringify({
        at: this.now().toISOString(),
        to: message.to,
        subject: message.subject,
        body: message.body,
      }) + '\n';
    try {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const handle = await open(this.file, 'a', 0o600);
      try {
        // The mode above applies only when the file is created: tighten one made by someone else.
        const { mode } = await handle.stat();
        if ((mode & 0o077) !== 0) await chmod(this.file, 0o600);
        await handle.appendFile(line, 'utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new MailTransportError(`Could not append to the outbox file (${code ?? 'error'}).`, code);
    }
  }
}

export interface SmtpTransportOptions {
  /** smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps://... (TLS from the start). */
  url: string;
  /** The From header and envelope sender; DEFAULT_MAIL_FROM when omitted. */
  from?: string;
  /**
   * Never upgrade with STARTTLS. Only for a URL without credentials (a local relay, tests): with
   * credentials the transport requires TLS so the password never crosses the wire in clear.
   */
  ignoreTLS?: boolean;
  /** Overrides the scheme: true for TLS from the start, false for plain (then STARTTLS rules). */
  secure?: boolean;
  /** Defaults: 10 s to connect, 10 s for the greeting, 30 s of silence on an open connection. */
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
}

interface ParsedSmtpUrl {
  secure: boolean;
  host: string;
  port: number | undefined;
  user: string | null;
  pass: string | null;
  /** Every form of the credentials that might show up in an error text. */
  secrets: string[];
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new MailConfigError('SMTP_URL: the user name or password is not valid percent-encoding.');
  }
}

/** Parses the SMTP URL; error messages never quote it (it may carry a password). */
function parseSmtpUrl(raw: string): ParsedSmtpUrl {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new MailConfigError('SMTP_URL is not a valid URL (expected smtp://[user:pass@]host[:port]).');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new MailConfigError('SMTP_URL must start with smtp:// or smtps://.');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new MailConfigError('SMTP_URL has no host.');
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) {
    throw new MailConfigError('SMTP_URL takes no path, query or fragment: only smtp://[user:pass@]host[:port].');
  }
  const user = url.username ? decode(url.username) : null;
  const pass = url.password ? decode(url.password) : null;
  const secrets = new Set<string>();
  if (user !== null || pass !== null) {
    secrets.add(raw).add(raw.trim());
    for (const value of [url.username, url.password, user, pass]) if (value) secrets.add(value);
    // AUTH LOGIN sends each in base64, AUTH PLAIN sends "\0user\0pass" in base64.
    if (user) secrets.add(Buffer.from(user, 'utf8').toString('base64'));
    if (pass) secrets.add(Buffer.from(pass, 'utf8').toString('base64'));
    secrets.add(Buffer.from(`\u0000${user ?? ''}\u0000${pass ?? ''}`, 'utf8').toString('base64'));
  }
  return {
    secure: url.protocol === 'smtps:',
    host,
    port: url.port ? Number(url.port) : undefined,
    user,
    pass,
    // Longest first, so a password inside the URL is not half-replaced before the URL is.
    secrets: [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length),
  };
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out;
}

interface NodemailerErrorLike {
  message?: unknown;
  code?: unknown;
  responseCode?: unknown;
}

/** Sends through an SMTP server with nodemailer; one connection per message (no pool). */
export class SmtpTransport implements MailTransport {
  readonly name = 'smtp';
  private readonly from: string;
  private readonly secrets: readonly string[];
  private readonly mailer: Transporter;

  constructor(opts: SmtpTransportOptions) {
    const parsed = parseSmtpUrl(opts.url);
    const hasCredentials = parsed.user !== null || parsed.pass !== null;
    if (hasCredentials && opts.ignoreTLS) {
      throw new MailConfigError('SMTP: ignoreTLS is refused for a URL with credentials (they would be sent in clear).');
    }
    const secure = opts.secure ?? parsed.secure;
    this.from = opts.from ?? DEFAULT_MAIL_FROM;
    this.secrets = parsed.secrets;
    // Built from the parsed URL rather than handed the string, so that nodemailer's own parsing
    // (query options that override ours, errors that quote the URL) never comes into play.
    const { createTransport: createMailer } = require('nodemailer') as typeof Nodemailer;
    this.mailer = createMailer({
      host: parsed.host,
      ...(parsed.port !== undefined ? { port: parsed.port } : {}),
      secure,
      ...(hasCredentials ? { auth: { user: parsed.user ?? '', pass: parsed.pass ?? '' } } : {}),
      // With credentials on a plain connection, STARTTLS is mandatory, not opportunistic.
      requireTLS: hasCredentials && !secure,
      ignoreTLS: opts.ignoreTLS ?? false,
      connectionTimeout: opts.connectionTimeoutMs ?? 10_000,
      greetingTimeout: opts.greetingTimeoutMs ?? 10_000,
      socketTimeout: opts.socketTimeoutMs ?? 30_000,
      logger: false,
      debug: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(message: MailMessage): Promise<void> {
    checkRecipient(message.to);
    let info: { rejected?: unknown };
    try {
      info = (await this.mailer.sendMail({
        from: this.from,
        to: message.to,
        subject: message.subject,
        text: message.body,
      })) as { rejected?: unknown };
    } catch (err) {
      throw this.safeError(err);
    }
    if (Array.isArray(info.rejected) && info.rejected.length > 0) {
      throw new MailTransportError('The SMTP server rejected the recipient.', 'EENVELOPE');
    }
  }

  async close(): Promise<void> {
    this.mailer.close();
  }

  /** A fresh error with the code and a redacted message, no cause or response object attached. */
  private safeError(err: unknown): MailTransportError {
    const e = (typeof err === 'object' && err !== null ? err : {}) as NodemailerErrorLike;
    const code = typeof e.code === 'string' ? e.code : undefined;
    const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
    const text = typeof e.message === 'string' && e.message ? e.message : 'SMTP send failed';
    return new MailTransportError(redact(text, this.secrets), code, responseCode);
  }
}

export interface CreateTransportOptions extends Omit<SmtpTransportOptions, 'url' | 'from'> {
  /** SMTP_URL; when empty, messages go to `file`. */
  smtpUrl?: string | null;
  /** MAIL_FROM. */
  from?: string | null;
  /** OUTBOX_FILE. */
  file: string;
}

/** SMTP when a URL is configured, otherwise the JSON-lines file. */
export function createTransport(opts: CreateTransportOptions): MailTransport {
  const { smtpUrl, from, file, ...smtp } = opts;
  if (smtpUrl && smtpUrl.trim()) {
    return new SmtpTransport({ ...smtp, url: smtpUrl, from: from || DEFAULT_MAIL_FROM });
  }
  return new FileTransport(file);
}

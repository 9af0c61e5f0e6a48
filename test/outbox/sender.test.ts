// The outbox: the file and SMTP transports (SMTP against a tiny fake server on 127.0.0.1) and the
// background sender (against an in-memory OutboxStore).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultBackoffMs, OutboxSender, safeErrorText } from '../../src/outbox/sender.js';
import {
  createTransport,
  FileTransport,
  MailConfigError,
  type MailMessage,
  type MailTransport,
  MailTransportError,
  SmtpTransport,
} from '../../src/outbox/transports.js';
import type { NewOutboxMessage, OutboxMessage, OutboxStore } from '../../src/store/types.js';

// ---------------------------------------------------------------------------------------------
// Fakes

interface Row extends OutboxMessage {
  retryAt: Date | null;
  dead: boolean;
}

/** OutboxStore in memory, with the semantics the interface documents. */
class MemoryOutbox implements Pick<OutboxStore, 'pending' | 'markSent' | 'markFailed' | 'byUser'> {
  rows: Row[] = [];
  calls = { pending: 0, markSent: 0, markFailed: 0 };
  failures: Array<{ id: number; error: string; retryAt: Date | null }> = [];
  private nextId = 1;

  add(msg: Partial<NewOutboxMessage> = {}, createdAt = new Date(0)): number {
    const id = this.nextId++;
    this.rows.push({
      id,
      userId: msg.userId ?? null,
      to: msg.to ?? `user${id}@example.com`,
      subject: msg.subject ?? `Subject ${id}`,
      body: msg.body ?? `Ticket https://gateway.test/t/secret-${id}`,
      createdAt,
      attempts: 0,
      sentAt: null,
      lastError: null,
      retryAt: null,
      dead: false,
    });
    return id;
  }

  row(id: number): Row {
    const row = this.rows.find((r) => r.id === id);
    if (!row) throw new Error(`no row ${id}`);
    return row;
  }

  async pending(limit: number, now: Date): Promise<OutboxMessage[]> {
    this.calls.pending++;
    return this.rows
      .filter((r) => r.sentAt === null && !r.dead && (r.retryAt === null || r.retryAt <= now))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id)
      .slice(0, limit)
      .map(({ retryAt: _r, dead: _d, ...m }) => ({ ...m }));
  }

  async markSent(id: number, at: Date): Promise<void> {
    this.calls.markSent++;
    this.row(id).sentAt = at;
  }

  async markFailed(id: number, error: string, retryAt: Date | null): Promise<void> {
    this.calls.markFailed++;
    this.failures.push({ id, error, retryAt });
    const row = this.row(id);
    row.attempts++;
    row.lastError = error;
    row.retryAt = retryAt;
    row.dead = retryAt === null;
  }

  async byUser(userId: string): Promise<OutboxMessage[]> {
    return this.rows.filter((r) => r.userId === userId);
  }
}

/** Records what it is given; fails for chosen addresses; can hold sends until released. */
class FakeTransport implements MailTransport {
  readonly name = 'fake';
  sent: MailMessage[] = [];
  failFor = new Set<string>();
  failAll = false;
  closed = false;
  inFlight = 0;
  maxInFlight = 0;
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
  }

  async send(message: MailMessage): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate) await this.gate;
      if (this.closed) throw new Error('transport closed');
      if (this.failAll || this.failFor.has(message.to)) {
        throw Object.assign(new Error(`550 5.1.1 <${message.to}>: mailbox unavailable`), { code: 'EENVELOPE' });
      }
      this.sent.push(message);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

interface CapturedMail {
  mailFrom: string;
  rcptTo: string[];
  data: string;
}

interface FakeSmtp {
  port: number;
  mails: CapturedMail[];
  commands: string[];
  close(): Promise<void>;
}

/** Just enough SMTP for nodemailer: no STARTTLS, no AUTH offered. */
async function startFakeSmtp(opts: { rcptReply?: string; greeting?: string } = {}): Promise<FakeSmtp> {
  const mails: CapturedMail[] = [];
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let current: CapturedMail = { mailFrom: '', rcptTo: [], data: '' };
    let dataLines: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply(opts.greeting ?? '220 fake.test ESMTP ready');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let eol: number;
      while ((eol = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            current.data = dataLines.join('\r\n');
            mails.push(current);
            current = { mailFrom: '', rcptTo: [], data: '' };
            reply('250 2.0.0 OK queued');
          } else {
            dataLines.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        commands.push(line);
        const verb = line.split(' ', 1)[0]!.toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250 fake.test');
        else if (verb === 'MAIL') {
          current.mailFrom = line.slice('MAIL FROM:'.length).trim();
          reply('250 2.1.0 OK');
        } else if (verb === 'RCPT') {
          current.rcptTo.push(line.slice('RCPT TO:'.length).trim());
          reply(opts.rcptReply ?? '250 2.1.5 OK');
        } else if (verb === 'DATA') {
          inData = true;
          dataLines = [];
          reply('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 Bye');
          socket.end();
        } else if (verb === 'RSET' || verb === 'NOOP') reply('250 OK');
        else reply('502 5.5.2 Command not implemented');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    mails,
    commands,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function headersAndBody(data: string): { headers: string; body: string } {
  const split = data.indexOf('\r\n\r\n');
  return { headers: data.slice(0, split), body: data.slice(split + 4) };
}

// ---------------------------------------------------------------------------------------------

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outbox-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('FileTransport', () => {
  it('appends one JSON line per message to a 0600 file, creating the folder', async () => {
    const file = join(dir, 'nested', 'deeper', 'outbox.log');
    const at = new Date('2026-01-02T03:04:05.000Z');
    const transport = new FileTransport(file, { now: () => at });
    expect(transport.name).toBe('file');
    await transport.send({ to: 'ann@example.com', subject: 'Reset', body: 'Line 1\nhttps://x.test/t/abc' });
    await transport.send({ to: 'bob@example.com', subject: 'Verify "quoted"', body: 'Body 2' });

    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => JSON.parse(l) as unknown)).toEqual([
      { at: at.toISOString(), to: 'ann@example.com', subject: 'Reset', body: 'Line 1\nhttps://x.test/t/abc' },
      { at: at.toISOString(), to: 'bob@example.com', subject: 'Verify "quoted"', body: 'Body 2' },
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('tightens an existing file that others could read', async () => {
    const file = join(dir, 'outbox.log');
    writeFileSync(file, '', { mode: 0o644 });
    await new FileTransport(file).send({ to: 'a@example.com', subject: 's', body: 'b' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('rejects with a MailTransportError when it cannot write', async () => {
    writeFileSync(join(dir, 'not-a-folder'), '');
    const transport = new FileTransport(join(dir, 'not-a-folder', 'outbox.log'));
    await expect(transport.send({ to: 'a@example.com', subject: 's', body: 'b' })).rejects.toBeInstanceOf(
      MailTransportError,
    );
  });
});

describe('SmtpTransport', () => {
  let smtp: FakeSmtp | null = null;
  afterEach(async () => {
    await smtp?.close();
    smtp = null;
  });

  it('delivers the recipient, subject and body to the server', async () => {
    smtp = await startFakeSmtp();
    const transport = createTransport({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      from: 'Gateway <no-reply@gateway.test>',
      file: join(dir, 'unused.log'),
      ignoreTLS: true,
    });
    expect(transport).toBeInstanceOf(SmtpTransport);
    expect(transport.name).toBe('smtp');
    await transport.send({
      to: 'bob@example.com',
      subject: 'Reset your password',
      body: 'Open https://gateway.test/t/abc123 to choose a new password.',
    });
    await transport.close?.();

    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.mailFrom).toBe('<no-reply@gateway.test>');
    expect(mail.rcptTo).toEqual(['<bob@example.com>']);
    const { headers, body } = headersAndBody(mail.data);
    expect(headers).toMatch(/^To: bob@example\.com$/m);
    expect(headers).toMatch(/^Subject: Reset your password$/m);
    expect(headers).toMatch(/^From: Gateway <no-reply@gateway\.test>$/m);
    expect(body).toContain('Open https://gateway.test/t/abc123 to choose a new password.');
    expect(smtp.commands.some((c) => /^AUTH/i.test(c))).toBe(false);
  });

  it('rejects with the SMTP code when the server refuses the recipient', async () => {
    smtp = await startFakeSmtp({ rcptReply: '550 5.1.1 <bob@example.com>: no such user' });
    const transport = new SmtpTransport({ url: `smtp://127.0.0.1:${smtp.port}`, ignoreTLS: true });
    const err = await transport.send({ to: 'bob@example.com', subject: 's', body: 'b' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MailTransportError);
    expect((err as MailTransportError).code).toBe('EENVELOPE');
    expect((err as MailTransportError).responseCode).toBe(550);
    // The sender stores it with the address masked.
    expect(safeErrorText(err, { to: 'bob@example.com' })).not.toContain('bob@example.com');
    expect(smtp.mails).toHaveLength(0);
  });

  it('never sends credentials in clear and keeps them out of its errors', async () => {
    smtp = await startFakeSmtp(); // offers no STARTTLS
    const password = 'S3cret-Pa55';
    const url = `smtp://alice%40corp:${password}@127.0.0.1:${smtp.port}`;
    const transport = new SmtpTransport({ url, connectionTimeoutMs: 2000 });
    const err = await transport.send({ to: 'bob@example.com', subject: 's', body: 'b' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MailTransportError);
    const text = `${String(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ''}`;
    expect(text).not.toContain(password);
    expect(text).not.toContain(url);
    expect(smtp.commands).toContain('STARTTLS');
    expect(smtp.commands.some((c) => /^AUTH/i.test(c))).toBe(false);
    expect(smtp.mails).toHaveLength(0);
    await transport.close?.();
  });

  it('redacts credentials that the server echoes back', async () => {
    const password = 'Echoed-Pa55word';
    smtp = await startFakeSmtp({ greeting: `554 go away alice ${password}` });
    const transport = new SmtpTransport({ url: `smtps://alice:${password}@127.0.0.1:${smtp.port}`, secure: false });
    const err = await transport.send({ to: 'bob@example.com', subject: 's', body: 'b' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MailTransportError);
    expect((err as Error).message).toContain('554 go away [redacted] [redacted]');
    expect((err as Error).message).not.toContain(password);
  });

  it('refuses ignoreTLS with credentials and bad URLs, without quoting the password', () => {
    const secret = 'hunter2-very-secret';
    const attempts = [
      () => new SmtpTransport({ url: `smtp://u:${secret}@mail.test`, ignoreTLS: true }),
      () => new SmtpTransport({ url: `smtp://u:${secret}@mail test` }),
      () => new SmtpTransport({ url: `http://u:${secret}@mail.test` }),
      () => new SmtpTransport({ url: `smtp://u:${secret}@mail.test/?ignoreTLS=true` }),
      () => new SmtpTransport({ url: `smtp://u:%E0%A4%A@mail.test` }),
    ];
    for (const attempt of attempts) {
      let caught: unknown = null;
      try {
        attempt();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(MailConfigError);
      expect(String(caught)).not.toContain(secret);
    }
  });

  it('sends to exactly one plain address', async () => {
    smtp = await startFakeSmtp();
    const transport = new SmtpTransport({ url: `smtp://127.0.0.1:${smtp.port}`, ignoreTLS: true });
    for (const to of ['a@example.com, evil@example.org', 'Ann <a@example.com>', 'a@example.com\r\nBcc: x@y.z', '']) {
      await expect(transport.send({ to, subject: 's', body: 'b' })).rejects.toMatchObject({ code: 'EENVELOPE' });
    }
    expect(smtp.commands).toHaveLength(0);
  });

  it('createTransport picks the file transport when no SMTP URL is set', () => {
    const file = join(dir, 'outbox.log');
    for (const smtpUrl of [undefined, null, '', '  ']) {
      const transport = createTransport({ smtpUrl, from: null, file });
      expect(transport).toBeInstanceOf(FileTransport);
      expect((transport as FileTransport).file).toBe(file);
    }
  });
});

describe('OutboxSender', () => {
  const t0 = new Date('2026-03-01T00:00:00.000Z');
  let clock: Date;
  let store: MemoryOutbox;
  let transport: FakeTransport;
  let lines: string[];
  const senders: OutboxSender[] = [];

  function sender(opts: ConstructorParameters<typeof OutboxSender>[2] = {}): OutboxSender {
    const s = new OutboxSender(store, transport, { now: () => clock, log: (l) => lines.push(l), ...opts });
    senders.push(s);
    return s;
  }

  beforeEach(() => {
    clock = t0;
    store = new MemoryOutbox();
    transport = new FakeTransport();
    lines = [];
  });

  afterEach(async () => {
    transport.release();
    await Promise.all(senders.splice(0).map((s) => s.stop()));
  });

  function expectLogsClean(): void {
    for (const row of store.rows) {
      for (const line of lines) {
        expect(line).not.toContain(row.to);
        expect(line).not.toContain(row.body);
        expect(line).not.toContain('secret-');
      }
    }
  }

  it('sends pending messages and marks them sent; drain returns the count', async () => {
    const a = store.add({ to: 'ann@example.com', subject: 'Hello', body: 'ticket secret-a' });
    const b = store.add();
    const s = sender();

    expect(await s.drain()).toBe(2);
    expect(transport.sent).toEqual([
      { to: 'ann@example.com', subject: 'Hello', body: 'ticket secret-a' },
      { to: store.row(b).to, subject: store.row(b).subject, body: store.row(b).body },
    ]);
    expect(store.row(a).sentAt).toEqual(t0);
    expect(store.row(b).sentAt).toEqual(t0);
    expect(await s.drain()).toBe(0);
    expect(transport.sent).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/message 1 sent/);
    expect(lines.join('\n')).toMatch(/2 sent, 0 failed/);
    expectLogsClean();
  });

  it('takes at most batchSize messages per run', async () => {
    for (let i = 0; i < 5; i++) store.add();
    const s = sender({ batchSize: 2 });
    expect(await s.drain()).toBe(2);
    expect(await s.drain()).toBe(2);
    expect(await s.drain()).toBe(1);
    expect(await s.drain()).toBe(0);
  });

  it('marks a failure with a retry time, then gives up after maxAttempts', async () => {
    const id = store.add({ to: 'bob@example.com' });
    transport.failAll = true;
    const s = sender({ maxAttempts: 3 });

    expect(await s.drain()).toBe(0);
    expect(store.failures).toEqual([
      { id, error: 'EENVELOPE: 550 5.1.1 <<recipient>>: mailbox unavailable', retryAt: new Date(t0.getTime() + 5_000) },
    ]);
    // Not due yet: nothing happens.
    expect(await s.drain()).toBe(0);
    expect(store.calls.markFailed).toBe(1);

    clock = new Date(t0.getTime() + 5_000);
    await s.drain();
    expect(store.failures[1]!.retryAt).toEqual(new Date(clock.getTime() + 10_000));

    clock = new Date(clock.getTime() + 10_000);
    await s.drain();
    expect(store.failures[2]!.retryAt).toBeNull();
    expect(store.row(id).attempts).toBe(3);

    clock = new Date(clock.getTime() + 3_600_000);
    expect(await s.drain()).toBe(0);
    expect(store.calls.markFailed).toBe(3);
    expect(lines.join('\n')).toMatch(/message 1 failed \(attempt 3 of 3, EENVELOPE\); giving up/);
    expectLogsClean();
  });

  it('uses the backoff given', async () => {
    store.add();
    transport.failAll = true;
    const s = sender({ backoffMs: (attempt) => attempt * 1000 });
    await s.drain();
    expect(store.failures[0]!.retryAt).toEqual(new Date(t0.getTime() + 1000));
  });

  it('does not let one bad message block the others', async () => {
    store.add({ to: 'good1@example.com' });
    const bad = store.add({ to: 'bad@example.com' });
    store.add({ to: 'good2@example.com' });
    transport.failFor.add('bad@example.com');
    const s = sender();

    expect(await s.drain()).toBe(2);
    expect(transport.sent.map((m) => m.to)).toEqual(['good1@example.com', 'good2@example.com']);
    expect(store.row(bad).sentAt).toBeNull();
    expect(store.row(bad).attempts).toBe(1);
    expect(lines.join('\n')).toMatch(/2 sent, 1 failed/);
    expectLogsClean();
  });

  it('keeps going when the store cannot record an outcome', async () => {
    store.add();
    store.add({ to: 'bad@example.com' });
    store.add();
    transport.failFor.add('bad@example.com');
    store.markSent = () => Promise.reject(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }));
    store.markFailed = () => Promise.reject(new Error('locked'));
    const s = sender();
    expect(await s.drain()).toBe(2);
    expect(lines.join('\n')).toMatch(/message 1 sent but not marked sent \(SQLITE_IOERR\)/);
    expect(lines.join('\n')).toMatch(/message 2 failed .* could not be recorded/);
  });

  it('drain rejects when the store cannot list pending messages', async () => {
    store.pending = () => Promise.reject(new Error('no such table: outbox'));
    await expect(sender().drain()).rejects.toThrow('no such table');
  });

  it('start() polls on a timer and never runs two passes at once', async () => {
    for (let i = 0; i < 3; i++) store.add();
    transport.hold();
    const s = sender({ intervalMs: 5 });
    s.start();
    s.start(); // a second start is a no-op

    await vi.waitFor(() => expect(transport.inFlight).toBe(1));
    await new Promise((r) => setTimeout(r, 50)); // many ticks while the first send hangs
    expect(store.calls.pending).toBe(1);
    const drained = s.drain(); // queued behind the run in progress, not beside it
    transport.release();

    await vi.waitFor(() => expect(store.rows.every((r) => r.sentAt !== null)).toBe(true));
    expect(await drained).toBe(0);
    expect(transport.maxInFlight).toBe(1);
    expect(transport.sent).toHaveLength(3);

    store.add();
    await vi.waitFor(() => expect(transport.sent).toHaveLength(4));
  });

  it('skips the ticks that come while a run hangs instead of queueing them', async () => {
    store.add();
    transport.hold();
    const s = sender({ intervalMs: 5 });
    s.start();
    await vi.waitFor(() => expect(transport.inFlight).toBe(1));
    await new Promise((r) => setTimeout(r, 60)); // about a dozen ticks
    transport.release();
    await s.stop();
    expect(transport.sent).toHaveLength(1);
    expect(store.calls.pending).toBeLessThanOrEqual(2);
  });

  it('stop() waits for the run in progress, then closes the transport', async () => {
    store.add();
    store.add();
    transport.hold();
    const s = sender({ intervalMs: 5 });
    s.start();
    await vi.waitFor(() => expect(transport.inFlight).toBe(1));

    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);
    expect(transport.closed).toBe(false);

    transport.release();
    await stopping;
    expect(transport.closed).toBe(true);
    // The message in hand was finished and recorded; the next one waits for the next start.
    expect(store.row(1).sentAt).toEqual(t0);
    expect(store.row(2).sentAt).toBeNull();
    expect(transport.sent).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/1 sent, 0 failed, 1 left for later/);

    const callsAfterStop = store.calls.pending;
    await new Promise((r) => setTimeout(r, 30));
    expect(store.calls.pending).toBe(callsAfterStop);
    await expect(s.drain()).rejects.toThrow('stopped');
    await s.stop(); // idempotent
  });

  it('rejects nonsense options', () => {
    expect(() => sender({ batchSize: 0 })).toThrow(RangeError);
    expect(() => sender({ intervalMs: 1.5 })).toThrow(RangeError);
  });
});

describe('defaultBackoffMs', () => {
  it('doubles from 5 s and caps at 10 minutes', () => {
    expect([1, 2, 3, 4].map(defaultBackoffMs)).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(defaultBackoffMs(8)).toBe(600_000);
    expect(defaultBackoffMs(1000)).toBe(600_000);
  });
});

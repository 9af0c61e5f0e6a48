// A real HTTP receiver for webhook tests: records every request (headers and raw body) and
// answers as the test says (a status, or no answer at all).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Answered with a 2xx. */
  accepted(): Received[];
  /** Decides the answer of each request (default 204); null: never answer. */
  respond: (req: { headers: IncomingHttpHeaders; body: string; n: number }) => number | null | Promise<number | null>;
  /** Resolves when `predicate` holds over what was received, or rejects after `ms`. */
  waitFor(predicate: (r: Receiver) => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  let n = 0;
  const receiver: Receiver = {
    url: '',
    received: [],
    accepted: () => receiver.received.filter((r) => r.status >= 200 && r.status < 300),
    respond: () => 204,
    async waitFor(predicate, ms = 10_000) {
      const until = Date.now() + ms;
      while (!predicate(receiver)) {
        if (Date.now() > until) throw new Error(`receiver: condition not met in ${ms} ms (${receiver.received.length} requests received)`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      n += 1;
      const status = await receiver.respond({ headers: req.headers, body, n });
      if (status === null) {
        hanging.add(res);
        return;
      }
      receiver.received.push({ headers: req.headers, body, status, at: Date.now() });
      res.writeHead(status).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

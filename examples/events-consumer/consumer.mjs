// A webhook consumer for the profile gateway's change events: verifies each delivery's signature
// (Standard Webhooks), refuses stale or replayed ones, ignores the events its own writes caused,
// and hands the rest to `onEvent`. No dependencies: node:http and node:crypto.
//
//   WEBHOOK_SECRET=whsec_… MY_SUB=crm-sync PORT=8080 node examples/events-consumer/consumer.mjs
//
// MY_SUB is the `sub` of the token this service writes to the gateway with: events whose
// `data.actor` is that sub are its own writes coming back, and are skipped (no echo loops).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const TOLERANCE_SECONDS = 5 * 60;

/** True when `headers` carry a valid signature of `body` made with `secret` less than 5 minutes ago. */
export function verifyWebhook(secret, headers, body, now = Date.now()) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`);
  // Several signatures may be sent at once (during a secret rotation), separated by spaces.
  return signatures.split(' ').some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * An http.Server handling deliveries. `onEvent(event)` gets each CloudEvent once (a retried or
 * redelivered event has the same `webhook-id`), except those `mySub` caused.
 */
export function createConsumer({ secret, mySub, onEvent, onSkipped = () => {} }) {
  const seen = new Set();
  return createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || !verifyWebhook(secret, req.headers, body)) {
        res.writeHead(401).end();
        return;
      }
      const id = req.headers['webhook-id'];
      // Answer 2xx for a duplicate too: the gateway stops retrying only on a 2xx.
      if (seen.has(id)) {
        res.writeHead(204).end();
        return;
      }
      const event = JSON.parse(body);
      try {
        if (event.data?.actor === mySub) onSkipped(event);
        else await onEvent(event);
        seen.add(id);
        if (seen.size > 10_000) seen.delete(seen.values().next().value);
        res.writeHead(204).end();
      } catch {
        // Not handled: a non-2xx answer makes the gateway try again later.
        res.writeHead(500).end();
      }
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) {
    console.error('Set WEBHOOK_SECRET to the secret createWebhook returned.');
    process.exit(1);
  }
  const server = createConsumer({
    secret,
    mySub: process.env.MY_SUB ?? '',
    onEvent: (e) => console.log(`${e.time} ${e.type} ${e.subject} fields=${(e.data.fields ?? []).join(',')} by ${e.data.actor}`),
    onSkipped: (e) => console.log(`${e.time} ${e.type} ${e.subject}: our own write, skipped`),
  });
  const port = Number(process.env.PORT ?? 8080);
  server.listen(port, () => console.log(`Listening for profile gateway events on http://localhost:${port}/`));
}

// Publishing change events to NATS JetStream (NATS_URL): subject `profile.events.<type>`, the
// CloudEvents JSON as the payload, the event id as the message id, so JetStream drops a second
// copy (a redelivery, or a publish retried after its acknowledgement was lost) within its
// duplicate window. The publisher is one more consumer with a cursor: it resumes where it stopped.
import { connect, type JetStreamClient, type NatsConnection, nanos, headers as natsHeaders } from 'nats';
import type { EventSink } from './events.js';
import { NATS_CONSUMER } from './events.js';

export { NATS_CONSUMER };
export const NATS_STREAM = 'PROFILE_EVENTS';
export const NATS_SUBJECT_PREFIX = 'profile.events';

export interface NatsPublisher {
  sink: EventSink;
  close(): Promise<void>;
}

/** Connects, makes sure the stream exists (`profile.events.>`), and answers the sink. */
export async function openNatsPublisher(url: string, opts: { stream?: string; retentionDays?: number } = {}): Promise<NatsPublisher> {
  const nc: NatsConnection = await connect({ servers: url, name: 'profile-gateway', maxReconnectAttempts: -1 });
  const stream = opts.stream ?? NATS_STREAM;
  const jsm = await nc.jetstreamManager();
  const maxAge = nanos((opts.retentionDays ?? 30) * 86_400_000);
  try {
    const info = await jsm.streams.info(stream);
    // A stream made before (or by hand) without an age limit gets the gateway's retention.
    if (info.config.max_age === 0) await jsm.streams.update(stream, { max_age: maxAge });
  } catch {
    try {
      // Kept as long as the gateway keeps its events (EVENT_RETENTION_DAYS), no longer: a stream
      // without limits would grow for ever and hold erased users' ids past their erasure's reach.
      // The duplicate window (2 minutes) covers a publish repeated after a crash.
      await jsm.streams.add({ name: stream, subjects: [`${NATS_SUBJECT_PREFIX}.>`], max_age: maxAge, duplicate_window: nanos(120_000) });
    } catch (err) {
      // Another instance made it meanwhile.
      await jsm.streams.info(stream).catch(() => {
        throw err;
      });
    }
  }
  const js: JetStreamClient = nc.jetstream();
  const encoder = new TextEncoder();
  return {
    sink: {
      types: [],
      async send(event, body) {
        const h = natsHeaders();
        h.set('content-type', 'application/cloudevents+json');
        h.set('ce-id', event.id);
        h.set('ce-type', event.type);
        h.set('ce-subject', event.subject);
        await js.publish(`${NATS_SUBJECT_PREFIX}.${event.type}`, encoder.encode(body), { msgID: event.id, headers: h, timeout: 5000 });
      },
    },
    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}

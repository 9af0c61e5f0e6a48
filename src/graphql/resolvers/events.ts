import {
  createWebhook,
  deleteWebhook,
  eventCursor,
  listEvents,
  listWebhooks,
  redeliverEvents,
  webhookDelivery,
  webhookFailures,
} from '../../app/webhooks.js';
import { EVENT_SOURCE, toCloudEvent } from '../../outbox/events.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const eventResolvers: Resolvers = {
  Query: {
    events: (_, { after, first, types }, ctx) => listEvents(ctx, { after, first: first ?? 100, types }),
    webhooks: (_, __, ctx) => listWebhooks(ctx),
  },
  Mutation: {
    createWebhook: (_, { input }, ctx) => createWebhook(ctx, { url: String(input.url), types: input.types, secret: input.secret }),
    deleteWebhook: (_, { id }, ctx) => deleteWebhook(ctx, id),
    redeliverEvents: (_, { webhook, after }, ctx) => redeliverEvents(ctx, webhook, after),
  },
  ChangeEventConnection: {
    edges: (page) => page.rows.map((node) => ({ cursor: eventCursor(node.seq), node })),
    pageInfo: (page) => ({ hasNextPage: page.hasNextPage, endCursor: page.rows.length > 0 ? eventCursor((page.rows.at(-1) as { seq: number }).seq) : null }),
    totalCount: (page, _, ctx) => ctx.store.events.count(page.types),
  },
  ChangeEvent: {
    specversion: () => '1.0',
    source: (_e, _, ctx) => ctx.events?.source ?? EVENT_SOURCE,
    datacontenttype: () => 'application/json',
    data: (e) => ({ ...e.data }),
    cloudEvent: (e, _, ctx) => ({ ...toCloudEvent(e, ctx.events?.source ?? EVENT_SOURCE) }),
  },
  Webhook: {
    delivery: (w, _, ctx) => webhookDelivery(ctx, w.id),
    failures: (w, { first }, ctx) => webhookFailures(ctx, w.id, first ?? 20),
  },
  WebhookDelivery: {
    deliveredThrough: (d) => eventCursor(d.afterSeq),
  },
  WebhookFailure: {
    redeliverAfter: (f) => eventCursor(f.seq - 1),
  },
};

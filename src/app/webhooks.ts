// Webhooks and the pull of change events. Scopes are checked by the shield rules (update:webhooks,
// read:events); the URL, the types and the secret here. The secret is sealed before it reaches
// the store and returned once, in createWebhook's answer.
import { randomBytes } from 'node:crypto';
import { type ChangeEventType, EVENT_TYPES, isEventType } from '../domain/events.js';
import type { UserError } from '../domain/types.js';
import { openEvent } from '../outbox/events.js';
import { newWebhookSecret, secretKey } from '../outbox/signing.js';
import { webhookUrlProblem } from '../outbox/webhook-urls.js';
import type { DeliveryCursor, DeliveryFailure, EventPage, WebhookRow } from '../store/types.js';
import type { AppContext } from './context.js';
import { badUserInput, notFound, unauthenticated } from './errors.js';

const MAX_WEBHOOKS = 100;

function settings(ctx: AppContext) {
  if (!ctx.events) throw new Error('webhooks need the event settings (the runtime gives them)');
  return ctx.events;
}

function typeErrors(types: readonly string[]): UserError[] {
  const unknown = types.filter((t) => !isEventType(t));
  return unknown.length === 0
    ? []
    : [{ field: ['types'], code: 'UNKNOWN_EVENT_TYPE', message: `Unknown event types: ${unknown.join(', ')}. The types are ${EVENT_TYPES.join(', ')}.` }];
}

export async function createWebhook(
  ctx: AppContext,
  input: { url: string; types?: readonly string[] | null; secret?: string | null },
): Promise<{ webhook: WebhookRow | null; secret: string | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const { box, allowPrivate } = settings(ctx);
  const types = [...new Set(input.types ?? [])];
  const errors = typeErrors(types);
  const problem = await webhookUrlProblem(input.url, allowPrivate);
  if (problem) errors.push({ field: ['url'], code: 'WEBHOOK_URL_NOT_ALLOWED', message: problem });
  if (input.secret != null && !secretKey(input.secret)) {
    errors.push({
      field: ['secret'],
      code: 'INVALID_WEBHOOK_SECRET',
      message: 'A webhook secret is `whsec_` followed by the base64 of 24 to 64 random bytes (the Standard Webhooks form); leave it out to have one made.',
    });
  }
  if ((await ctx.store.webhooks.list()).length >= MAX_WEBHOOKS) {
    errors.push({ field: null, code: 'TOO_MANY_WEBHOOKS', message: `A tenant has at most ${MAX_WEBHOOKS} webhooks; delete one first.` });
  }
  if (errors.length > 0) return { webhook: null, secret: null, userErrors: errors };
  const secret = input.secret ?? newWebhookSecret();
  const row: WebhookRow = {
    id: `whk_${randomBytes(12).toString('base64url')}`,
    url: input.url,
    types: types as ChangeEventType[],
    createdAt: new Date(),
    createdBy: caller.sub,
  };
  await ctx.store.webhooks.create(row, box.seal(secret), { actorId: caller.sub, operation: 'createWebhook' });
  return { webhook: row, secret, userErrors: [] };
}

export async function deleteWebhook(ctx: AppContext, id: string): Promise<{ deletedWebhookId: string | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  if (!(await ctx.store.webhooks.delete(id, { actorId: caller.sub, operation: 'deleteWebhook' }))) throw notFound('webhook', id);
  return { deletedWebhookId: id, userErrors: [] };
}

export function listWebhooks(ctx: AppContext): Promise<WebhookRow[]> {
  return ctx.store.webhooks.list();
}

/** Cursors of the events query and redeliverEvents: opaque, the event's seq inside (it survives restarts). */
export function eventCursor(seq: number): string {
  return Buffer.from(`ev:${seq}`, 'utf8').toString('base64url');
}

/** A cursor from eventCursor, or an event's id (CloudEvents `id`); null when it is neither. */
async function seqOf(ctx: AppContext, after: string): Promise<number | null> {
  if (/^[A-Za-z0-9_-]+$/.test(after)) {
    const text = Buffer.from(after, 'base64url').toString('utf8');
    const m = /^ev:(\d{1,15})$/.exec(text);
    if (m?.[1]) return Number(m[1]);
  }
  return ctx.store.events.seqOf(after);
}

export async function redeliverEvents(
  ctx: AppContext,
  webhookId: string,
  after: string | null | undefined,
): Promise<{ webhook: WebhookRow | null; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const [webhook] = await ctx.store.webhooks.byIds([webhookId]);
  if (!webhook) throw notFound('webhook', webhookId);
  const seq = after ? await seqOf(ctx, after) : 0;
  if (seq === null) {
    return {
      webhook: null,
      userErrors: [{ field: ['after'], code: 'EVENT_NOT_FOUND', message: 'after must be a cursor of the events query or an event id that is still kept.' }],
    };
  }
  await ctx.store.webhooks.redeliver(webhook.id, seq, { actorId: caller.sub, operation: 'redeliverEvents' });
  return { webhook, userErrors: [] };
}

export async function webhookDelivery(ctx: AppContext, id: string): Promise<DeliveryCursor | null> {
  return (await ctx.store.deliveries.cursors([id]))[0] ?? null;
}

export function webhookFailures(ctx: AppContext, id: string, first: number): Promise<DeliveryFailure[]> {
  return ctx.store.deliveries.failures(id, Math.min(Math.max(first, 1), 100));
}

export async function listEvents(
  ctx: AppContext,
  args: { after?: string | null; first: number; types?: readonly string[] | null },
): Promise<EventPage & { types: ChangeEventType[] }> {
  if (!Number.isInteger(args.first) || args.first < 1 || args.first > 1000) throw badUserInput('first must be from 1 to 1000.', 'first');
  const types = args.types ?? [];
  if (typeErrors(types).length > 0) throw badUserInput(`Unknown event types; the types are ${EVENT_TYPES.join(', ')}.`, 'types');
  const after = args.after ? await seqOf(ctx, args.after) : null;
  if (args.after && after === null) throw badUserInput('The cursor is malformed, or names an event no longer kept: pass an endCursor or edge cursor from an earlier page.', 'after');
  const page = await ctx.store.events.list({ after, first: args.first, types: types as ChangeEventType[] });
  return { ...page, rows: page.rows.map((row) => openEvent(row, ctx.events?.box)), types: types as ChangeEventType[] };
}

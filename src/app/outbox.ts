// The outbox, operable: a tenant administrator lists messages by status and retries or discards
// one that has not been sent. Never a body or an address: a body may hold a live ticket. The
// scopes are checked by the shield rules (read:users to list, update:users to change).
import type { UserError } from '../domain/types.js';
import type { OutboxChange, OutboxMessageSummary, OutboxStatus } from '../store/types.js';
import type { AppContext } from './context.js';
import { badUserInput, notFound, unauthenticated } from './errors.js';

const MAX_FIRST = 100;

function messageId(id: string, field = 'id'): number {
  if (!/^[1-9][0-9]{0,15}$/.test(id)) throw badUserInput(`${field} must be an outbox message id (a positive whole number).`, field);
  return Number(id);
}

export async function listOutboxMessages(
  ctx: AppContext,
  args: { status: OutboxStatus; first: number; after?: string | null },
): Promise<OutboxMessageSummary[]> {
  if (!Number.isInteger(args.first) || args.first < 1 || args.first > MAX_FIRST) {
    throw badUserInput(`first must be from 1 to ${MAX_FIRST}.`, 'first');
  }
  const afterId = args.after ? messageId(args.after, 'after') : null;
  return ctx.store.outbox.list({ status: args.status, first: args.first, afterId });
}

const SENT: UserError = {
  field: ['id'],
  code: 'OUTBOX_MESSAGE_SENT',
  message: 'This message was delivered already: there is nothing to retry or discard.',
};

function outcome(change: OutboxChange, id: string): { message: OutboxMessageSummary | null; userErrors: UserError[] } {
  if (change.ok) return { message: change.message, userErrors: [] };
  if (change.problem === 'missing') throw notFound('outbox message', id);
  return { message: null, userErrors: [SENT] };
}

export async function retryOutboxMessage(ctx: AppContext, id: string) {
  if (!ctx.caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const change = await ctx.store.outbox.retry(messageId(id), new Date(), { actorId: ctx.caller.sub, operation: 'retryOutboxMessage' });
  const { message, userErrors } = outcome(change, id);
  if (message) ctx.obs?.log.info({ event: 'outbox_retried', messageId: message.id, requestId: ctx.request?.requestId }, 'outbox message retried by an operator');
  return { outboxMessage: message, userErrors };
}

export async function discardOutboxMessage(ctx: AppContext, id: string) {
  if (!ctx.caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const change = await ctx.store.outbox.discard(messageId(id), { actorId: ctx.caller.sub, operation: 'discardOutboxMessage' });
  const { message, userErrors } = outcome(change, id);
  if (message) ctx.obs?.log.info({ event: 'outbox_discarded', messageId: message.id, requestId: ctx.request?.requestId }, 'outbox message discarded by an operator');
  return { discardedMessageId: message ? String(message.id) : null, userErrors };
}

// The events of a write, planned by the app beside the write and recorded by the store in its
// transaction: who acted (the caller's sub, and the organization of a help desk) is known here.
import { type EventActor, membershipEvents, userEvents } from '../domain/events.js';
import { sealEvent } from '../outbox/events.js';
import type { SecretBox } from '../outbox/signing.js';
import type { EventPlan, MembershipWrite, UserWrite } from '../store/types.js';
import type { AppContext } from './context.js';

export function eventActor(ctx: AppContext, organization?: string | null, fallback = 'system'): EventActor {
  return { actor: ctx.caller?.sub ?? fallback, organization: organization ?? null };
}

export const userEventPlan =
  (by: EventActor): EventPlan<UserWrite> =>
  (write) =>
    userEvents(write, by);

export const membershipEventPlan =
  (by: EventActor): EventPlan<MembershipWrite> =>
  (write) =>
    membershipEvents(write, by);

/**
 * The deletion notices of an erasure name the erased id (consumers erase their copies by it), yet
 * the id must not stay readable in the database: they are kept encrypted with the webhook key, and
 * opened when read or delivered. Without a key (a CLI job) they are kept as they are.
 */
export function sealedEventPlan<W>(plan: EventPlan<W>, box: SecretBox | undefined): EventPlan<W> {
  if (!box) return plan;
  return (write) => plan(write).map((e) => sealEvent(e, box));
}

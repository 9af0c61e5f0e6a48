// The events of a write, planned by the app beside the write and recorded by the store in its
// transaction: who acted (the caller's sub, and the organization of a help desk) is known here.
import { type EventActor, membershipEvents, userEvents } from '../domain/events.js';
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

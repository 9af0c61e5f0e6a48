// The events of a write, planned by the app beside the write and recorded by the store in its
// transaction: who acted (the caller's sub, and the organization of a help desk) is known here.
import type { AttributeSettings } from '../domain/attributes.js';
import { connectionEvents, type EventActor, membershipEvents, type NewChangeEvent, userEvents } from '../domain/events.js';
import { sealEvent } from '../outbox/events.js';
import type { SecretBox } from '../outbox/signing.js';
import type { ConnectionRow, EventPlan, MembershipWrite, UserWrite } from '../store/types.js';
import type { AppContext } from './context.js';

/** Who acted, and how to tell this process's delivery worker that events are on their way. */
export interface AppEventActor extends EventActor {
  notify?: () => void;
}

export function eventActor(ctx: AppContext, organization?: string | null, fallback = 'system'): AppEventActor {
  return { actor: ctx.caller?.sub ?? fallback, organization: organization ?? null, notify: ctx.events?.notify };
}

/**
 * The plan runs inside the write's transaction: the worker is told after this turn of the event
 * loop, when the transaction has committed (it polls anyway: being told early or for a write that
 * rolled back costs one empty read).
 */
function told(events: NewChangeEvent[], by: AppEventActor): NewChangeEvent[] {
  if (events.length > 0 && by.notify) setImmediate(by.notify);
  return events;
}

/** `settings`: the user's connection's declared attributes (keys the tenant may not view go unnamed). */
export const userEventPlan =
  (by: AppEventActor, settings?: AttributeSettings): EventPlan<UserWrite> =>
  (write) =>
    told(userEvents(write, by, settings), by);

/**
 * The events of a user write as values: the app makes them (before the write, from the row it
 * decided on and the row the decision leaves) and the store records them as they are; `notify`
 * tells this process's delivery worker once the write has committed.
 */
export interface UserEvents {
  of(write: UserWrite): NewChangeEvent[];
  notify(): void;
}

export function userEventsOf(by: AppEventActor, settings?: AttributeSettings): UserEvents {
  return {
    of: (write) => userEvents(write, by, settings),
    notify: () => {
      if (by.notify) setImmediate(by.notify);
    },
  };
}

export const membershipEventPlan =
  (by: AppEventActor): EventPlan<MembershipWrite> =>
  (write) =>
    told(membershipEvents(write, by), by);

export const connectionEventPlan =
  (by: AppEventActor): EventPlan<{ before: ConnectionRow; after: ConnectionRow }> =>
  ({ before, after }) =>
    told(connectionEvents(before, after, by), by);

/**
 * The deletion notices of an erasure name the erased id (consumers erase their copies by it), yet
 * the id must not stay readable in the database: they are kept encrypted with the webhook key, and
 * opened when read or delivered. Without a key (a CLI job) they are kept as they are.
 */
export function sealedEvents(events: NewChangeEvent[], box: SecretBox | undefined): NewChangeEvent[] {
  return box ? events.map((e) => sealEvent(e, box)) : events;
}

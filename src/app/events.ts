// The events of a write, decided by the app as values before the write and recorded as given by the
// store in its transaction: who acted (the caller's sub, and the organization of a help desk) is
// known here.
import type { AttributeSettings } from '../domain/attributes.js';
import { connectionEvents, type EventActor, membershipEvents, type NewChangeEvent, userEvents } from '../domain/events.js';
import { sealEvent } from '../outbox/events.js';
import type { SecretBox } from '../outbox/signing.js';
import type { ConnectionRow, MembershipWrite, UserWrite } from '../store/types.js';
import type { AppContext } from './context.js';

/** Who acted, and how to tell this process's delivery worker that events are on their way. */
export interface AppEventActor extends EventActor {
  notify?: () => void;
}

export function eventActor(ctx: AppContext, organization?: string | null, fallback = 'system'): AppEventActor {
  return { actor: ctx.caller?.sub ?? fallback, organization: organization ?? null, notify: ctx.events?.notify };
}

/**
 * The events of a user write as values: the app makes them (before the write, from the row it
 * decided on and the row the decision leaves, or the user it inserts) and the store records them
 * as they are; `notify` tells this process's delivery worker once the write has committed.
 */
export interface UserEvents {
  of(write: UserWrite): NewChangeEvent[];
  notify(): void;
}

export function userEventsOf(by: AppEventActor, settings?: AttributeSettings): UserEvents {
  return {
    of: (write) => userEvents(write, by, settings),
    notify: () => told(by),
  };
}

/** A membership write's events, made by the app from the membership it decided on and the one the write leaves. */
export const membershipEventsOf = (by: AppEventActor, write: MembershipWrite): NewChangeEvent[] => membershipEvents(write, by);

/** A connection update's events, made by the app from the row it decided on and the row the update leaves. */
export const connectionEventsOf = (by: AppEventActor, before: ConnectionRow, after: Pick<ConnectionRow, 'name' | 'strategy' | 'options'>): NewChangeEvent[] =>
  connectionEvents(before, after, by);

/**
 * Tells this process's delivery worker that a committed write recorded events (after this turn of
 * the event loop; it polls anyway, so being told for nothing costs one empty read).
 */
export function told(by: AppEventActor, events?: readonly NewChangeEvent[]): void {
  if ((events === undefined || events.length > 0) && by.notify) setImmediate(by.notify);
}

/**
 * The deletion notices of an erasure name the erased id (consumers erase their copies by it), yet
 * the id must not stay readable in the database: they are kept encrypted with the webhook key, and
 * opened when read or delivered. Without a key (a CLI job) they are kept as they are.
 */
export function sealedEvents(events: NewChangeEvent[], box: SecretBox | undefined): NewChangeEvent[] {
  return box ? events.map((e) => sealEvent(e, box)) : events;
}

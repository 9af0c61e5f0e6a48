// Change events: what a committed write says to the outside (api-contract.md, "Change events").
// Decided here, by the app before the write, from what the write does (the row decided on and the
// row it leaves, or the row it inserts), and recorded as given by the store in the write's
// transaction, only when the write is applied: an event is never lost and never announces a change
// that rolled back or went stale. Names and versions only, never values.
import { type AttributeObject, type AttributeSettings, declarationOf, mayView, NO_ATTRIBUTE_SETTINGS } from './attributes.js';
import type { Metadata } from './types.js';
import { upper } from './names.js';

export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.blocked',
  'user.unblocked',
  'membership.created',
  'membership.updated',
  'membership.deleted',
  'connection.updated',
] as const;
export type ChangeEventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is ChangeEventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** The CloudEvents `data` of a change event. */
export interface ChangeEventData {
  /** The user's version after the change (user events only). */
  version?: number;
  /** Changed fields as ProfileField values (EMAIL, USER_METADATA…), or ROLES for a membership; never values. */
  fields: string[];
  /** The changed keys of user_metadata / app_metadata, as `userMetadata.KEY` / `appMetadata.KEY`. */
  attributes?: string[];
  /** The caller's `sub`: a consumer skips the events it caused. */
  actor: string;
  /** The organization of a membership, or the one through which a help desk acted. */
  organization?: string;
  /**
   * At rest only, in the deletion notices of an erasure: the event's subject and data, encrypted
   * (the erased id must not stay readable on disk); opened again before anyone sees the event.
   */
  sealed?: string;
}

/** An event as the app hands it to the store; the store gives it its id, seq and time. */
export interface NewChangeEvent {
  type: ChangeEventType;
  /** The object's id: the user's (also for memberships), or the connection's. */
  subject: string;
  data: ChangeEventData;
}

/** A recorded event: `seq` is the commit order (one writer), `id` the CloudEvents id. */
export interface ChangeEventRow extends NewChangeEvent {
  seq: number;
  id: string;
  time: Date;
}

/** Who caused a write, as every event says it. */
export interface EventActor {
  actor: string;
  /** The organization through which a help desk acted, if that is how. */
  organization?: string | null;
}

/** What the events of a user write need to know of the user before and after. */
export interface UserState {
  version: number;
  blocked: boolean;
  userMetadata: Metadata;
  appMetadata: Metadata;
}

/** A user write as the store saw it in its transaction. `changed` holds the store's field names. */
export interface UserWrite {
  userId: string;
  before: UserState | null;
  after: UserState | null;
  changed: string[];
  /** On erasure: the organizations whose memberships went with the user. */
  organizationsLeft?: string[];
}

export interface MembershipState {
  organizationId: string;
  userId: string;
  roles: readonly string[];
}

export interface MembershipWrite {
  before: MembershipState | null;
  after: MembershipState | null;
}

/** Changes recorded on a login or a write that are bookkeeping, not a change of the profile. */
const BOOKKEEPING = new Set(['last_login', 'logins_count', 'last_ip', 'profile_synced_at', 'password_rehash']);

function base(by: EventActor): Pick<ChangeEventData, 'actor' | 'organization'> {
  return by.organization ? { actor: by.actor, organization: by.organization } : { actor: by.actor };
}

/** Who reads events, for the attribute view rules: the tenant (read:events, webhooks). */
const EVENT_READER = { tenantAdmin: true, helpDesk: false, self: false };

/** Keys whose value differs between two metadata objects. */
function changedKeys(before: Metadata, after: Metadata): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

/**
 * The events of one user write: user.created, user.deleted (after membership.deleted for each
 * membership that went), user.blocked / user.unblocked when the block changed, and user.updated
 * for any other profile field. Bookkeeping alone (a login's count and time) emits nothing.
 */
export function userEvents(write: UserWrite, by: EventActor, settings: AttributeSettings = NO_ATTRIBUTE_SETTINGS): NewChangeEvent[] {
  const subject = write.userId;
  if (!write.after) {
    const left = (write.organizationsLeft ?? []).map(
      (organization): NewChangeEvent => ({ type: 'membership.deleted', subject, data: { fields: ['ROLES'], actor: by.actor, organization } }),
    );
    return [...left, { type: 'user.deleted', subject, data: { fields: [], ...base(by) } }];
  }
  const version = write.after.version;
  const fields = [...new Set(write.changed.filter((f) => !BOOKKEEPING.has(f)))].map((f) => upper(f));
  if (fields.length === 0) return [];
  const attributes: string[] = [];
  // Events are read by tenant-wide consumers (read:events, webhooks): a declared key a tenant
  // administrator may not view is not named, as it is absent from the metadata they read.
  const named = (object: AttributeObject, key: string) => mayView(declarationOf(settings, object, key), EVENT_READER);
  if (write.before) {
    if (fields.includes('USER_METADATA')) {
      attributes.push(...changedKeys(write.before.userMetadata, write.after.userMetadata).filter((k) => named('user_metadata', k)).map((k) => `userMetadata.${k}`));
    }
    if (fields.includes('APP_METADATA')) {
      attributes.push(...changedKeys(write.before.appMetadata, write.after.appMetadata).filter((k) => named('app_metadata', k)).map((k) => `appMetadata.${k}`));
    }
  }
  const withAttributes = attributes.length > 0 ? { attributes } : {};
  if (!write.before) return [{ type: 'user.created', subject, data: { version, fields, ...withAttributes, ...base(by) } }];
  const events: NewChangeEvent[] = [];
  const others = fields.filter((f) => f !== 'BLOCKED');
  if (others.length > 0) events.push({ type: 'user.updated', subject, data: { version, fields: others, ...withAttributes, ...base(by) } });
  if (fields.includes('BLOCKED') && write.before.blocked !== write.after.blocked) {
    events.push({ type: write.after.blocked ? 'user.blocked' : 'user.unblocked', subject, data: { version, fields: ['BLOCKED'], ...base(by) } });
  }
  return events;
}

/** membership.created, .updated (roles changed) or .deleted; nothing when the roles stay the same. */
export function membershipEvents(write: MembershipWrite, by: EventActor): NewChangeEvent[] {
  const m = write.after ?? write.before;
  if (!m) return [];
  const data = { fields: ['ROLES'], actor: by.actor, organization: m.organizationId };
  if (!write.before) return [{ type: 'membership.created', subject: m.userId, data }];
  if (!write.after) return [{ type: 'membership.deleted', subject: m.userId, data }];
  const same = [...write.before.roles].sort().join() === [...write.after.roles].sort().join();
  return same ? [] : [{ type: 'membership.updated', subject: m.userId, data }];
}

/** connection.updated naming what changed: NAME, STRATEGY, and each option key (`options.KEY`). */
export function connectionEvents(
  before: { id: string; name: string; strategy: string; options: Record<string, unknown> },
  after: { name: string; strategy: string; options: Record<string, unknown> },
  by: EventActor,
): NewChangeEvent[] {
  const fields: string[] = [];
  if (before.name !== after.name) fields.push('NAME');
  if (before.strategy !== after.strategy) fields.push('STRATEGY');
  fields.push(...changedKeys(before.options as Metadata, after.options as Metadata).map((k) => `options.${k}`));
  return fields.length === 0 ? [] : [{ type: 'connection.updated', subject: before.id, data: { fields, actor: by.actor } }];
}

// user_metadata / app_metadata: the one-level-deep merge and the rules the merged object must follow
// (shared/domain.md, "Writing"). Pure: no graphql, drizzle or IO.

import { hasUnusableCharacters, unusableCharactersError } from './validation.js';
import type { Metadata, UserError } from './types.js';

export type MetadataField = 'user_metadata' | 'app_metadata';

/** Each metadata object, after the merge, is at most this many UTF-8 bytes as JSON. */
export const METADATA_MAX_BYTES = 16 * 1024;

/**
 * Auth0's reserved names: an app_metadata top-level key may not be one of them, compared
 * case-insensitively after trimming (so "Blocked" and "email " are refused too).
 */
export const RESERVED_APP_METADATA_KEYS: readonly string[] = Object.freeze([
  'blocked',
  'clientID',
  'created_at',
  'email_verified',
  'email',
  'globalClientID',
  'global_client_id',
  'identities',
  'lastIP',
  'lastLogin',
  'loginsCount',
  'metadata',
  'multifactor',
  'updated_at',
  'user_id',
  'user_metadata',
  'app_metadata',
  'last_password_reset',
  'password',
  'phone_number',
  'phone_verified',
  'username',
  'nickname',
  'name',
  'given_name',
  'family_name',
  'picture',
]);

const reservedForm = (key: string) => key.trim().toLowerCase();
const RESERVED_SET: ReadonlySet<string> = new Set(RESERVED_APP_METADATA_KEYS.map(reservedForm));

/**
 * Keys no metadata object may have at any depth: a client that merges metadata with Object.assign
 * or a recursive merge would change its objects' prototypes.
 */
export const FORBIDDEN_METADATA_KEYS: readonly string[] = Object.freeze(['__proto__', 'constructor', 'prototype']);
const FORBIDDEN_KEY_SET: ReadonlySet<string> = new Set(FORBIDDEN_METADATA_KEYS);

const CAMEL: Record<MetadataField, string> = {
  user_metadata: 'userMetadata',
  app_metadata: 'appMetadata',
};

/** Characters a metadata key may not contain, at any depth. */
const FORBIDDEN_KEY_CHARS = /[.$]/;

const encoder = new TextEncoder();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Defines an own, enumerable property: safe for keys such as `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A deep copy of a JSON-like value: plain objects and arrays are copied, anything else is shared.
 * Iterative, so that absurd nesting cannot overflow the stack (checkMetadata then refuses it).
 */
function cloneJson(value: unknown): unknown {
  const copyOf = (node: unknown): unknown => {
    if (Array.isArray(node)) return new Array<unknown>(node.length);
    if (isPlainObject(node)) {
      const proto: unknown = Object.getPrototypeOf(node);
      if (proto === Object.prototype || proto === null) return {};
    }
    return node;
  };
  const root = copyOf(value);
  if (root === value) return value;
  const copies = new Map<object, unknown>([[value as object, root]]);
  const todo: [source: object, target: unknown][] = [[value as object, root]];
  while (todo.length > 0) {
    const [source, target] = todo.pop()!;
    for (const [key, child] of Object.entries(source)) {
      let childCopy: unknown = child;
      if (typeof child === 'object' && child !== null) {
        if (copies.has(child)) {
          childCopy = copies.get(child); // a cycle or a shared object: keep the shape
        } else {
          childCopy = copyOf(child);
          if (childCopy !== child) {
            copies.set(child, childCopy);
            todo.push([child, childCopy]);
          }
        }
      }
      if (Array.isArray(target)) target[Number(key)] = childCopy;
      else setOwn(target as Record<string, unknown>, key, childCopy);
    }
  }
  return root;
}

/**
 * Merges a metadata patch into the stored object, one level deep: each top-level key given replaces
 * the stored one (nested objects are replaced whole), a key set to `null` is removed, a key whose value
 * is `undefined` is ignored (JSON cannot carry it), and `patch === null` clears the object to `{}`.
 * Never mutates its inputs; the result shares no objects with them.
 */
export function mergeMetadata(current: Metadata | null, patch: Metadata | null): Metadata {
  if (patch === null) return {};
  const result: Metadata = {};
  if (current !== null) {
    for (const [key, value] of Object.entries(current)) setOwn(result, key, cloneJson(value));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) {
      delete result[key];
    } else {
      setOwn(result, key, cloneJson(value));
    }
  }
  return result;
}

/** Byte length of `value` as UTF-8 JSON, or null when it is not JSON-serializable. */
export function metadataJsonBytes(value: Metadata): number | null {
  try {
    return encoder.encode(JSON.stringify(value)).length;
  } catch {
    return null;
  }
}

/**
 * Checks a merged metadata object: no key at any depth (objects nested in objects or in arrays)
 * contains `.` or `$` (INVALID_METADATA_KEY, one error per key, field path = [camelCase field, ...the
 * path of keys and array indices down to the key]); app_metadata's top-level keys are not Auth0's
 * reserved names (RESERVED_METADATA_KEY); the JSON is at most 16 KB in UTF-8 (METADATA_TOO_LARGE).
 * A value that is not a JSON object (not an object, or containing a cycle, a BigInt, …) is
 * INVALID_METADATA_VALUE.
 */
export function checkMetadata(which: MetadataField, value: Metadata): UserError[] {
  const root = CAMEL[which];
  if (!isPlainObject(value)) {
    return [
      {
        field: [root],
        code: 'INVALID_METADATA_VALUE',
        message: `${root} must be a JSON object.`,
      },
    ];
  }

  const errors: UserError[] = [];

  // Iterative walk, in document order, so that deep nesting cannot overflow the stack.
  type Frame = { node: unknown; path: string[] };
  const stack: Frame[] = [{ node: value, path: [] }];
  // Each object is walked once: a cycle (impossible in JSON) cannot loop; JSON.stringify reports it.
  const visited = new WeakSet<object>();
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (typeof node === 'string' && hasUnusableCharacters(node)) errors.push(unusableCharactersError([root, ...path]));
    if (typeof node !== 'object' || node === null || visited.has(node)) continue;
    visited.add(node);
    const children: Frame[] = [];
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        children.push({ node: item, path: [...path, String(index)] });
      });
    } else {
      for (const [key, child] of Object.entries(node)) {
        const childPath = [...path, key];
        if (hasUnusableCharacters(key)) {
          errors.push(unusableCharactersError([root, ...childPath]));
        } else if (FORBIDDEN_KEY_CHARS.test(key)) {
          errors.push({
            field: [root, ...childPath],
            code: 'INVALID_METADATA_KEY',
            message: `Metadata keys may not contain "." or "$" (at any depth); rename "${key}".`,
          });
        } else if (FORBIDDEN_KEY_SET.has(key)) {
          errors.push({
            field: [root, ...childPath],
            code: 'INVALID_METADATA_KEY',
            message: `"${key}" cannot be a metadata key (at any depth): clients merging metadata would change object prototypes; rename it.`,
          });
        }
        children.push({ node: child, path: childPath });
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }

  if (which === 'app_metadata') {
    for (const key of Object.keys(value)) {
      if (RESERVED_SET.has(reservedForm(key))) {
        errors.push({
          field: [root, key],
          code: 'RESERVED_METADATA_KEY',
          message: `"${key}" is a reserved name and cannot be an appMetadata key; use another name.`,
        });
      }
    }
  }

  const bytes = metadataJsonBytes(value);
  if (bytes === null) {
    errors.push({
      field: [root],
      code: 'INVALID_METADATA_VALUE',
      message: `${root} must be a JSON object that can be serialized (no cycles, not nested thousands deep).`,
    });
  } else if (bytes > METADATA_MAX_BYTES) {
    errors.push({
      field: [root],
      code: 'METADATA_TOO_LARGE',
      message: `${root} may be at most ${METADATA_MAX_BYTES} bytes as JSON (UTF-8) after the merge; it would be ${bytes}.`,
    });
  }

  return errors;
}

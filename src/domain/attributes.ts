// Declared attributes: the keys of user_metadata and app_metadata a connection names, each with a
// JSON Schema for its value, who may view and edit it, and a lifecycle (Keycloak's declarative user
// profile, Kratos's identity schema). This module reads and checks declarations and their values;
// who may change an attribute is decided in policy.ts with the rest of the mutability policy.
// Pure: no graphql, no storage, no I/O (Ajv compiles a schema in memory).
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { Metadata, UserError } from './types.js';

export const ATTRIBUTE_OBJECTS = ['user_metadata', 'app_metadata'] as const;
export type AttributeObject = (typeof ATTRIBUTE_OBJECTS)[number];

export const ATTRIBUTE_ROLES = ['TENANT_ADMIN', 'HELP_DESK', 'SELF'] as const;
export type AttributeRole = (typeof ATTRIBUTE_ROLES)[number];

export const ATTRIBUTE_LIFECYCLES = ['MUTABLE', 'CREATE_ONLY', 'WRITE_ONCE'] as const;
export type AttributeLifecycle = (typeof ATTRIBUTE_LIFECYCLES)[number];

export const UNDECLARED_ATTRIBUTE_POLICIES = ['ALLOW', 'ADMIN_ONLY', 'REJECT'] as const;
export type UndeclaredAttributePolicy = (typeof UNDECLARED_ATTRIBUTE_POLICIES)[number];

/** One declared key, as stored in the connection's options (`attributes`). */
export interface AttributeDeclaration {
  key: string;
  in: AttributeObject;
  schema: Record<string, unknown>;
  edit: AttributeRole[];
  view: AttributeRole[];
  lifecycle: AttributeLifecycle;
}

/** A connection's declarations and its rule for keys it does not declare. */
export interface AttributeSettings {
  attributes: AttributeDeclaration[];
  undeclared: UndeclaredAttributePolicy;
}

export const NO_ATTRIBUTE_SETTINGS: AttributeSettings = { attributes: [], undeclared: 'ALLOW' };

/** The connection options' keys that hold the declarations. */
export const ATTRIBUTES_OPTION = 'attributes';
export const UNDECLARED_ATTRIBUTES_OPTION = 'undeclared_attributes';

const KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// strict: a schema with an unknown keyword is a mistake to report, not to ignore.
const ajv = new Ajv({ strict: true, allErrors: false });
// date-time, email, uri, …: the formats a profile attribute commonly declares.
(addFormatsPlugin as unknown as (a: Ajv) => Ajv)(ajv);
const compiled = new Map<string, ValidateFunction>();

/** The compiled validator of a schema: compiled once per distinct schema, then reused. */
function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  const text = JSON.stringify(schema);
  let validate = compiled.get(text);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(text, validate);
  }
  return validate;
}

/**
 * Reads the declarations out of stored options. Options are checked when they are written
 * (checkAttributeSettings), so anything malformed here was stored before: it is ignored.
 */
export function attributeSettingsOf(options: Record<string, unknown>): AttributeSettings {
  const raw = options[ATTRIBUTES_OPTION];
  const undeclared = options[UNDECLARED_ATTRIBUTES_OPTION];
  return {
    attributes: Array.isArray(raw) ? (raw as AttributeDeclaration[]).filter((d) => declarationProblems(d, 0).length === 0) : [],
    undeclared: UNDECLARED_ATTRIBUTE_POLICIES.includes(undeclared as UndeclaredAttributePolicy)
      ? (undeclared as UndeclaredAttributePolicy)
      : 'ALLOW',
  };
}

/** Every problem with the declarations in `options`, as user errors naming the key (field `attributes`). */
export function checkAttributeSettings(options: Record<string, unknown>): UserError[] {
  const errors: UserError[] = [];
  const raw = options[ATTRIBUTES_OPTION];
  if (raw !== undefined && raw !== null) {
    if (!Array.isArray(raw)) {
      errors.push(invalidDeclaration(null, 'attributes is a list of declarations.'));
    } else {
      const seen = new Set<string>();
      raw.forEach((d: unknown, i: number) => {
        errors.push(...declarationProblems(d, i));
        const id = isObject(d) ? `${String(d.in)}.${String(d.key)}` : '';
        if (seen.has(id)) errors.push(invalidDeclaration(String((d as { key: unknown }).key), `${String((d as { key: unknown }).key)} is declared twice in ${String((d as { in: unknown }).in)}.`));
        seen.add(id);
      });
    }
  }
  const undeclared = options[UNDECLARED_ATTRIBUTES_OPTION];
  if (undeclared !== undefined && !UNDECLARED_ATTRIBUTE_POLICIES.includes(undeclared as UndeclaredAttributePolicy)) {
    errors.push({
      field: ['undeclaredAttributes'],
      code: 'INVALID_ATTRIBUTE_DECLARATION',
      message: 'undeclaredAttributes is one of ALLOW, ADMIN_ONLY, REJECT.',
    });
  }
  return errors;
}

function declarationProblems(d: unknown, index: number): UserError[] {
  if (!isObject(d)) return [invalidDeclaration(null, `attributes[${index}] is not a declaration object.`)];
  const key = typeof d.key === 'string' ? d.key : null;
  const problems: string[] = [];
  if (key === null || !KEY.test(key) || FORBIDDEN_KEYS.has(key)) {
    problems.push('a key is 1–64 letters, digits, _ and -, starting with a letter or _ (never __proto__, constructor or prototype)');
  }
  if (!ATTRIBUTE_OBJECTS.includes(d.in as AttributeObject)) problems.push('in is USER_METADATA or APP_METADATA');
  for (const list of ['edit', 'view'] as const) {
    const roles = d[list];
    if (!Array.isArray(roles) || !roles.every((r) => ATTRIBUTE_ROLES.includes(r as AttributeRole))) {
      problems.push(`${list} is a list of TENANT_ADMIN, HELP_DESK, SELF`);
    }
  }
  if (!ATTRIBUTE_LIFECYCLES.includes(d.lifecycle as AttributeLifecycle)) problems.push('lifecycle is MUTABLE, CREATE_ONLY or WRITE_ONCE');
  if (!isObject(d.schema)) {
    problems.push('schema is a JSON Schema object');
  } else {
    try {
      validatorOf(d.schema);
    } catch (err) {
      problems.push(`its schema is not a valid JSON Schema (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return problems.length === 0 ? [] : [invalidDeclaration(key, `The declaration of ${key ?? `attributes[${index}]`}: ${problems.join('; ')}.`)];
}

function invalidDeclaration(key: string | null, message: string): UserError {
  return { field: key === null ? ['attributes'] : ['attributes', key], code: 'INVALID_ATTRIBUTE_DECLARATION', message };
}

/** The declaration of `key` in `object`, if the connection declares it. */
export function declarationOf(settings: AttributeSettings, object: AttributeObject, key: string): AttributeDeclaration | undefined {
  return settings.attributes.find((d) => d.in === object && d.key === key);
}

/**
 * INVALID_ATTRIBUTE for each declared key whose new value breaks its schema. `patch` is the
 * object as given (a null value removes the key, and removing is not a value to check).
 */
export function invalidAttributes(settings: AttributeSettings, object: AttributeObject, patch: Metadata): UserError[] {
  const errors: UserError[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) continue;
    const declaration = declarationOf(settings, object, key);
    if (!declaration) continue;
    const validate = validatorOf(declaration.schema);
    if (!validate(value)) {
      const why = validate.errors?.[0];
      errors.push({
        field: [object === 'user_metadata' ? 'userMetadata' : 'appMetadata', key],
        code: 'INVALID_ATTRIBUTE',
        message: `${key}: the value does not match its declared schema${why ? ` (${why.instancePath || 'value'} ${why.message ?? ''})`.trimEnd() : ''}.`,
      });
    }
  }
  return errors;
}

/** Whether any of the viewer's roles may view the attribute. A key nobody declared is viewed as its object is. */
export function mayView(declaration: AttributeDeclaration | undefined, viewer: { tenantAdmin: boolean; helpDesk: boolean; self: boolean }): boolean {
  if (!declaration) return true;
  return (
    (viewer.tenantAdmin && declaration.view.includes('TENANT_ADMIN')) ||
    (viewer.helpDesk && declaration.view.includes('HELP_DESK')) ||
    (viewer.self && declaration.view.includes('SELF'))
  );
}

/** The metadata object as this viewer may see it: declared keys they may not view are absent. */
export function visibleMetadata(
  settings: AttributeSettings,
  object: AttributeObject,
  metadata: Metadata,
  viewer: { tenantAdmin: boolean; helpDesk: boolean; self: boolean },
): Metadata {
  if (settings.attributes.length === 0) return metadata;
  const out: Metadata = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (mayView(declarationOf(settings, object, key), viewer)) out[key] = value;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A search condition on one attribute, as a client writes it (values as strings). */
export interface AttributeSearch {
  key: string;
  in: AttributeObject;
  equals?: string | null;
  prefix?: string | null;
  gte?: string | null;
  lte?: string | null;
}

/**
 * A search condition with its values typed as the declaration's schema says (a number for
 * `integer`/`number`, a boolean for `boolean`, else the string), or why it cannot run: only
 * declared keys are searchable, and only by a caller who may view them.
 */
export function searchCondition(
  settings: AttributeSettings,
  search: AttributeSearch,
  viewer: { tenantAdmin: boolean; helpDesk: boolean; self: boolean },
):
  | { ok: true; condition: { object: AttributeObject; key: string; equals?: string | number | boolean; prefix?: string; gte?: string | number; lte?: string | number } }
  | { ok: false; code: 'BAD_USER_INPUT' | 'FORBIDDEN'; message: string } {
  const declaration = declarationOf(settings, search.in, search.key);
  if (!declaration) return { ok: false, code: 'BAD_USER_INPUT', message: `${search.key} is not a declared attribute of this connection: only declared attributes are searchable.` };
  if (!mayView(declaration, viewer)) return { ok: false, code: 'FORBIDDEN', message: `You may not view ${search.key}, so you may not search by it.` };
  const type = declaration.schema.type;
  const typed = (raw: string): string | number | boolean | null => {
    if (type === 'integer' || type === 'number') return Number.isFinite(Number(raw)) ? Number(raw) : null;
    if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : null;
    return raw;
  };
  const condition: { object: AttributeObject; key: string; equals?: string | number | boolean; prefix?: string; gte?: string | number; lte?: string | number } = {
    object: search.in,
    key: search.key,
  };
  for (const bound of ['equals', 'gte', 'lte'] as const) {
    const raw = search[bound];
    if (raw === undefined || raw === null) continue;
    const value = typed(raw);
    if (value === null || (bound !== 'equals' && typeof value === 'boolean')) {
      return { ok: false, code: 'BAD_USER_INPUT', message: `${bound} of ${search.key} must be a ${String(type)}.` };
    }
    condition[bound] = value as never;
  }
  if (search.prefix !== undefined && search.prefix !== null) condition.prefix = search.prefix;
  return { ok: true, condition };
}

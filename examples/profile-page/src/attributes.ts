// The connection's declared attributes as form fields: which to show, what control suits each one's
// JSON Schema, what the input starts with, and how the inputs become metadata keys to send. Whether
// each may be changed, and why not, is the gateway's answer (`attributePolicies`): never decided here.
// No DOM here.
import type { AttributeObject, MutabilityReason } from './gql/graphql.js';
import type { Profile } from './profile.js';

type Json = Record<string, unknown>;
type Declaration = Profile['connection']['attributes'][number];
type AttributePolicy = Profile['attributePolicies'][number];

export interface AttributeSpec {
  /** The input's id, and the row's `data-attribute`: `attr-user_metadata-locale`. */
  id: string;
  key: string;
  in: AttributeObject;
  label: string;
  /** select: the schema's `enum` (a boolean is yes/no); integer, number, text; json for anything else. */
  control: 'select' | 'integer' | 'number' | 'text' | 'json';
  /** The values a select offers, in order (its options' values are their indexes). */
  choices: unknown[];
  hint: string | null;
  editable: boolean;
  reason: MutabilityReason | null;
  message: string | null;
}

const OBJECT_KEY: Record<AttributeObject, 'userMetadata' | 'appMetadata'> = {
  USER_METADATA: 'userMetadata',
  APP_METADATA: 'appMetadata',
};

/** "employeeNumber" → "Employee number", "terms_accepted_at" → "Terms accepted at". */
export function labelOf(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const metadataOf = (profile: Profile, object: AttributeObject): Json => (profile[OBJECT_KEY[object]] as Json | null) ?? {};

function controlOf(schema: Json): Pick<AttributeSpec, 'control' | 'choices'> {
  if (Array.isArray(schema.enum)) return { control: 'select', choices: schema.enum as unknown[] };
  if ('const' in schema) return { control: 'select', choices: [schema.const] };
  switch (schema.type) {
    case 'boolean':
      return { control: 'select', choices: [true, false] };
    case 'integer':
      return { control: 'integer', choices: [] };
    case 'number':
      return { control: 'number', choices: [] };
    case 'string':
      return { control: 'text', choices: [] };
    default:
      return { control: 'json', choices: [] };
  }
}

function hintOf(declaration: Declaration, schema: Json, control: AttributeSpec['control']): string | null {
  const parts: string[] = [];
  if (typeof schema.description === 'string') parts.push(schema.description);
  if (schema.format === 'date-time') parts.push('A date and time, e.g. 2026-12-01T09:30:00Z.');
  else if (schema.format === 'date') parts.push('A date, e.g. 2026-12-01.');
  else if (schema.format === 'email') parts.push('An email address.');
  else if (schema.format === 'uri') parts.push('A URL.');
  if (control === 'integer') parts.push('A whole number.');
  if (control === 'json') parts.push('JSON.');
  if (declaration.lifecycle === 'WRITE_ONCE') parts.push('Can be set only once: check it before saving.');
  return parts.length > 0 ? parts.join(' ') : null;
}

/**
 * The declared attributes the signed-in user sees: those whose `view` includes SELF, or whose value
 * the gateway sent (a key the caller may not view is absent from the metadata, so it is not shown).
 */
export function attributeSpecs(profile: Profile): AttributeSpec[] {
  const policies = new Map<string, AttributePolicy>(profile.attributePolicies.map((p) => [`${p.in}:${p.key}`, p]));
  return profile.connection.attributes
    .filter((d) => d.view.includes('SELF') || Object.hasOwn(metadataOf(profile, d.in), d.key))
    .map((d) => {
      const schema = (d.schema ?? {}) as Json;
      const { control, choices } = controlOf(schema);
      const policy = policies.get(`${d.in}:${d.key}`);
      return {
        id: `attr-${d.in.toLowerCase()}-${d.key}`,
        key: d.key,
        in: d.in,
        label: typeof schema.title === 'string' ? schema.title : labelOf(d.key),
        control,
        choices,
        hint: hintOf(d, schema, control),
        // No policy for a declared key means the gateway did not say it may: not editable.
        editable: policy?.editable ?? false,
        reason: policy?.reason ?? null,
        message: policy?.message ?? null,
      };
    });
}

/** Declared USER_METADATA keys: they have their own fields, so the JSON editor leaves them out. */
export function declaredUserKeys(profile: Profile): Set<string> {
  return new Set(profile.connection.attributes.filter((d) => d.in === 'USER_METADATA').map((d) => d.key));
}

/** What an attribute's input starts with ('' for no value; a select's option index). */
export function initialAttributeValue(profile: Profile, spec: AttributeSpec): string {
  const metadata = metadataOf(profile, spec.in);
  if (!Object.hasOwn(metadata, spec.key)) return '';
  const value = metadata[spec.key];
  if (spec.control === 'select') {
    const index = spec.choices.findIndex((c) => JSON.stringify(c) === JSON.stringify(value));
    return index < 0 ? '' : String(index);
  }
  if (spec.control === 'json') return JSON.stringify(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

/** An input's text as the value to store (null: remove the key). */
export function parseAttribute(spec: AttributeSpec, raw: string): Parsed {
  const text = raw.trim();
  if (text === '') return { ok: true, value: null };
  switch (spec.control) {
    case 'select': {
      const index = Number(text);
      return Number.isInteger(index) && index >= 0 && index < spec.choices.length
        ? { ok: true, value: spec.choices[index] }
        : { ok: false, problem: 'Choose one of the values offered.' };
    }
    case 'integer':
      return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))
        ? { ok: true, value: Number(text) }
        : { ok: false, problem: 'Must be a whole number, e.g. 42.' };
    case 'number':
      return Number.isFinite(Number(text)) ? { ok: true, value: Number(text) } : { ok: false, problem: 'Must be a number, e.g. 4.5.' };
    case 'text':
      return { ok: true, value: text };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch (err) {
        return { ok: false, problem: `Not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
      }
  }
}

export interface AttributeChanges {
  /** The keys to merge into each metadata object (a removed key as null); absent when none changed. */
  patches: Partial<Record<'userMetadata' | 'appMetadata', Json>>;
  /** Problems found before sending, by input id. */
  problems: Map<string, string>;
}

/** The changed keys from the editable attribute inputs (`values` by input id). */
export function attributeChanges(profile: Profile, specs: readonly AttributeSpec[], values: Map<string, string>): AttributeChanges {
  const changes: AttributeChanges = { patches: {}, problems: new Map() };
  for (const spec of specs) {
    const raw = values.get(spec.id);
    if (raw === undefined || raw === initialAttributeValue(profile, spec)) continue;
    const parsed = parseAttribute(spec, raw);
    if (!parsed.ok) {
      changes.problems.set(spec.id, parsed.problem);
      continue;
    }
    // Clearing a key that has no value changes nothing.
    if (parsed.value === null && !Object.hasOwn(metadataOf(profile, spec.in), spec.key)) continue;
    const object = OBJECT_KEY[spec.in];
    changes.patches[object] = { ...changes.patches[object], [spec.key]: parsed.value };
  }
  return changes;
}

/** The attribute a gateway error points at: `field` ["userMetadata", key], or FIELD_NOT_EDITABLE's { field, key }. */
export function attributeAt(specs: readonly AttributeSpec[], object: string | undefined, key: string | undefined): AttributeSpec | undefined {
  if (key === undefined) return undefined;
  const wanted: AttributeObject | undefined =
    object === 'userMetadata' || object === 'USER_METADATA' ? 'USER_METADATA' : object === 'appMetadata' || object === 'APP_METADATA' ? 'APP_METADATA' : undefined;
  return specs.find((s) => s.in === wanted && s.key === key);
}

// GraphQL inputs (camelCase, scalars) to the domain's ProfilePatch (snake_case).
import { badUserInput } from '../app/errors.js';
import { CAMEL_NAMES } from '../domain/names.js';
import { type Metadata, PROFILE_FIELDS, type ProfilePatch } from '../domain/types.js';
import type { AttributeDeclaration } from '../domain/attributes.js';
import type { AttributeDeclarationInput, UpdateUserInput } from './generated/resolvers-types.js';

type ProfileInput = Omit<UpdateUserInput, 'expectedVersion'>;

function metadata(value: unknown, field: string): Metadata | null | undefined {
  if (value === undefined || value === null) return value as null | undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw badUserInput(`${field} must be a JSON object.`, field);
  return value as Metadata;
}

/** Only keys present in the input appear in the patch: an absent key changes nothing. */
export function toProfilePatch(input: ProfileInput): ProfilePatch {
  const patch: Record<string, unknown> = {};
  for (const field of PROFILE_FIELDS) {
    const name = CAMEL_NAMES[field];
    let value: unknown = input[name];
    if (value === undefined) continue;
    // graphql-scalars' URL parses to a URL object; the store keeps the string.
    if (field === 'picture' && value !== null) value = String(value);
    if (field === 'user_metadata' || field === 'app_metadata') value = metadata(value, name);
    patch[field] = value;
  }
  return patch as ProfilePatch;
}

/** Attribute declarations as the domain stores them (enum values in the domain's spelling). */
export function toAttributeDeclarations(
  input: readonly AttributeDeclarationInput[] | null | undefined,
): AttributeDeclaration[] | null | undefined {
  return input?.map((d) => ({
    key: d.key,
    in: d.in === 'APP_METADATA' ? 'app_metadata' : 'user_metadata',
    schema: d.schema as Record<string, unknown>,
    edit: [...d.edit],
    view: [...d.view],
    lifecycle: d.lifecycle ?? 'MUTABLE',
  }));
}

// Every type, field, argument, input field and enum value of the served schema has a description
// a frontend developer can act on (style.md: "Describe the schema"). A new one without a
// `"""description"""` in schema/*.graphql fails here, by name.
import {
  buildSchema as buildSchemaFromSDL,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
  printSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildBareSchema } from '../../src/graphql/schema.js';

/** Every schema coordinate (Type, Type.field, Type.field(arg), Enum.VALUE) that lacks a description. */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const blank = (d: string | null | undefined) => !d || d.trim() === '';
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    if (blank(type.description)) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args) {
          if (blank(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name}:)`);
        }
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`${type.name}.${field.name}`);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) {
        if (blank(value.description)) missing.push(`${type.name}.${value.name}`);
      }
    }
  }
  return missing;
}

describe('the schema is described', () => {
  const schema = buildBareSchema();

  it('every type, field, argument, input field and enum value has a description', () => {
    const missing = undescribed(schema);
    expect(
      missing,
      `Add a """description""" in schema/*.graphql (what it is, and what null means) to: ${missing.join(', ')}`,
    ).toEqual([]);
  });

  it('names whatever is undescribed', () => {
    const extended = buildSchemaFromSDL(
      `${printSchema(schema)}
      type Undescribed { field(arg: Int): String }
      extend type Query { "Described." probe: Undescribed }
      extend enum OrgRole { OWNER }`,
    );
    expect(new Set(undescribed(extended))).toEqual(
      new Set(['Undescribed', 'Undescribed.field', 'Undescribed.field(arg:)', 'OrgRole.OWNER']),
    );
  });
});

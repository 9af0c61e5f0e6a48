// Deny by default: every object type and every field has an explicit shield rule.
import { buildSchema as buildSchemaFromSDL, isObjectType, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { allow } from 'graphql-shield';
import { assertRulesCover, permissionRules, ruleFor } from '../../src/graphql/permissions.js';
import { buildBareSchema, buildSchema, withoutDeadlineCheck } from '../../src/graphql/schema.js';

describe('permissions cover the schema', () => {
  const schema = buildBareSchema();
  const rules = permissionRules as Record<string, unknown>;
  const types = Object.values(schema.getTypeMap()).filter((t) => isObjectType(t) && !t.name.startsWith('__'));

  it('has object types to check', () => {
    expect(types.length).toBeGreaterThan(10);
  });

  for (const type of types) {
    if (!isObjectType(type)) continue;
    it(`${type.name}: every field has a rule`, () => {
      const rule = rules[type.name];
      expect(rule, `no permission rule for type ${type.name}`).toBeDefined();
      // A rule object per field, or one rule for the whole type.
      const perField = typeof rule === 'object' && rule !== null && rule.constructor === Object;
      if (!perField) return;
      const fieldRules = rule as Record<string, unknown>;
      for (const field of Object.keys(type.getFields())) {
        expect(fieldRules[field] ?? fieldRules['*'], `no rule for ${type.name}.${field}`).toBeDefined();
      }
    });
  }

  it('the gateway refuses to start with a type or field that has no rule', () => {
    const extended = buildSchemaFromSDL(`${printSchema(schema)}\ntype Unwired { secret: String }\nextend type Query { unwired: Unwired }`);
    expect(() => assertRulesCover(extended)).toThrow(/Unwired\.secret, .*Query\.unwired|Query\.unwired.*Unwired\.secret/);
    expect(() => assertRulesCover(schema)).not.toThrow();
  });

  it('wraps every field whose rule is not allow (and only those) in the served schema', () => {
    const served = buildSchema(schema);
    let checked = 0;
    for (const type of types) {
      if (!isObjectType(type)) continue;
      const servedType = served.getType(type.name);
      if (!isObjectType(servedType)) throw new Error(`${type.name} missing from the served schema`);
      for (const [name, field] of Object.entries(type.getFields())) {
        // Under the execution deadline's check (which every field with a resolver of its own gets).
        const wrapped = withoutDeadlineCheck(servedType.getFields()[name]?.resolve) !== field.resolve;
        expect(wrapped, `${type.name}.${name}`).toBe(ruleFor(type.name, name) !== allow);
        if (wrapped) checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('names no type or field that the schema does not have', () => {
    for (const [typeName, rule] of Object.entries(rules)) {
      const type = schema.getType(typeName);
      expect(type && isObjectType(type), `rule for unknown type ${typeName}`).toBe(true);
      if (
        type &&
        isObjectType(type) &&
        typeof rule === 'object' &&
        rule !== null &&
        rule.constructor === Object
      ) {
        for (const field of Object.keys(rule)) {
          if (field !== '*')
            expect(type.getFields()[field], `rule for unknown field ${typeName}.${field}`).toBeDefined();
        }
      }
    }
  });
});

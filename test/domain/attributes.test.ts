// The attribute half of the mutability policy, table-driven: every caller role × metadata object
// × lifecycle × (value present or not), plus undeclared keys under each rule, and a property over
// random declarations and writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_LIFECYCLES,
  type AttributeDeclaration,
  type AttributeLifecycle,
  type AttributeObject,
  type AttributeRole,
  type AttributeSettings,
  checkAttributeSettings,
  invalidAttributes,
  visibleMetadata,
} from '../../src/domain/attributes.js';
import { attributeDecision, fieldPolicies, refusedAttributes } from '../../src/domain/policy.js';
import type { CallerRoles, ConnectionFacts, MutabilityReason } from '../../src/domain/types.js';

const OWN_STORE: ConnectionFacts = {
  kind: 'DATABASE',
  strategy: 'auth0',
  name: 'Username-Password-Authentication',
  customDatabase: false,
  importMode: false,
  requiresUsername: false,
  sync: 'on_each_login',
  scripts: { changeEmail: false, changePassword: false, create: false },
};

const CALLERS: Record<AttributeRole, CallerRoles> = {
  TENANT_ADMIN: { tenantAdmin: true, helpDesk: false, self: false },
  HELP_DESK: { tenantAdmin: false, helpDesk: true, self: false },
  SELF: { tenantAdmin: false, helpDesk: false, self: true },
};

const declaration = (object: AttributeObject, edit: AttributeRole[], lifecycle: AttributeLifecycle): AttributeDeclaration => ({
  key: 'k',
  in: object,
  schema: { type: 'string' },
  edit,
  view: ['TENANT_ADMIN', 'HELP_DESK', 'SELF'],
  lifecycle,
});

/** What domain.md and the issue say, cell by cell; null = editable. */
function expected(role: AttributeRole, object: AttributeObject, edit: AttributeRole[], lifecycle: AttributeLifecycle, present: boolean): MutabilityReason | null {
  // The object's own rule first: app_metadata is the tenant administrator's alone.
  if (object === 'app_metadata' && role !== 'TENANT_ADMIN') return 'REQUIRES_TENANT_ADMIN';
  if (!edit.includes(role)) return role !== 'TENANT_ADMIN' && edit.includes('TENANT_ADMIN') ? 'REQUIRES_TENANT_ADMIN' : 'NOT_AUTHORIZED';
  if (lifecycle === 'CREATE_ONLY') return 'CREATE_ONLY';
  if (lifecycle === 'WRITE_ONCE' && present) return 'WRITE_ONCE';
  return null;
}

const EDIT_LISTS: AttributeRole[][] = [[], ['TENANT_ADMIN'], ['SELF'], ['HELP_DESK'], ['TENANT_ADMIN', 'HELP_DESK'], ['TENANT_ADMIN', 'HELP_DESK', 'SELF']];
const cases = (Object.keys(CALLERS) as AttributeRole[]).flatMap((role) =>
  (['user_metadata', 'app_metadata'] as const).flatMap((object) =>
    EDIT_LISTS.flatMap((edit) =>
      ATTRIBUTE_LIFECYCLES.flatMap((lifecycle) => [false, true].map((present) => ({ role, object, edit, lifecycle, present }))),
    ),
  ),
);

describe('attributeDecision: the matrix', () => {
  it.each(cases)('$role on $object, edit $edit, $lifecycle, present $present', ({ role, object, edit, lifecycle, present }) => {
    const caller = CALLERS[role];
    const policies = fieldPolicies(caller, OWN_STORE, { migrated: false, invitationBound: false });
    const settings: AttributeSettings = { attributes: [declaration(object, edit, lifecycle)], undeclared: 'ALLOW' };
    const decision = attributeDecision(caller, policies[object], settings, object, 'k', present);
    expect(decision.reason).toBe(expected(role, object, edit, lifecycle, present));
    expect(decision.editable).toBe(decision.reason === null);
    if (!decision.editable) expect(decision.message.length).toBeGreaterThan(10);
  });

  it.each([
    { undeclared: 'ALLOW', role: 'SELF', reason: null },
    { undeclared: 'ALLOW', role: 'TENANT_ADMIN', reason: null },
    { undeclared: 'ADMIN_ONLY', role: 'SELF', reason: 'UNDECLARED_ATTRIBUTE' },
    { undeclared: 'ADMIN_ONLY', role: 'HELP_DESK', reason: 'UNDECLARED_ATTRIBUTE' },
    { undeclared: 'ADMIN_ONLY', role: 'TENANT_ADMIN', reason: null },
    { undeclared: 'REJECT', role: 'TENANT_ADMIN', reason: 'UNDECLARED_ATTRIBUTE' },
    { undeclared: 'REJECT', role: 'SELF', reason: 'UNDECLARED_ATTRIBUTE' },
  ] as const)('an undeclared key under $undeclared for $role: $reason', ({ undeclared, role, reason }) => {
    const caller = CALLERS[role];
    const policies = fieldPolicies(caller, OWN_STORE, { migrated: false, invitationBound: false });
    const decision = attributeDecision(caller, policies.user_metadata, { attributes: [], undeclared }, 'user_metadata', 'other', false);
    expect(decision.reason).toBe(reason);
  });

  it('at creation, a declared key is editable whatever its edit list and lifecycle; REJECT still refuses undeclared keys', () => {
    const open = { editable: true as const, reason: null, message: null };
    const settings: AttributeSettings = { attributes: [declaration('user_metadata', [], 'CREATE_ONLY')], undeclared: 'REJECT' };
    expect(attributeDecision(CALLERS.TENANT_ADMIN, open, settings, 'user_metadata', 'k', false, 'create').editable).toBe(true);
    expect(attributeDecision(CALLERS.TENANT_ADMIN, open, settings, 'user_metadata', 'x', false, 'create').reason).toBe('UNDECLARED_ATTRIBUTE');
  });
});

describe('declarations and values', () => {
  it('a declaration with a bad key, role, lifecycle or schema is a user error naming the key', () => {
    const errors = checkAttributeSettings({
      attributes: [
        { key: '__proto__', in: 'user_metadata', schema: {}, edit: [], view: [], lifecycle: 'MUTABLE' },
        { key: 'plan', in: 'app_metadata', schema: { type: 'strin' }, edit: ['ROOT'], view: [], lifecycle: 'MUTABLE' },
        { key: 'ok', in: 'user_metadata', schema: { type: 'string' }, edit: [], view: [], lifecycle: 'SOMETIMES' },
      ],
      undeclared_attributes: 'MAYBE',
    });
    expect(errors.map((e) => [e.field, e.code])).toEqual([
      [['attributes', '__proto__'], 'INVALID_ATTRIBUTE_DECLARATION'],
      [['attributes', 'plan'], 'INVALID_ATTRIBUTE_DECLARATION'],
      [['attributes', 'ok'], 'INVALID_ATTRIBUTE_DECLARATION'],
      [['undeclaredAttributes'], 'INVALID_ATTRIBUTE_DECLARATION'],
    ]);
  });

  it('a value that breaks its schema is INVALID_ATTRIBUTE; removing a key (null) is not checked', () => {
    const settings: AttributeSettings = {
      attributes: [{ ...declaration('user_metadata', ['SELF'], 'MUTABLE'), key: 'age', schema: { type: 'integer', minimum: 0 } }],
      undeclared: 'ALLOW',
    };
    expect(invalidAttributes(settings, 'user_metadata', { age: -1 })).toEqual([expect.objectContaining({ field: ['userMetadata', 'age'], code: 'INVALID_ATTRIBUTE' })]);
    expect(invalidAttributes(settings, 'user_metadata', { age: 3, other: 'anything' })).toEqual([]);
    expect(invalidAttributes(settings, 'user_metadata', { age: null })).toEqual([]);
  });

  it('keys the viewer may not view are absent; undeclared keys stay', () => {
    const settings: AttributeSettings = {
      attributes: [{ ...declaration('user_metadata', [], 'MUTABLE'), key: 'secret', view: ['TENANT_ADMIN'] }],
      undeclared: 'ALLOW',
    };
    expect(visibleMetadata(settings, 'user_metadata', { secret: 1, free: 2 }, CALLERS.SELF)).toEqual({ free: 2 });
    expect(visibleMetadata(settings, 'user_metadata', { secret: 1, free: 2 }, CALLERS.TENANT_ADMIN)).toEqual({ secret: 1, free: 2 });
  });
});

describe('refusedAttributes: a property', () => {
  const role = fc.constantFrom<AttributeRole>('TENANT_ADMIN', 'HELP_DESK', 'SELF');
  const decl = fc.record({
    key: fc.constantFrom('a', 'b', 'c', 'd'),
    in: fc.constantFrom<AttributeObject>('user_metadata', 'app_metadata'),
    schema: fc.constant({}),
    edit: fc.uniqueArray(role, { maxLength: 3 }),
    view: fc.uniqueArray(role, { maxLength: 3 }),
    lifecycle: fc.constantFrom(...ATTRIBUTE_LIFECYCLES),
  });
  const metadata = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.oneof(fc.integer(), fc.constant(null)));

  it('names exactly the written keys whose own decision refuses them, never a key that was not written', () => {
    fc.assert(
      fc.property(
        role,
        fc.uniqueArray(decl, { selector: (d) => `${d.in}.${d.key}`, maxLength: 6 }),
        fc.constantFrom('ALLOW', 'ADMIN_ONLY', 'REJECT' as const),
        metadata,
        metadata,
        metadata,
        (who, attributes, undeclared, write, currentUser, currentApp) => {
          const caller = CALLERS[who];
          const settings: AttributeSettings = { attributes, undeclared };
          const policies = fieldPolicies(caller, OWN_STORE, { migrated: false, invitationBound: false });
          const current = { user_metadata: currentUser, app_metadata: currentApp };
          const refused = refusedAttributes(caller, policies, settings, { user_metadata: write }, current);
          const expectedKeys = Object.keys(write).filter(
            (k) => !attributeDecision(caller, policies.user_metadata, settings, 'user_metadata', k, Object.hasOwn(currentUser, k)).editable,
          );
          expect(refused.map((r) => r.key)).toEqual(expectedKeys);
          expect(refused.every((r) => r.field === 'user_metadata' && Object.hasOwn(write, r.key))).toBe(true);
        },
      ),
    );
  });
});

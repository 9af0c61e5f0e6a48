// The example page's declared-attribute fields (examples/profile-page/src/attributes.ts), without a
// browser: which keys are shown, the control each schema gets, and what a save sends. Whether a key
// may be changed is never decided here: it is the gateway's attributePolicies answer, passed through.
import { describe, expect, it } from 'vitest';
import {
  attributeAt,
  attributeChanges,
  attributeSpecs,
  initialAttributeValue,
  labelOf,
  parseAttribute,
} from '../../examples/profile-page/src/attributes.js';
import { collectChanges, initialValue, type Profile } from '../../examples/profile-page/src/profile.js';

const declaration = (key: string, schema: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  key,
  in: 'USER_METADATA',
  schema,
  view: ['TENANT_ADMIN', 'SELF'],
  lifecycle: 'MUTABLE',
  ...over,
});

const profile = {
  userMetadata: { theme: 'dark', locale: 'en', seats: 3, newsletter: false },
  appMetadata: { plan: 'pro', riskScore: 0.7 },
  connection: {
    attributes: [
      declaration('locale', { type: 'string' }),
      declaration('seats', { type: 'integer' }),
      declaration('newsletter', { type: 'boolean' }),
      declaration('termsAcceptedAt', { type: 'string', format: 'date-time' }, { lifecycle: 'WRITE_ONCE' }),
      declaration('address', { type: 'object' }),
      declaration('plan', { enum: ['free', 'pro'] }, { in: 'APP_METADATA' }),
      declaration('riskScore', { type: 'number' }, { in: 'APP_METADATA', view: ['TENANT_ADMIN'] }),
      declaration('hidden', { type: 'string' }, { view: ['TENANT_ADMIN'] }),
    ],
  },
  attributePolicies: [
    { key: 'locale', in: 'USER_METADATA', editable: true, reason: null, message: null },
    { key: 'seats', in: 'USER_METADATA', editable: true, reason: null, message: null },
    { key: 'newsletter', in: 'USER_METADATA', editable: true, reason: null, message: null },
    { key: 'termsAcceptedAt', in: 'USER_METADATA', editable: true, reason: null, message: null },
    { key: 'address', in: 'USER_METADATA', editable: true, reason: null, message: null },
    { key: 'plan', in: 'APP_METADATA', editable: false, reason: 'REQUIRES_TENANT_ADMIN', message: 'Set by the administrators.' },
  ],
} as unknown as Profile;

describe('attributeSpecs', () => {
  it('shows what the user may view, with a control per schema and the gateway’s policy', () => {
    const specs = attributeSpecs(profile);
    // `hidden` (no SELF in view, no value) is not shown. riskScore's view leaves SELF out too, but its
    // value reached the page (the gateway sends only what the caller may view: a role beyond SELF),
    // so it is shown; with no policy entry for it, it is not editable.
    expect(specs.map((s) => [s.key, s.control, s.editable])).toEqual([
      ['locale', 'text', true],
      ['seats', 'integer', true],
      ['newsletter', 'select', true],
      ['termsAcceptedAt', 'text', true],
      ['address', 'json', true],
      ['plan', 'select', false],
      ['riskScore', 'number', false],
    ]);
    const plan = specs.find((s) => s.key === 'plan');
    expect(plan).toMatchObject({ reason: 'REQUIRES_TENANT_ADMIN', message: 'Set by the administrators.', choices: ['free', 'pro'] });
    expect(specs.find((s) => s.key === 'termsAcceptedAt')?.hint).toMatch(/date and time.*only once/);
    expect(labelOf('termsAcceptedAt')).toBe('Terms accepted at');
    expect(labelOf('employee_number')).toBe('Employee number');
  });

  it('starts each input from the stored value; the JSON editor keeps only undeclared keys', () => {
    const specs = new Map(attributeSpecs(profile).map((s) => [s.key, s]));
    const start = (key: string) => initialAttributeValue(profile, specs.get(key) as never);
    expect([start('locale'), start('seats'), start('newsletter'), start('plan'), start('termsAcceptedAt')]).toEqual(['en', '3', '1', '1', '']);
    expect(JSON.parse(initialValue(profile, 'userMetadata'))).toEqual({ theme: 'dark' });
    // An unchanged editor sends nothing, even though declared keys are missing from it.
    expect(collectChanges(profile, new Map([['userMetadata', initialValue(profile, 'userMetadata')]])).input).toEqual({});
  });
});

describe('attributeChanges', () => {
  const specs = attributeSpecs(profile);
  const id = (key: string) => specs.find((s) => s.key === key)?.id ?? '';

  it('sends only changed keys, typed by their schema; an emptied key is removed, an empty one stays absent', () => {
    const values = new Map([
      [id('locale'), 'pt-BR'],
      [id('seats'), '3'],
      [id('newsletter'), '0'],
      [id('termsAcceptedAt'), ''],
      [id('address'), '{"city":"Porto"}'],
    ]);
    expect(attributeChanges(profile, specs, values)).toEqual({
      patches: { userMetadata: { locale: 'pt-BR', newsletter: true, address: { city: 'Porto' } } },
      problems: new Map(),
    });
    expect(attributeChanges(profile, specs, new Map([[id('locale'), '']])).patches).toEqual({ userMetadata: { locale: null } });
  });

  it('catches what cannot be the value before sending', () => {
    const seats = specs.find((s) => s.key === 'seats');
    expect(parseAttribute(seats as never, '2.5')).toEqual({ ok: false, problem: 'Must be a whole number, e.g. 42.' });
    const { problems, patches } = attributeChanges(profile, specs, new Map([[id('seats'), 'many'], [id('address'), '{']]));
    expect([...problems.keys()]).toEqual([id('seats'), id('address')]);
    expect(patches).toEqual({});
  });

  it('finds the field an error names, by userErrors path or FIELD_NOT_EDITABLE entry', () => {
    expect(attributeAt(specs, 'userMetadata', 'locale')?.key).toBe('locale');
    expect(attributeAt(specs, 'APP_METADATA', 'plan')?.key).toBe('plan');
    expect(attributeAt(specs, 'USER_METADATA', 'plan')).toBeUndefined();
    expect(attributeAt(specs, 'userMetadata', undefined)).toBeUndefined();
  });
});

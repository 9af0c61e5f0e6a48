import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toCamel } from '../../src/domain/names.js';
import type { ProfilePatch } from '../../src/domain/types.js';
import {
  E164_PATTERN,
  EMAIL_MAX_LENGTH,
  hasUnusableCharacters,
  NAME_MAX_LENGTH,
  NICKNAME_MAX_LENGTH,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_BYTES,
  normalizeEmail,
  normalizeUsername,
  USERNAME_MAX_LENGTH,
  validateProfilePatch,
} from '../../src/domain/validation.js';

/** The single error code for a patch, or null when it is valid. */
function codeOf(patch: ProfilePatch): string | null {
  const errors = validateProfilePatch(patch);
  expect(errors.length).toBeLessThanOrEqual(1);
  return errors[0]?.code ?? null;
}

/** An address of exactly `n` characters. */
function emailOfLength(n: number): string {
  const domain = '@example.com';
  const localLen = Math.min(64, n - domain.length);
  let rest = n - domain.length - localLen;
  let host = '';
  // pad the domain with labels of up to 63 characters: "a…a."
  while (rest > 0) {
    const label = Math.min(63, rest - 1);
    if (label < 1) {
      host = `b${host}`;
      rest -= 1;
      break;
    }
    host += `${'d'.repeat(label)}.`;
    rest -= label + 1;
  }
  const email = `${'l'.repeat(localLen)}@${host}example.com`;
  expect(email.length).toBe(n);
  return email;
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe('limits', () => {
  it('exports the spec limits', () => {
    expect([NAME_MAX_LENGTH, NICKNAME_MAX_LENGTH, USERNAME_MAX_LENGTH, EMAIL_MAX_LENGTH]).toEqual([
      150, 300, 128, 254,
    ]);
    expect([PASSWORD_MIN_BYTES, PASSWORD_MAX_BYTES]).toEqual([8, 72]);
  });
});

describe('validateProfilePatch: name lengths', () => {
  const cases: [string, number, string | null][] = [
    ['x', 0, 'INVALID_LENGTH'],
    ['x', 1, null],
    ['x', 150, null],
    ['x', 151, 'INVALID_LENGTH'],
    ['é', 150, null],
    ['😀', 150, null], // 150 characters, 300 UTF-16 units
    ['😀', 151, 'INVALID_LENGTH'],
  ];
  for (const field of ['name', 'given_name', 'family_name'] as const) {
    it.each(cases)(`${field}: %j × %i → %s`, (ch, n, code) => {
      const errors = validateProfilePatch({ [field]: ch.repeat(n) });
      expect(errors.map((e) => e.code)).toEqual(code ? [code] : []);
      if (code) {
        expect(errors[0]!.field).toEqual([toCamel(field)]);
        expect(errors[0]!.message).toContain('1–150');
      }
    });
    it(`${field}: only spaces counts as empty`, () => {
      expect(codeOf({ [field]: '   ' })).toBe('INVALID_LENGTH');
      expect(codeOf({ [field]: '\t\n' })).toBe('INVALID_LENGTH');
      expect(codeOf({ [field]: ' a ' })).toBeNull();
    });
  }

  it.each([
    [0, 'INVALID_LENGTH'],
    [1, null],
    [300, null],
    [301, 'INVALID_LENGTH'],
  ])('nickname: %i characters → %s', (n, code) => {
    expect(codeOf({ nickname: 'n'.repeat(n) })).toBe(code);
  });

  it('nickname: only spaces counts as empty', () => {
    expect(codeOf({ nickname: ' '.repeat(5) })).toBe('INVALID_LENGTH');
  });

  it('uses camelCase field paths', () => {
    expect(validateProfilePatch({ given_name: '' })[0]!.field).toEqual(['givenName']);
    expect(validateProfilePatch({ family_name: '' })[0]!.field).toEqual(['familyName']);
    expect(validateProfilePatch({ phone_number: 'x' })[0]!.field).toEqual(['phoneNumber']);
  });
});

describe('validateProfilePatch: username', () => {
  it.each([
    ['', 'INVALID_LENGTH'],
    ['a', null],
    ['a'.repeat(128), null],
    ['a'.repeat(129), 'INVALID_LENGTH'],
    ["AZaz09_+-.!#$'^`~@", null],
    ['has space', 'INVALID_USERNAME'],
    ['semi;colon', 'INVALID_USERNAME'],
    ['slash/', 'INVALID_USERNAME'],
    ['percent%', 'INVALID_USERNAME'],
    ['ünïcode', 'INVALID_USERNAME'],
    ['star*', 'INVALID_USERNAME'],
    ['a\nb', 'INVALID_USERNAME'],
  ])('%j → %s', (username, code) => {
    expect(codeOf({ username })).toBe(code);
  });

  it('says which characters are allowed', () => {
    const [error] = validateProfilePatch({ username: 'a b' });
    expect(error!.field).toEqual(['username']);
    expect(error!.message).toContain("_ + - . ! # $ ' ^ ` ~ @");
  });

  const allowed = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', ..."_+-.!#$'^`~@"];
  const allowedSet = new Set(allowed);
  const allowedChar = fc.constantFrom(...allowed);

  it('property: any 1–128 allowed characters are accepted', () => {
    fc.assert(
      fc.property(fc.string({ unit: allowedChar, minLength: 1, maxLength: 128 }), (username) => {
        expect(validateProfilePatch({ username })).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a string containing any disallowed character is refused', () => {
    const disallowedChar = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .filter((c) => !allowedSet.has(c));
    const arb = fc
      .tuple(
        fc.string({ unit: allowedChar, maxLength: 60 }),
        disallowedChar,
        fc.string({ unit: allowedChar, maxLength: 60 }),
      )
      .map(([a, bad, b]) => a + bad + b);
    fc.assert(
      fc.property(arb, (username) => {
        const errors = validateProfilePatch({ username });
        expect(errors).toHaveLength(1);
        // U+0000 and lone surrogates are refused before the username's own rule, everywhere.
        expect(errors[0]!.code).toBe(hasUnusableCharacters(username) ? 'INVALID_CHARACTERS' : 'INVALID_USERNAME');
      }),
      { numRuns: 500 },
    );
  });
});

describe('validateProfilePatch: email', () => {
  it.each([
    [254, null],
    [255, 'INVALID_LENGTH'],
  ])('%i characters → %s', (n, code) => {
    expect(codeOf({ email: emailOfLength(n) })).toBe(code);
  });

  it.each([
    'a@b.co',
    'first.last@example.com',
    'user+tag@sub.example.co.uk',
    "o'brien@example.ie",
    'x-y_z@my-domain.io',
    'jörg@bücher.de',
    'UPPER@EXAMPLE.COM',
    'a@xn--80ak6aa92e.com',
  ])('accepts %s', (email) => {
    expect(codeOf({ email })).toBeNull();
  });

  it.each([
    '',
    'plain',
    '@example.com',
    'user@',
    'user@localhost',
    'user@example',
    'user@example.c',
    'user@@example.com',
    'a@b@example.com',
    'user name@example.com',
    ' user@example.com',
    'user@example.com ',
    '.user@example.com',
    'user.@example.com',
    'us..er@example.com',
    'user@-example.com',
    'user@example-.com',
    'user@exa_mple.com',
    'user@example..com',
    'user@.example.com',
    '"quoted"@example.com',
    'user@[127.0.0.1]',
    '<user>@example.com',
    `${'l'.repeat(65)}@example.com`,
  ])('refuses %j', (email) => {
    const errors = validateProfilePatch({ email });
    expect(errors.map((e) => e.code)).toEqual(['INVALID_EMAIL']);
    expect(errors[0]!.field).toEqual(['email']);
  });
});

describe('validateProfilePatch: phone_number', () => {
  it.each(['+14155550123', '+442071838750', '+12', `+1${'2'.repeat(14)}`])('accepts %s', (phone_number) => {
    expect(codeOf({ phone_number })).toBeNull();
  });

  it.each([
    '',
    '+',
    '+1',
    '14155550123',
    '+04155550123',
    `+1${'2'.repeat(15)}`,
    '+1 415 555 0123',
    '+1-415-555-0123',
    '+1415555012a',
    '++14155550123',
    '+14155550123\n',
    '+١٢٣٤', // Arabic-Indic digits are not \d
  ])('refuses %j', (phone_number) => {
    const errors = validateProfilePatch({ phone_number });
    expect(errors.map((e) => e.code)).toEqual(['INVALID_PHONE_NUMBER']);
    expect(errors[0]!.message).toContain('E.164');
  });

  it('exports the pattern', () => {
    expect(E164_PATTERN.test('+14155550123')).toBe(true);
  });
});

describe('validateProfilePatch: picture', () => {
  it.each([
    'http://example.com/a.png',
    'https://example.com/a.png',
    'HTTPS://EXAMPLE.COM/A.PNG',
    'https://cdn.example.com/path/to/pic.jpg?size=200#x',
    'https://s.gravatar.com/avatar/abc?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fjd.png',
  ])('accepts %s', (picture) => {
    expect(codeOf({ picture })).toBeNull();
  });

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'ftp://example.com/a.png',
    'data:image/png;base64,AAAA',
    'file:///etc/passwd',
    '//example.com/a.png',
    '/relative/a.png',
    'example.com/a.png',
    'https:example.com',
    'https://',
    ' https://example.com/a.png',
    '',
  ])('refuses %j', (picture) => {
    const errors = validateProfilePatch({ picture });
    expect(errors.map((e) => e.code)).toEqual(['INVALID_PICTURE']);
    expect(errors[0]!.message).toMatch(/https?:\/\//);
  });
});

describe('validateProfilePatch: password (UTF-8 bytes)', () => {
  const cases: [string, string, string | null][] = [
    ['7 ASCII bytes', 'a'.repeat(7), 'PASSWORD_TOO_WEAK'],
    ['8 ASCII bytes', 'a'.repeat(8), null],
    ['72 ASCII bytes', 'a'.repeat(72), null],
    ['73 ASCII bytes', 'a'.repeat(73), 'PASSWORD_TOO_LONG'],
    ['4 two-byte characters = 8 bytes', 'é'.repeat(4), null],
    ['2 four-byte characters = 8 bytes', '😀'.repeat(2), null],
    ['3 three-byte characters = 9 bytes', '€€€', null],
    ['7 bytes: é + 5 ASCII', `é${'a'.repeat(5)}`, 'PASSWORD_TOO_WEAK'],
    ['72 bytes: 24 × €', '€'.repeat(24), null],
    ['73 bytes: 24 × € + a', `${'€'.repeat(24)}a`, 'PASSWORD_TOO_LONG'],
    ['72 bytes: 18 × 😀', '😀'.repeat(18), null],
    ['73 bytes: 18 × 😀 + a', `${'😀'.repeat(18)}a`, 'PASSWORD_TOO_LONG'],
    ['72 bytes: 36 × é', 'é'.repeat(36), null],
    ['74 bytes: 37 × é (only 37 characters)', 'é'.repeat(37), 'PASSWORD_TOO_LONG'],
    ['empty', '', 'PASSWORD_TOO_WEAK'],
  ];
  it.each(cases)('%s → %s', (_label, password, code) => {
    const errors = validateProfilePatch({ password });
    expect(errors.map((e) => e.code)).toEqual(code ? [code] : []);
    if (code) {
      expect(errors[0]!.field).toEqual(['password']);
      expect(errors[0]!.message).toMatch(code === 'PASSWORD_TOO_WEAK' ? /8/ : /72/);
    }
  });

  it('the byte counts in the table are right', () => {
    expect(bytes('€'.repeat(24))).toBe(72);
    expect(bytes('😀'.repeat(18))).toBe(72);
    expect(bytes(`${'😀'.repeat(18)}a`)).toBe(73);
  });
});

describe('validateProfilePatch: the patch as a whole', () => {
  it('checks nothing that is absent or null', () => {
    expect(
      validateProfilePatch({
        email: null,
        username: null,
        phone_number: null,
        name: null,
        nickname: null,
        given_name: null,
        family_name: null,
        picture: null,
        user_metadata: null,
        app_metadata: null,
      }),
    ).toEqual([]);
    expect(validateProfilePatch({})).toEqual([]);
    expect(validateProfilePatch({ email_verified: true, phone_verified: false, blocked: true })).toEqual([]);
  });

  it('accepts a full valid patch', () => {
    expect(
      validateProfilePatch({
        email: 'jane@example.com',
        username: 'jane.doe',
        phone_number: '+14155550123',
        password: 'correct horse',
        name: 'Jane Doe',
        nickname: 'jd',
        given_name: 'Jane',
        family_name: 'Doe',
        picture: 'https://example.com/jane.png',
      }),
    ).toEqual([]);
  });

  it('reports every bad field, one error each, in field order', () => {
    const errors = validateProfilePatch({
      picture: 'javascript:alert(1)',
      family_name: '',
      given_name: 'g'.repeat(151),
      nickname: '',
      name: ' ',
      password: 'short',
      phone_number: '123',
      username: 'bad name',
      email: 'nope',
    });
    expect(errors.map((e) => [e.field, e.code])).toEqual([
      [['email'], 'INVALID_EMAIL'],
      [['username'], 'INVALID_USERNAME'],
      [['phoneNumber'], 'INVALID_PHONE_NUMBER'],
      [['password'], 'PASSWORD_TOO_WEAK'],
      [['name'], 'INVALID_LENGTH'],
      [['nickname'], 'INVALID_LENGTH'],
      [['givenName'], 'INVALID_LENGTH'],
      [['familyName'], 'INVALID_LENGTH'],
      [['picture'], 'INVALID_PICTURE'],
    ]);
    for (const e of errors) expect(e.message.length).toBeGreaterThan(10);
  });
});

describe('helpers', () => {
  it('toCamel', () => {
    expect(toCamel('given_name')).toBe('givenName');
    expect(toCamel('family_name')).toBe('familyName');
    expect(toCamel('phone_number')).toBe('phoneNumber');
    expect(toCamel('email_verified')).toBe('emailVerified');
    expect(toCamel('user_metadata')).toBe('userMetadata');
    expect(toCamel('app_metadata')).toBe('appMetadata');
    expect(toCamel('email')).toBe('email');
    expect(toCamel('alreadyCamel')).toBe('alreadyCamel');
  });

  it('normalizeEmail: NFC, then ASCII letters only are lower-cased (a Kelvin sign is never a k)', () => {
    expect(normalizeEmail('\u212Aate@corp.example')).not.toBe(normalizeEmail('kate@corp.example'));
    expect(normalizeEmail('zoe\u0301@X.example')).toBe(normalizeEmail('zo\u00e9@x.example'));
    expect(normalizeEmail('L\u00c9A@x.example')).toBe('l\u00c9a@x.example');
  });

  it('normalizeEmail lower-cases and trims', () => {
    expect(normalizeEmail('  Jane.Doe@Example.COM \n')).toBe('jane.doe@example.com');
    expect(normalizeEmail('jane@example.com')).toBe('jane@example.com');
  });

  it('normalizeUsername lower-cases', () => {
    expect(normalizeUsername('Jane.DOE')).toBe('jane.doe');
    expect(normalizeUsername('already')).toBe('already');
  });

  it('property: normalization is idempotent', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(normalizeEmail(normalizeEmail(s))).toBe(normalizeEmail(s));
        expect(normalizeUsername(normalizeUsername(s))).toBe(normalizeUsername(s));
      }),
    );
  });
});

// The forms in which emails and usernames are compared: uniqueness within a connection (the
// store's lower-cased lookup columns hold these forms), invitations, tickets and import files.
// Pure and dependency-free: the one module of the domain the store may import values from, because
// its indexes must hold exactly the domain's comparison form (eslint.config.js).

/** The form in which emails are compared (uniqueness, invitations, tickets): trimmed, NFC, ASCII-lower-cased. */
export function normalizeEmail(email: string): string {
  // NFC first, then ASCII letters only: String#toLowerCase maps a Kelvin sign (U+212A) to "k" and
  // would let "\u212Aate@…" match "kate@…". A non-ASCII character is compared exactly.
  return nfcKeepingNonAscii(email.trim()).replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// NFC, except that a non-ASCII character NFC would turn into ASCII (the Kelvin sign's canonical
// form is "K", the Greek question mark's ";") stays itself: it is never the ASCII letter it resembles.
function nfcKeepingNonAscii(value: string): string {
  let out = '';
  let run = '';
  for (const ch of value) {
    if (ch > '\x7f' && [...ch.normalize('NFC')].every((c) => c <= '\x7f')) {
      out += run.normalize('NFC') + ch;
      run = '';
    } else {
      run += ch;
    }
  }
  return out + run.normalize('NFC');
}

/** Whether two addresses are the same one, as domain.md compares them; a missing one matches nothing. */
export function sameEmail(a: string | null | undefined, b: string | null | undefined): boolean {
  return typeof a === 'string' && typeof b === 'string' && normalizeEmail(a) === normalizeEmail(b);
}

/** Lower-case: the form in which usernames are compared for uniqueness. */
export function normalizeUsername(username: string): string {
  return username.toLowerCase();
}

// Scans the gateway's JSON log lines for what must never be in them: tokens (JWTs), tickets and
// other long secrets, email addresses, phone numbers, the demo's password, metadata values.
// Every test gateway's log is scanned when it closes (test/helpers/gateway.ts), so the whole e2e
// suite's logs are checked.
import { readFileSync } from 'node:fs';

const PATTERNS: [string, RegExp][] = [
  ['a token', /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/],
  ['an email address', /[^\s@"'<>(),;:\\]+@[^\s@"'<>(),;:\\]+\.[a-z]{2,}/i],
  ['a phone number', /\+\d{8,15}\b/],
  ['a ticket or secret', /[A-Za-z0-9_-]{43,}/],
  ['a password', /correct-horse-battery|s3cret|hunter2/i],
  ['a password hash', /\$(?:2[aby]|argon2id?|scrypt)\$/],
];

/** Values a test put in metadata (and so must not be logged): add them with `forbidInLogs`. */
const forbidden = new Set<string>();

export function forbidInLogs(...values: string[]): void {
  for (const v of values) forbidden.add(v);
}

export interface Leak {
  line: number;
  what: string;
  text: string;
}

/** Problems in these log lines (JSON lines; any other line is reported too: the log is JSON only). */
export function findLeaks(text: string): Leak[] {
  const leaks: Leak[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    try {
      JSON.parse(line);
    } catch {
      leaks.push({ line: i + 1, what: 'a line that is not JSON', text: line.slice(0, 200) });
      return;
    }
    for (const [what, re] of PATTERNS) {
      if (re.test(line)) leaks.push({ line: i + 1, what, text: line.slice(0, 300) });
    }
    for (const value of forbidden) {
      if (line.includes(value)) leaks.push({ line: i + 1, what: `the forbidden value ${JSON.stringify(value)}`, text: line.slice(0, 300) });
    }
  });
  return leaks;
}

export function assertNoLeaks(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const leaks = findLeaks(text);
  if (leaks.length > 0) {
    throw new Error(`The gateway's log (${file}) holds what it must not:\n${leaks.slice(0, 10).map((l) => `  line ${l.line}: ${l.what}: ${l.text}`).join('\n')}`);
  }
}

/** The JSON lines of a log file, parsed. */
export function logLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// The request line is written without the redaction pass (Observability.requestLog): it must never
// carry a key the redaction list names, whatever the request was.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Observability } from '../../src/observability/index.js';
import { createLogger, REDACT } from '../../src/observability/logger.js';
import { newRequestRecord, requestLine } from '../../src/observability/requests.js';

const redactedKeys = new Set(REDACT.map((path) => path.split('.').at(-1) as string));

describe('the request log line', () => {
  it('has no key the redaction list names, with or without a trace, errors and an organization', () => {
    const record = { ...newRequestRecord('req-1'), operationName: 'Profile', operationType: 'query' as const, errorCodes: ['FORBIDDEN'], organization: 'org_1' };
    for (const line of [requestLine(record, 0.0012, 200, 'ok', null), requestLine(record, 0.5, 503, 'error', 'a'.repeat(32))]) {
      const keys = Object.keys(line);
      expect(keys).toContain('requestId');
      expect(keys.filter((k) => redactedKeys.has(k))).toEqual([]);
      // Nothing nested that a '*.key' path would have reached: only scalars and the list of codes.
      for (const value of Object.values(line)) expect(value === null || typeof value !== 'object' || Array.isArray(value)).toBe(true);
    }
  });

  it('is written to the same output as every other line, and the other lines are still redacted', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => { lines.push(chunk.toString('utf8')); done(); } });
    const obs = new Observability({ logger: createLogger({ instance: 't', destination: sink }), instance: 't' });
    obs.requestLog.info(requestLine(newRequestRecord('req-2'), 0.001, 200, 'ok', null), 'request');
    obs.log.info({ event: 'other', email: 'someone@example.com' }, 'other');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ event: 'request', requestId: 'req-2', instance: 't' });
    expect(lines[1]).not.toContain('someone@example.com');
    expect(JSON.parse(lines[1] as string)).toMatchObject({ event: 'other', email: '[redacted]' });
  });
});

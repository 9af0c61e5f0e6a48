// The generated resolver types must match schema/: a stale file fails CI (run `npm run codegen`).
import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.js';

describe('generated files', () => {
  it('are up to date with schema/*.graphql', async () => {
    const outputs = (await generate({ ...config, silent: true }, false)) as {
      filename: string;
      content: string;
    }[];
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      const committed = readFileSync(output.filename, 'utf8');
      expect(committed === output.content, `${output.filename} is stale: run npm run codegen`).toBe(true);
    }
  }, 60_000);
});

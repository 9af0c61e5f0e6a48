// canReadUser runs per object: decided once per user per request, then every field of that user
// passes on a synchronous lookup; a user the caller may not read is FORBIDDEN on every field, and a
// write in the request (forgetUser) makes the next field decide again.
import { describe, expect, it } from 'vitest';
import { RequestMemo } from '../../src/app/request-memo.js';
import type { ReadAccess } from '../../src/domain/access.js';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { canReadUserPerObject } from '../../src/graphql/permissions.js';

/** An access view over a RequestMemo, deciding from `levels` and counting its decisions. */
function accessOf(levels: Record<string, ReadAccess>) {
  const memo = new RequestMemo();
  const counter = { decisions: 0 };
  const access = {
    readNow: (id: string) => memo.readLevel(id),
    read: (user: { id: string }) =>
      memo.rememberRead(user.id, async () => {
        counter.decisions++;
        return levels[user.id] ?? 'none';
      }),
  };
  return { ctx: { access } as unknown as GraphQLContext, memo, counter };
}

const field = (parent: unknown) => `value of ${(parent as { id: string }).id}`;

describe('canReadUser per object', () => {
  it('decides once per user, then answers every further field synchronously', async () => {
    const { ctx, counter } = accessOf({ u1: 'full' });
    expect(await canReadUserPerObject(field, { id: 'u1' }, {}, ctx, {})).toBe('value of u1');
    const second = canReadUserPerObject(field, { id: 'u1' }, {}, ctx, {});
    expect(second).toBe('value of u1');
    expect(counter.decisions).toBe(1);
  });

  it('refuses every field of a user the caller may not read, with FORBIDDEN', async () => {
    const { ctx } = accessOf({});
    await expect(canReadUserPerObject(field, { id: 'u2' }, {}, ctx, {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(() => canReadUserPerObject(field, { id: 'u2' }, {}, ctx, {})).toThrow(/may not read this user/);
  });

  it('decides again after the user is forgotten (a write in the same request)', async () => {
    const levels: Record<string, ReadAccess> = { u3: 'member' };
    const { ctx, memo, counter } = accessOf(levels);
    await canReadUserPerObject(field, { id: 'u3' }, {}, ctx, {});
    levels.u3 = 'none';
    memo.forget('u3');
    await expect(canReadUserPerObject(field, { id: 'u3' }, {}, ctx, {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(counter.decisions).toBe(2);
  });

  it('does not keep a decision that a forget() overtook', async () => {
    const memo = new RequestMemo();
    let release: (level: ReadAccess) => void = () => {};
    const pending = memo.rememberRead('u4', () => new Promise<ReadAccess>((r) => (release = r)));
    memo.forget('u4');
    release('full');
    expect(await pending).toBe('full');
    expect(memo.readLevel('u4')).toBeUndefined();
  });
});

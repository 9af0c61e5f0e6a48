// The webhook URL rules and the secrets' box, without a server.
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, SecretBox, secretKey, sign, verify } from '../../src/outbox/signing.js';
import { isPrivateAddress } from '../../src/outbox/webhook-urls.js';

describe('isPrivateAddress', () => {
  it.each([
    ['127.0.0.1', true], ['10.0.0.8', true], ['172.31.255.255', true], ['172.32.0.1', false], ['192.168.0.1', true],
    ['169.254.169.254', true], ['100.64.0.1', true], ['0.0.0.0', true], ['224.0.0.1', true], ['8.8.8.8', false],
    ['::1', true], ['::', true], ['fe80::1', true], ['fd12::1', true], ['ff02::1', true], ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', false], ['2606:4700::1111', false], ['not an address', true],
    // IPv4 inside IPv6: compatible, translated, 6to4 and Teredo forms.
    ['::7f00:1', true], ['::127.0.0.1', true], ['::ffff:0:7f00:1', true], ['2002:7f00:1::1', true], ['2001:0:7f00:1::1', true],
  ])('%s → %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('signing and sealing', () => {
  it('signs as Standard Webhooks does (its published example)', () => {
    // The example of the Standard Webhooks specification.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    expect(sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(verify(secret, { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: '1614265330', signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' }, body, 300, 1614265330_000)).toBe(true);
    expect(verify(secret, { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: '1614265330', signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' }, body)).toBe(false);
  });

  it('makes secrets of 32 bytes and refuses weak ones; the box opens only what it sealed', () => {
    expect(secretKey(newWebhookSecret())?.length).toBe(32);
    expect(secretKey('whsec_short')).toBeNull();
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal('whsec_x');
    expect(sealed).not.toContain('whsec_x');
    expect(box.open(sealed)).toBe('whsec_x');
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed)).toThrow();
  });
});

describe('retention and giving up', () => {
  it('refuses a give-up time as long as the events are kept: undelivered events would be deleted unseen', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.js');
    const base = { NODE_ENV: 'test', DATABASE_URL: 'file::memory:', AUTH_JWT_SECRET: 'x'.repeat(32) };
    expect(() => loadConfig({ ...base, EVENT_RETENTION_DAYS: '1', WEBHOOK_GIVE_UP_AFTER_SECONDS: '86400' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, EVENT_RETENTION_DAYS: '2', WEBHOOK_GIVE_UP_AFTER_SECONDS: '86400' })).not.toThrow();
  });
});

// Bearer-token verification with jose: signature, expiry, issuer, audience and an algorithm
// allow-list are all checked; anything else is refused.
import { createSecretKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
  SignJWT,
} from 'jose';
import { SCOPES, type Scope } from '../domain/types.js';

export interface TokenClaims {
  sub: string;
  scopes: ReadonlySet<Scope>;
  /** The `org_id` claim: the organization the token was issued for, if any. */
  orgId: string | null;
  /** The `iat` claim in seconds, if the token has one: a token issued before its sub was erased stays refused. */
  issuedAt: number | null;
}

export interface AuthSettings {
  jwtSecret: string | null;
  jwksUrl: string | null;
  issuer: string | null;
  audience: string | null;
}

export interface TokenVerifier {
  /** Resolves the claims of a valid token; rejects with InvalidTokenError otherwise. */
  verify(token: string): Promise<TokenClaims>;
}

export class InvalidTokenError extends Error {}

const HMAC_ALGORITHMS = ['HS256'];
const VERIFIED_CACHE_SIZE = 10_000;
const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'];
const KNOWN_SCOPES = new Set<string>(SCOPES);

export function claimsFrom(payload: JWTPayload): TokenClaims {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new InvalidTokenError('token has no sub');
  const granted = new Set<Scope>();
  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  // Auth0's RBAC puts the same names in `permissions`.
  const permissions = Array.isArray(payload.permissions) ? payload.permissions : [];
  for (const s of [...scope, ...permissions])
    if (typeof s === 'string' && KNOWN_SCOPES.has(s)) granted.add(s as Scope);
  return { sub: payload.sub, scopes: granted, orgId: orgIdClaim(payload), issuedAt: typeof payload.iat === 'number' ? payload.iat : null };
}

/**
 * The `org_id` claim narrows the help desk to one organization. Present but not a single id (an
 * array, an empty string, a number, null…), it refuses the token: a malformed narrowing never widens.
 */
function orgIdClaim(payload: JWTPayload): string | null {
  if (!Object.hasOwn(payload, 'org_id')) return null;
  const value = payload.org_id;
  if (typeof value !== 'string' || !/^[^\s,]+$/.test(value)) {
    throw new InvalidTokenError('its org_id claim is not a single organization id');
  }
  return value;
}

export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  // A KeyObject made once: jose would otherwise import the raw secret on every verification.
  const secret = settings.jwtSecret ? createSecretKey(Buffer.from(settings.jwtSecret, 'utf8')) : null;
  const jwks = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl)) : null;
  if (!secret && !jwks) throw new Error('No token key configured (AUTH_JWT_SECRET or AUTH_JWKS_URL).');
  const algorithms = [...(secret ? HMAC_ALGORITHMS : []), ...(jwks ? ASYMMETRIC_ALGORITHMS : [])];
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (HMAC_ALGORITHMS.includes(header.alg) && secret) return secret;
    if (ASYMMETRIC_ALGORITHMS.includes(header.alg) && jwks) return jwks(header, token);
    throw new InvalidTokenError('algorithm not allowed');
  };
  const options: JWTVerifyOptions = { algorithms, requiredClaims: ['exp', 'sub'] };
  if (settings.issuer) options.issuer = settings.issuer;
  if (settings.audience) options.audience = settings.audience;
  // A token verified once is not verified again until it expires (a frontend sends the same one
  // with every request). Bounded: the oldest entries go first.
  const verified = new Map<string, { claims: TokenClaims; expiresAt: number }>();
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit && hit.expiresAt > Date.now()) return hit.claims;
      if (hit) verified.delete(token);
      try {
        const { payload } = await jwtVerify(token, getKey, options);
        const claims = claimsFrom(payload);
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
        verified.set(token, { claims, expiresAt: (payload.exp as number) * 1000 });
        return claims;
      } catch (err) {
        if (err instanceof InvalidTokenError) throw err;
        // jose's message says what was wrong (expired, bad signature…) and holds no secret.
        throw new InvalidTokenError(err instanceof Error ? err.message : 'invalid token');
      }
    },
  };
}

export interface SignOptions {
  sub: string;
  scope?: string;
  orgId?: string | null;
  ttlSeconds?: number;
  issuer?: string | null;
  audience?: string | null;
}

/** Signs an HS256 token: for the dev CLI, the demo and tests. */
export async function signToken(secret: string, opts: SignOptions): Promise<string> {
  const claims: JWTPayload = {};
  if (opts.scope) claims.scope = opts.scope;
  if (opts.orgId) claims.org_id = opts.orgId;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.sub)
    .setIssuedAt()
    .setExpirationTime(`${opts.ttlSeconds ?? 3600}s`);
  if (opts.issuer) jwt = jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt = jwt.setAudience(opts.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

const DEV_SECRET_FILE = 'dev-jwt-secret';

/** Outside production with no key configured: a random secret kept in the data folder (mode 0600). */
export function loadOrCreateDevSecret(dataDir: string): string {
  const file = join(dataDir, DEV_SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

export function readDevSecret(dataDir: string): string | null {
  const file = join(dataDir, DEV_SECRET_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}

/** The scopes of a tenant administrator who may do everything. */
export const ALL_SCOPES = SCOPES.join(' ');

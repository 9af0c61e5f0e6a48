// The per-request context: the verified caller (computed once), fresh loaders, the access view.

import { Access } from '../app/access.js';
import type { AppContext } from '../app/context.js';
import { createLoaders, type Loaders } from '../app/loaders.js';
import { InvalidTokenError, type TokenClaims, type TokenVerifier } from '../auth/tokens.js';
import type { TicketSettings } from '../config.js';
import type { ScriptRegistry } from '../connectors/custom-db.js';
import { type Caller, effectiveAdminOrganizations } from '../domain/access.js';
import { identifyReader } from '../store/read-scope.js';
import type { Store, SubjectStanding } from '../store/types.js';

export type GraphQLContext = AppContext;

export interface ContextDeps {
  store: Store;
  verifier: TokenVerifier;
  scripts: ScriptRegistry;
  tickets: TicketSettings;
  loginAttempts?: AppContext['loginAttempts'];
  events?: AppContext['events'];
}

function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export async function buildContext(
  deps: ContextDeps,
  authorization: string | undefined,
): Promise<GraphQLContext> {
  const loaders = createLoaders(deps.store);
  const { caller, problem } = await resolveCaller(deps, loaders, authorization);
  return {
    store: deps.store,
    scripts: deps.scripts,
    caller,
    authProblem: problem,
    loaders,
    access: new Access(caller, loaders, deps.scripts),
    tickets: deps.tickets,
    ...(deps.loginAttempts ? { loginAttempts: deps.loginAttempts } : {}),
    ...(deps.events ? { events: deps.events } : {}),
  };
}

/**
 * Whether the token's sub names an erased user, or a user that bears an erased id again while the
 * token was issued before that erasure (or says not when). The same second counts as before: `iat`
 * has one-second precision, and the doubt goes to refusing. A token issued after the current user
 * was created cannot predate an erasure of the id, so that case costs no query.
 */
function issuedBeforeErasure(claims: TokenClaims, standing: SubjectStanding): boolean {
  if (!standing.deletedAt) return false;
  // No user bears the id again: every token of it is refused.
  if (standing.createdAt === null) return true;
  // A token issued after the current bearer of the id was created is theirs.
  if (claims.issuedAt !== null && claims.issuedAt * 1000 >= standing.createdAt.getTime() + 1000) return false;
  return claims.issuedAt === null || claims.issuedAt <= Math.floor(standing.deletedAt.getTime() / 1000);
}

async function resolveCaller(
  deps: ContextDeps,
  loaders: Loaders,
  authorization: string | undefined,
): Promise<{ caller: Caller | null; problem: string | null }> {
  const token = bearer(authorization);
  if (!token) {
    return {
      caller: null,
      problem: authorization ? 'Malformed Authorization header.' : 'A bearer token is required.',
    };
  }
  let claims: Awaited<ReturnType<TokenVerifier['verify']>>;
  try {
    claims = await deps.verifier.verify(token);
  } catch (err) {
    const why = err instanceof InvalidTokenError ? err.message : 'invalid token';
    return { caller: null, problem: `The token is not valid: ${why}.` };
  }
  // The caller's earlier writes decide where this request's reads run (store/read-scope.ts).
  identifyReader(claims.sub);
  // One statement, on every request (never cached): a block or an erasure takes effect at once,
  // even for tokens issued before it.
  const standing = await deps.store.users.standing(claims.sub);
  if (standing.blocked === true) return { caller: null, problem: 'The user is blocked.' };
  if (issuedBeforeErasure(claims, standing)) return { caller: null, problem: 'The user was deleted.' };
  const memberships = standing.memberships;
  loaders.membershipsByUser.prime(claims.sub, memberships);
  const adminOf = memberships.filter((m) => m.roles.includes('ADMIN')).map((m) => m.organizationId);
  return {
    caller: {
      sub: claims.sub,
      scopes: claims.scopes,
      orgId: claims.orgId,
      adminOrganizationIds: effectiveAdminOrganizations(adminOf, claims.orgId),
    },
    problem: null,
  };
}

// What every operation needs for one request: the caller, the store, fresh loaders, the access view.
import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { TicketSettings } from '../config.js';
import type { Caller } from '../domain/access.js';
import type { Observability, RequestRecord } from '../observability/index.js';
import type { SecretBox } from '../outbox/signing.js';
import type { Store } from '../store/types.js';
import type { Access } from './access.js';
import type { Loaders } from './loaders.js';
import type { LoginAttempts } from './logins.js';

export interface EventSettings {
  box: SecretBox;
  allowPrivate: boolean;
  source: string;
  /** Tells this process's delivery worker that a write recorded events (it polls otherwise). */
  notify?: () => void;
}

export interface AppContext {
  store: Store;
  scripts: ScriptRegistry;
  /** Null when the request carries no valid token (or the token's user is blocked or erased). */
  caller: Caller | null;
  /** Why there is no caller, for the UNAUTHENTICATED message. Never echoes the token. */
  authProblem: string | null;
  loaders: Loaders;
  access: Access;
  tickets: TicketSettings;
  /** The gateway's logs and metrics (absent in CLI jobs). */
  obs?: Observability;
  /** This request's record: its id, operation and caller kind (absent outside a request). */
  request?: RequestRecord;
  /** Webhooks: the box their secrets are sealed in, and whether private addresses are allowed; absent in CLI jobs. */
  events?: EventSettings;
  /** Brute-force protection of authenticate; absent, logins are not counted. */
  loginAttempts?: LoginAttempts;
}

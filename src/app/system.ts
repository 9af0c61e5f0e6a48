// An AppContext for the gateway's own jobs (demo seed, CLI): a tenant administrator with every scope.
import { DEFAULT_TICKET_SETTINGS } from '../config.js';
import type { ScriptRegistry } from '../connectors/custom-db.js';
import type { Caller } from '../domain/access.js';
import { SCOPES } from '../domain/types.js';
import type { Store } from '../store/types.js';
import { Access } from './access.js';
import type { AppContext } from './context.js';
import { createLoaders } from './loaders.js';

export function systemContext(store: Store, scripts: ScriptRegistry, sub = 'system', tickets = DEFAULT_TICKET_SETTINGS): AppContext {
  const caller: Caller = { sub, scopes: new Set(SCOPES), orgId: null, adminOrganizationIds: new Set() };
  const loaders = createLoaders(store);
  return { store, scripts, caller, authProblem: null, loaders, access: new Access(caller, loaders, scripts), tickets };
}

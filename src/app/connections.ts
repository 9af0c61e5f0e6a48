// Connection operations. What the options mean is decided in src/domain/connection.ts.
import { ScriptLoadError } from '../connectors/custom-db.js';
import {
  ATTRIBUTES_OPTION,
  type AttributeDeclaration,
  attributeSettingsOf,
  checkAttributeSettings,
  UNDECLARED_ATTRIBUTES_OPTION,
  type UndeclaredAttributePolicy,
} from '../domain/attributes.js';
import type { ConnectionKind, RootAttributeSync, UserError } from '../domain/types.js';
import type { ConnectionOptions, ConnectionRow } from '../store/types.js';
import { connectionEventsOf, eventActor, told } from './events.js';
import { eraseUser } from './erasure.js';
import { backoff, concurrentWrites, WRITE_ATTEMPTS } from './writes.js';
import type { AppContext } from './context.js';
import { hasScope } from '../domain/access.js';
import { forbidden, notFound, unauthenticated } from './errors.js';
import { findConnection } from './lookup.js';
import { newConnectionId } from './ids.js';

export interface ConnectionInput {
  name: string;
  kind: ConnectionKind;
  strategy?: string | null;
  customDatabase?: boolean | null;
  importMode?: boolean | null;
  syncUserRootAttributes?: RootAttributeSync | null;
  requiresUsername?: boolean | null;
  customScripts?: string | null;
  options?: Record<string, unknown> | null;
  /** Declared attributes; replaces the stored list when given. */
  attributes?: AttributeDeclaration[] | null;
  undeclaredAttributes?: UndeclaredAttributePolicy | null;
}

export type ConnectionResult = { connection: ConnectionRow | null; userErrors: UserError[] };

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const PASSWORDLESS_STRATEGIES = ['email', 'sms'];

/** Checks a connection's settings as a whole; the merged options are what will be stored. */
export async function checkConnectionSettings(
  ctx: AppContext,
  kind: ConnectionKind,
  strategy: string,
  options: ConnectionOptions,
): Promise<UserError[]> {
  const errors: UserError[] = [];
  const err = (field: string, code: string, message: string) =>
    errors.push({ field: [field], code, message });
  const custom = options.enabledDatabaseCustomization === true;
  if (kind === 'PASSWORDLESS' && !PASSWORDLESS_STRATEGIES.includes(strategy)) {
    err('strategy', 'INVALID_STRATEGY', 'A passwordless connection uses strategy email or sms.');
  }
  if (kind === 'DATABASE' && strategy !== 'auth0') {
    err('strategy', 'INVALID_STRATEGY', 'A database connection uses strategy auth0.');
  }
  if (custom && kind !== 'DATABASE') {
    err(
      'customDatabase',
      'NOT_SUPPORTED_BY_CONNECTION',
      'Only DATABASE connections can use a custom database.',
    );
  }
  if (options.import_mode === true && !custom) {
    err(
      'importMode',
      'NOT_SUPPORTED_BY_CONNECTION',
      'Import mode needs a custom database (customDatabase: true).',
    );
  }
  if (options.requires_username === true && kind !== 'DATABASE') {
    err('requiresUsername', 'NOT_SUPPORTED_BY_CONNECTION', 'Only DATABASE connections have usernames.');
  }
  const sync = options.set_user_root_attributes;
  if (sync !== undefined && kind === 'PASSWORDLESS') {
    err(
      'syncUserRootAttributes',
      'NOT_SUPPORTED_BY_CONNECTION',
      'Passwordless connections have no sync setting: the gateway is the identity provider, and logins never overwrite root attributes.',
    );
  } else if (
    sync !== undefined &&
    !['on_each_login', 'on_first_login', 'never_on_login'].includes(String(sync))
  ) {
    err(
      'syncUserRootAttributes',
      'INVALID_SYNC_SETTING',
      'set_user_root_attributes is one of on_each_login, on_first_login, never_on_login.',
    );
  }
  if (custom) {
    if (typeof options.customScripts !== 'string' || options.customScripts === '') {
      err(
        'customScripts',
        'SCRIPT_REQUIRED',
        'A custom database needs customScripts: the name of its script module.',
      );
    } else {
      try {
        await ctx.scripts.load(options.customScripts);
      } catch (e) {
        if (!(e instanceof ScriptLoadError)) throw e;
        err('customScripts', 'INVALID_SCRIPT', e.message);
      }
    }
  }
  // Declarations are checked however they arrive: the attributes field or the raw options.
  errors.push(...checkAttributeSettings(options));
  return errors;
}

/** The options object to store: `options` as given, with the named fields written over it. */
export function optionsFrom(input: Omit<ConnectionInput, 'name' | 'kind' | 'strategy'>): ConnectionOptions {
  const options: ConnectionOptions = { ...(input.options ?? {}) };
  if (input.syncUserRootAttributes != null) options.set_user_root_attributes = input.syncUserRootAttributes;
  if (input.customDatabase != null) options.enabledDatabaseCustomization = input.customDatabase;
  if (input.importMode != null) options.import_mode = input.importMode;
  if (input.customScripts != null) options.customScripts = input.customScripts;
  if (input.requiresUsername != null) options.requires_username = input.requiresUsername;
  if (input.attributes != null) options[ATTRIBUTES_OPTION] = input.attributes;
  if (input.undeclaredAttributes != null) options[UNDECLARED_ATTRIBUTES_OPTION] = input.undeclaredAttributes;
  return options;
}

async function checkConnectionName(ctx: AppContext, name: string): Promise<UserError[]> {
  if (!NAME.test(name)) {
    return [
      {
        field: ['name'],
        code: 'INVALID_NAME',
        message: 'A connection name is 1–128 letters, digits, - and _, starting with a letter or digit.',
      },
    ];
  }
  if (await ctx.store.connections.byName(name)) {
    return [{ field: ['name'], code: 'NAME_TAKEN', message: `A connection named ${name} exists.` }];
  }
  return [];
}

export async function createConnection(ctx: AppContext, input: ConnectionInput): Promise<ConnectionResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const errors = await checkConnectionName(ctx, input.name);
  const strategy = input.strategy ?? (input.kind === 'DATABASE' ? 'auth0' : null);
  if (!strategy) {
    errors.push({
      field: ['strategy'],
      code: 'REQUIRED',
      message: `A ${input.kind} connection needs a strategy.`,
    });
  }
  const options = optionsFrom(input);
  if (input.kind !== 'PASSWORDLESS' && options.set_user_root_attributes === undefined) {
    options.set_user_root_attributes = 'on_each_login';
  }
  if (strategy) errors.push(...(await checkConnectionSettings(ctx, input.kind, strategy, options)));
  if (errors.length > 0 || !strategy) return { connection: null, userErrors: errors };
  const row = await ctx.store.connections.create(
    { id: newConnectionId(), name: input.name, kind: input.kind, strategy, options },
    { actorId: caller.sub, operation: 'createConnection' },
  );
  await indexDeclaredAttributes(ctx, row);
  ctx.loaders.connection.prime(row.id, row);
  return { connection: row, userErrors: [] };
}

export type ConnectionChanges = {
  [K in keyof Omit<ConnectionInput, 'options'>]?: ConnectionInput[K] | null;
} & {
  /** Merged into the stored options (a key set to null is removed), unless `replaceOptions`. */
  options?: Record<string, unknown> | null;
  replaceOptions?: boolean | null;
};

/** Options merge: each key given replaces the stored one, null removes it. */
export function mergeOptions(stored: ConnectionOptions, patch: Record<string, unknown>): ConnectionOptions {
  const next: ConnectionOptions = { ...stored };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

export async function updateConnection(ctx: AppContext, id: string, input: ConnectionChanges): Promise<ConnectionResult> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const audit = { actorId: caller.sub, operation: 'updateConnection' };
  const by = eventActor(ctx);
  // Decided (checks, merged options, events) on the connection as read, applied only while it is
  // still that row; decided again on the row the store returns when another update got there first.
  let current = await findConnection(ctx, id);
  for (let attempt = 1; ; attempt++) {
    if (!current) throw notFound('connection', id);
    const errors: UserError[] = [];
    if (input.kind != null && input.kind !== current.kind) {
      errors.push({ field: ['kind'], code: 'IMMUTABLE', message: "A connection's kind cannot change; create another connection." });
    }
    if (input.name != null && input.name !== current.name) errors.push(...(await checkConnectionName(ctx, input.name)));
    const base = input.replaceOptions ? {} : current.options;
    const options = optionsFrom({ ...input, options: mergeOptions(base, input.options ?? {}) });
    const strategy = input.strategy ?? current.strategy;
    errors.push(...(await checkConnectionSettings(ctx, current.kind, strategy, options)));
    if (errors.length > 0) return { connection: null, userErrors: errors };
    const changes = { ...(input.name != null ? { name: input.name } : {}), strategy, options };
    const events = connectionEventsOf(by, current, { ...current, ...changes });
    const result = await ctx.store.connections.update(current.id, current, changes, audit, events);
    if (!result.ok && 'stale' in result) {
      if (attempt >= WRITE_ATTEMPTS) return { connection: null, userErrors: [concurrentWrites()] };
      current = result.current;
      await backoff(attempt);
      continue;
    }
    if (!result.ok) throw notFound('connection', id);
    told(by, events);
    const row = result.connection;
    await indexDeclaredAttributes(ctx, row);
    // Field policies and logins read the connection anew from the next request on.
    ctx.loaders.connection.clear(row.id).prime(row.id, row);
    return { connection: row, userErrors: [] };
  }
}

/** Searches on declared attributes are served by expression indexes, made when they are declared. */
async function indexDeclaredAttributes(ctx: AppContext, row: ConnectionRow): Promise<void> {
  const { attributes } = attributeSettingsOf(row.options);
  if (attributes.length > 0) await ctx.store.connections.indexAttributes(row.id, attributes.map((d) => ({ object: d.in, key: d.key })));
}

/** Refuses while users exist, unless asked to erase them too (which needs delete:users). */
export async function deleteConnection(
  ctx: AppContext,
  id: string,
  opts: { deleteUsers?: boolean | null },
): Promise<{ deletedConnectionId: string | null; deletedUsers: number; userErrors: UserError[] }> {
  const caller = ctx.caller;
  if (!caller) throw unauthenticated(ctx.authProblem ?? undefined);
  const connection = await findConnection(ctx, id);
  if (!connection) throw notFound('connection', id);
  const [count] = await ctx.store.connections.userCounts([connection.id]);
  let deleted = 0;
  if ((count ?? 0) > 0) {
    if (!opts.deleteUsers) {
      return {
        deletedConnectionId: null,
        deletedUsers: 0,
        userErrors: [
          {
            field: ['deleteUsers'],
            code: 'CONNECTION_HAS_USERS',
            message: `The connection has ${count} users; pass deleteUsers: true to erase them with it.`,
          },
        ],
      };
    }
    if (!hasScope(caller, 'delete:users')) throw forbidden('Erasing the connection\'s users needs the delete:users scope.');
    for (;;) {
      const page = await ctx.store.connections.usersPage(connection.id, { first: 500 });
      if (page.length === 0) break;
      for (const user of page) {
        const erased = await eraseUser(ctx, user.id, () => ({ audit: { actorId: caller.sub, operation: 'deleteConnection' }, by: eventActor(ctx) }), user);
        // Other requests keep changing this user: the connection stays, with the users not yet erased.
        if (erased === 'concurrent') return { deletedConnectionId: null, deletedUsers: deleted, userErrors: [concurrentWrites()] };
        if (erased === 'erased') deleted += 1;
      }
    }
  }
  if (!(await ctx.store.connections.delete(connection.id, { actorId: caller.sub, operation: 'deleteConnection' }))) {
    return {
      deletedConnectionId: null,
      deletedUsers: deleted,
      userErrors: [
        { field: ['deleteUsers'], code: 'CONNECTION_HAS_USERS', message: 'A user was created meanwhile (a login); try again.' },
      ],
    };
  }
  ctx.loaders.connection.clear(connection.id);
  return { deletedConnectionId: connection.id, deletedUsers: deleted, userErrors: [] };
}

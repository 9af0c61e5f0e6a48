// What a connection's stored options mean: the one place that reads Auth0's option names.
import {
  type ConnectionFacts,
  type ConnectionKind,
  DEFAULT_ROOT_ATTRIBUTE_SYNC,
  ROOT_ATTRIBUTE_SYNCS,
  type RootAttributeSync,
} from './types.js';

export interface ConnectionSettings {
  name: string;
  kind: ConnectionKind;
  strategy: string;
  options: {
    set_user_root_attributes?: unknown;
    import_mode?: unknown;
    enabledDatabaseCustomization?: unknown;
    customScripts?: unknown;
    requires_username?: unknown;
    display_name?: unknown;
  };
}

/**
 * Whether emails and usernames identify one user within the connection: in a database connection
 * (own store or custom database) they are sign-in identifiers; a social, enterprise or passwordless
 * provider may hand two of its users one address, and the gateway keeps what it is given.
 */
export function keysAreUnique(c: Pick<ConnectionSettings, 'kind'>): boolean {
  return c.kind === 'DATABASE';
}

export function isCustomDatabase(c: ConnectionSettings): boolean {
  return c.kind === 'DATABASE' && c.options.enabledDatabaseCustomization === true;
}

export function isImportMode(c: ConnectionSettings): boolean {
  return isCustomDatabase(c) && c.options.import_mode === true;
}

/** Null for passwordless: the gateway is the identity provider, logins never overwrite root attributes. */
export function rootAttributeSync(c: ConnectionSettings): RootAttributeSync | null {
  if (c.kind === 'PASSWORDLESS') return null;
  const value = c.options.set_user_root_attributes;
  return ROOT_ATTRIBUTE_SYNCS.includes(value as RootAttributeSync)
    ? (value as RootAttributeSync)
    : DEFAULT_ROOT_ATTRIBUTE_SYNC;
}

export function customScriptsName(c: ConnectionSettings): string | null {
  return isCustomDatabase(c) && typeof c.options.customScripts === 'string' ? c.options.customScripts : null;
}

export function connectionFacts(c: ConnectionSettings, scripts: ConnectionFacts['scripts']): ConnectionFacts {
  return {
    kind: c.kind,
    strategy: c.strategy,
    name: c.name,
    ...(typeof c.options.display_name === 'string' && c.options.display_name.trim() !== ''
      ? { displayName: c.options.display_name.trim() }
      : {}),
    customDatabase: isCustomDatabase(c),
    importMode: isImportMode(c),
    requiresUsername: c.kind === 'DATABASE' && c.options.requires_username === true,
    // Passwordless ignores it; the policy treats it as the first login's.
    sync: rootAttributeSync(c) ?? 'on_first_login',
    scripts,
  };
}

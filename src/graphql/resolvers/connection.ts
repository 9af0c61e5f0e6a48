import { attributeSettingsOf } from '../../domain/attributes.js';
import { toAttributeDeclarations } from '../inputs.js';
import { createConnection, deleteConnection, updateConnection } from '../../app/connections.js';
import { listConnections } from '../../app/queries.js';
import { findConnection } from '../../app/lookup.js';
import { hasScope } from '../../domain/access.js';
import { isCustomDatabase, isImportMode, rootAttributeSync } from '../../domain/connection.js';
import { lower, upper } from '../enums.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const connectionResolvers: Resolvers = {
  Query: {
    connection: (_, { id }, ctx) => findConnection(ctx, id),
    connections: (_, __, ctx) => listConnections(ctx),
  },
  Connection: {
    customDatabase: (c) => isCustomDatabase(c),
    importMode: (c) => isImportMode(c),
    syncUserRootAttributes: (c) => upper(rootAttributeSync(c)),
    // Anyone who may read a user sees its connection's kind; the configuration is for read:connections.
    options: (c, _, ctx) => (ctx.caller && hasScope(ctx.caller, 'read:connections') ? c.options : null),
    attributes: (c) =>
      attributeSettingsOf(c.options).attributes.map((d) => ({ ...d, in: d.in === 'app_metadata' ? 'APP_METADATA' : 'USER_METADATA' })),
    undeclaredAttributes: (c) => attributeSettingsOf(c.options).undeclared,
    userCount: (c, _, ctx) =>
      ctx.caller && hasScope(ctx.caller, 'read:connections')
        ? ctx.loaders.connectionUserCount.load(c.id)
        : null,
  },
  Mutation: {
    createConnection: (_, { input }, ctx) =>
      createConnection(ctx, {
        ...input,
        syncUserRootAttributes: lower(input.syncUserRootAttributes),
        attributes: toAttributeDeclarations(input.attributes),
      }),
    updateConnection: (_, { id, input }, ctx) =>
      updateConnection(ctx, id, {
        ...input,
        syncUserRootAttributes: lower(input.syncUserRootAttributes),
        attributes: toAttributeDeclarations(input.attributes),
      }),
    deleteConnection: (_, { id, deleteUsers }, ctx) => deleteConnection(ctx, id, { deleteUsers }),
  },
};

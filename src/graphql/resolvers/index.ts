import {
  DateTimeResolver,
  EmailAddressResolver,
  JSONObjectResolver,
  PhoneNumberResolver,
  URLResolver,
} from 'graphql-scalars';
import { isValidPhoneNumber } from '../../domain/validation.js';
import { plainJson, strictInput } from '../scalars.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { auditResolvers } from './audit.js';
import { bulkResolvers } from './bulk.js';
import { connectionResolvers } from './connection.js';
import { erasureResolvers } from './erasure.js';
import { loginResolvers } from './login.js';
import { readableOrganization } from '../../app/queries.js';
import { organizationResolvers } from './organization.js';
import { eventResolvers } from './events.js';
import { outboxResolvers } from './outbox.js';
import { ticketResolvers } from './tickets.js';
import { userResolvers } from './user.js';

function nodeType(id: string): 'Connection' | 'Organization' | 'User' {
  if (id.startsWith('con_')) return 'Connection';
  if (id.startsWith('org_')) return 'Organization';
  return 'User';
}

const nodeResolvers: Resolvers = {
  Query: {
    node: async (_, { id }, ctx) => {
      if (nodeType(id) === 'Connection') {
        const c = await ctx.loaders.connection.load(id);
        return c && ctx.caller?.scopes.has('read:connections') ? c : null;
      }
      if (nodeType(id) === 'Organization') {
        return readableOrganization(ctx, id);
      }
      return ctx.access.visible(await ctx.loaders.user.load(id));
    },
  },
  Node: {
    // Ids carry their type: con_… connections, org_… organizations, anything else a user.
    __resolveType: (node) => nodeType(node.id),
  },
};

export const resolvers: Resolvers[] = [
  {
    DateTime: strictInput(DateTimeResolver),
    JSONObject: strictInput(JSONObjectResolver, () => null, plainJson),
    EmailAddress: strictInput(EmailAddressResolver),
    URL: strictInput(URLResolver),
    // graphql-scalars' PhoneNumber also takes national formats; the contract says E.164.
    PhoneNumber: strictInput(PhoneNumberResolver, (v) =>
      typeof v === 'string' && isValidPhoneNumber(v) ? null : 'A phone number must be in E.164 form, such as +14155550123.',
    ),
  },
  nodeResolvers,
  userResolvers,
  connectionResolvers,
  organizationResolvers,
  loginResolvers,
  ticketResolvers,
  erasureResolvers,
  auditResolvers,
  bulkResolvers,
  outboxResolvers,
  eventResolvers,
];

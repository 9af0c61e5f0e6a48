/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ProfileFields on User {\n    id\n    version\n    email\n    emailVerified\n    username\n    phoneNumber\n    name\n    nickname\n    givenName\n    familyName\n    picture\n    userMetadata\n    appMetadata\n    connection {\n      id\n      name\n      kind\n      syncUserRootAttributes\n      attributes {\n        key\n        in\n        schema\n        view\n        lifecycle\n      }\n    }\n    fieldPolicies {\n      field\n      editable\n      reason\n      message\n    }\n    attributePolicies {\n      key\n      in\n      editable\n      reason\n      message\n    }\n    organizations {\n      organization {\n        id\n        name\n        displayName\n      }\n      roles\n      joinedAt\n    }\n  }\n": typeof types.ProfileFieldsFragmentDoc,
    "\n  query Me {\n    me {\n      ...ProfileFields\n    }\n  }\n": typeof types.MeDocument,
    "\n  mutation UpdateProfile($id: ID!, $input: UpdateUserInput!) {\n    updateUser(id: $id, input: $input) {\n      user {\n        ...ProfileFields\n      }\n      userErrors {\n        field\n        code\n        message\n      }\n    }\n  }\n": typeof types.UpdateProfileDocument,
};
const documents: Documents = {
    "\n  fragment ProfileFields on User {\n    id\n    version\n    email\n    emailVerified\n    username\n    phoneNumber\n    name\n    nickname\n    givenName\n    familyName\n    picture\n    userMetadata\n    appMetadata\n    connection {\n      id\n      name\n      kind\n      syncUserRootAttributes\n      attributes {\n        key\n        in\n        schema\n        view\n        lifecycle\n      }\n    }\n    fieldPolicies {\n      field\n      editable\n      reason\n      message\n    }\n    attributePolicies {\n      key\n      in\n      editable\n      reason\n      message\n    }\n    organizations {\n      organization {\n        id\n        name\n        displayName\n      }\n      roles\n      joinedAt\n    }\n  }\n": types.ProfileFieldsFragmentDoc,
    "\n  query Me {\n    me {\n      ...ProfileFields\n    }\n  }\n": types.MeDocument,
    "\n  mutation UpdateProfile($id: ID!, $input: UpdateUserInput!) {\n    updateUser(id: $id, input: $input) {\n      user {\n        ...ProfileFields\n      }\n      userErrors {\n        field\n        code\n        message\n      }\n    }\n  }\n": types.UpdateProfileDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProfileFields on User {\n    id\n    version\n    email\n    emailVerified\n    username\n    phoneNumber\n    name\n    nickname\n    givenName\n    familyName\n    picture\n    userMetadata\n    appMetadata\n    connection {\n      id\n      name\n      kind\n      syncUserRootAttributes\n      attributes {\n        key\n        in\n        schema\n        view\n        lifecycle\n      }\n    }\n    fieldPolicies {\n      field\n      editable\n      reason\n      message\n    }\n    attributePolicies {\n      key\n      in\n      editable\n      reason\n      message\n    }\n    organizations {\n      organization {\n        id\n        name\n        displayName\n      }\n      roles\n      joinedAt\n    }\n  }\n"): typeof import('./graphql.js').ProfileFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      ...ProfileFields\n    }\n  }\n"): typeof import('./graphql.js').MeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProfile($id: ID!, $input: UpdateUserInput!) {\n    updateUser(id: $id, input: $input) {\n      user {\n        ...ProfileFields\n      }\n      userErrors {\n        field\n        code\n        message\n      }\n    }\n  }\n"): typeof import('./graphql.js').UpdateProfileDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

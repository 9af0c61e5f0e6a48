// The page's GraphQL operations. `npm run codegen` reads them and writes typed documents to
// ./gql/: the result and variable types follow the schema, enums included.
import { graphql } from './gql/index.js';

graphql(`
  fragment ProfileFields on User {
    id
    version
    email
    emailVerified
    username
    phoneNumber
    name
    nickname
    givenName
    familyName
    picture
    userMetadata
    appMetadata
    connection {
      id
      name
      kind
      syncUserRootAttributes
      attributes {
        key
        in
        schema
        view
        lifecycle
      }
    }
    fieldPolicies {
      field
      editable
      reason
      message
    }
    attributePolicies {
      key
      in
      editable
      reason
      message
    }
    organizations {
      organization {
        id
        name
        displayName
      }
      roles
      joinedAt
    }
  }
`);

/** The signed-in user's profile, with what they may change and why not. */
export const MeQuery = graphql(`
  query Me {
    me {
      ...ProfileFields
    }
  }
`);

/** Saves the changed fields; business problems come back in `userErrors`. */
export const UpdateProfileMutation = graphql(`
  mutation UpdateProfile($id: ID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) {
      user {
        ...ProfileFields
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

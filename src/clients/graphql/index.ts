// Public surface of the GraphQL client (over the HTTP/1.1 and HTTP/2 clients).
export {
  GraphqlClient,
  GraphqlResponse,
  graphqlKind,
  DEFAULT_GRAPHQL_PATH,
  type GraphqlError,
  type GraphqlRequestOptions,
} from './client.js';

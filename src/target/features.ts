// The embedded target's routes for protocol and request-feature examples: /graphql and the
// routes the request features exercise. `featureRoute` answers a request it owns and returns
// true, or returns false and leaves the request to the target's other routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleGraphql } from './graphql.js';

export interface FeatureRoute {
  method: string;
  path: string;
  description: string;
}

export const FEATURE_ROUTES: readonly FeatureRoute[] = [
  { method: 'ANY', path: '/graphql', description: 'GraphQL (shop schema: item, items, addItem)' },
];

export function featureRoute(path: string, req: IncomingMessage, res: ServerResponse): boolean {
  if (path === '/graphql') {
    handleGraphql(req, res);
    return true;
  }
  return false;
}

// Public surface of the HTTP/1.1 client (the engine and users import only from here). The
// client is hand-written for the load generator's hot path; see client.ts for why.
export {
  HttpClient,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_ORIGIN,
  DEFAULT_TIMEOUT_MS,
  type HttpCallback,
  type HttpClientOptions,
  type RequestOptions,
} from './client.js';
export { HttpError, type HttpErrorKind } from './errors.js';
export { HttpResponse, type HttpTimings } from './response.js';
export { MAX_HEADER_BYTES, MAX_BODY_BYTES } from './parser.js';
export { MAX_QUEUED_REQUESTS, IDLE_TIMEOUT_MS } from './connection.js';
export { MAX_HEAD_CACHE_ENTRIES } from './head.js';

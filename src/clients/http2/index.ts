// Public surface of the HTTP/2 client (its own framing on plain sockets, multiplexed sessions).
export {
  Http2Client,
  http2Kind,
  DEFAULT_H2_TIMEOUT_MS,
  DEFAULT_H2_SESSIONS_PER_ORIGIN,
  MAX_H2_QUEUED_REQUESTS,
  MAX_H2_BODY_BYTES,
  type Http2ClientOptions,
  type Http2RequestOptions,
} from './client.js';
export { Http2Response } from './response.js';
export { Http2SessionGroup, type Http2SharingOptions } from './group.js';
export { kindForRstCode } from './errors.js';

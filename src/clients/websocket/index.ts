// Public surface of the WebSocket client (`ws`).
export {
  WsClient,
  WsConnection,
  WsMessage,
  wsKind,
  DEFAULT_WS_TIMEOUT_MS,
  MAX_WS_QUEUED_MESSAGES,
  MAX_WS_MESSAGE_BYTES,
  MAX_WS_CONNECTIONS,
  type WsConnectOptions,
} from './client.js';

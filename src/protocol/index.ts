// The wire protocol's public surface: framing, codec, schema DSL, messages and registry,
// handshake, certified identities, memory budget, rate-limited rejection log, RPC connections and the protocol server. Pure: no Node I/O is imported here.

export * from './budget.js';
export * from './codec.js';
export * from './counters.js';
export * from './errors.js';
export * from './framing.js';
export * from './handshake.js';
export * from './identity.js';
export * from './log-limit.js';
export * from './messages.js';
export * from './rpc.js';
export * from './connect.js';
export * from './schema.js';
export * from './server.js';

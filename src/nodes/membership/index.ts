// Owns the public surface of the membership node shell (re-exports only). Never adds behaviour.

export {
  MembershipNode,
  type MembershipNodeOptions,
  type MembershipListener,
  type MembershipNodeStats,
} from './node.js';
export {
  encodeSwimMessage,
  decodeSwimMessage,
  encodeWithinLimit,
  type WireDecode,
} from './wire.js';
export { type GossipSecurity } from './node.js';
export {
  GossipKeyring,
  GossipKeyError,
  sealDatagram,
  openDatagram,
  type OpenResult,
} from './seal.js';

// Owns the wire form of what gates say to each other (`gate.*`): a ledger proposal handed on
// towards the Raft leader, a client request handed on to the gate that owns its job (both carry
// the gates they have passed through, `via`, so a gate can refuse a loop or a path that grew too
// long), and a stopping gate's request that a peer take one of its jobs over.

import { defineMessage, type MessageDef, type MessageOf } from '../../protocol/messages.js';
import { s } from '../../protocol/schema.js';
import { MAX_JOB_ID_CHARS } from '../jobs/dc-wire.js';

/** Gates a proposal or a request may pass through before it is refused. */
export const MAX_FORWARD_HOPS = 3;

const id = s.string({ minLength: 1, maxLength: MAX_JOB_ID_CHARS });
const via = s.array(id, { maxItems: MAX_FORWARD_HOPS + 1 });

/** A ledger command (validated by the ledger) for the leader to propose. */
export const GateProposeDef = defineMessage('gate.propose', { command: s.unknown(), via });
/** The ledger's answer to it (a LedgerResult, checked by the proposer). */
export const GateProposedDef = defineMessage('gate.proposed', { result: s.unknown() });

/** A client's job request, authenticated by the first gate, for the job's owner to answer. */
export const GateForwardDef = defineMessage('gate.forward', {
  /** The client the first gate authenticated. */
  client: id,
  /** The request as the client sent it (`job.cancel`). */
  request: s.record(s.unknown(), { maxKeys: 16 }),
  via,
});

/** A stopping gate asks a peer to take its job over (the peer claims it with the next fence). */
export const GateTakeOverDef = defineMessage('gate.take-over', { job: id });
export const GateTakingOverDef = defineMessage('gate.taking-over', { job: id });

export const GATE_MESSAGES: readonly MessageDef[] = [
  GateProposeDef,
  GateProposedDef,
  GateForwardDef,
  GateTakeOverDef,
  GateTakingOverDef,
];

export type GatePropose = MessageOf<typeof GateProposeDef>;
export type GateForward = MessageOf<typeof GateForwardDef>;

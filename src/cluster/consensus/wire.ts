// Owns the wire form of Raft messages: one protocol message definition (with its schema) per
// Raft message type, registered in the node's MessageRegistry, and the conversions between the
// core's Message values and validated wire messages. Never sends anything.

import { MAX_FRAME_BYTES } from '../../protocol/framing.js';
import { defineMessage, type AnyMessage, type MessageDef } from '../../protocol/messages.js';
import { s } from '../../protocol/schema.js';
import { MAX_NODE_ID_CHARS } from './config-change.js';
import type { Message, MessageType } from './types.js';

const nodeId = s.string({ minLength: 1, maxLength: MAX_NODE_ID_CHARS });
const base = { from: nodeId, to: nodeId, term: s.uint() };
const entry = s.object({
  index: s.uint({ min: 1 }),
  term: s.uint(),
  kind: s.enum('normal', 'noop', 'config'),
  data: s.bytes({ maxBytes: MAX_FRAME_BYTES }),
});
/** Entries per AppendEntries accepted from the wire (the sender's limit is lower). */
export const MAX_WIRE_ENTRIES = 4096;
/** Voters a snapshot's configuration may list on the wire. */
export const MAX_WIRE_VOTERS = 64;

export const RaftVoteDef = defineMessage('raft.vote', {
  ...base,
  lastLogIndex: s.uint(),
  lastLogTerm: s.uint(),
  transfer: s.boolean(),
});
export const RaftPreVoteDef = defineMessage('raft.pre-vote', {
  ...base,
  lastLogIndex: s.uint(),
  lastLogTerm: s.uint(),
  transfer: s.boolean(),
});
export const RaftVoteResponseDef = defineMessage('raft.vote-response', {
  ...base,
  granted: s.boolean(),
});
export const RaftPreVoteResponseDef = defineMessage('raft.pre-vote-response', {
  ...base,
  granted: s.boolean(),
});
export const RaftAppendDef = defineMessage(
  'raft.append',
  {
    ...base,
    prevIndex: s.uint(),
    prevTerm: s.uint(),
    entries: s.array(entry, { maxItems: MAX_WIRE_ENTRIES }),
    commit: s.uint(),
  },
  (m) => {
    // A leader's log: indices continue prevIndex one by one, terms never decrease and never
    // exceed the sender's term. Anything else is malformed, refused before the core sees it.
    let prevTerm = m.prevTerm;
    if (prevTerm > m.term)
      return { path: 'prevTerm', expected: `≤ term ${m.term}`, actual: `${prevTerm}` };
    for (let k = 0; k < m.entries.length; k++) {
      const e = m.entries[k]!;
      const path = `entries[${k}]`;
      if (e.index !== m.prevIndex + 1 + k) {
        return { path: `${path}.index`, expected: `${m.prevIndex + 1 + k}`, actual: `${e.index}` };
      }
      if (e.term < prevTerm || e.term > m.term) {
        return {
          path: `${path}.term`,
          expected: `${prevTerm}..${m.term} (terms never decrease)`,
          actual: `${e.term}`,
        };
      }
      prevTerm = e.term;
    }
    return null;
  },
);
export const RaftAppendResponseDef = defineMessage('raft.append-response', {
  ...base,
  index: s.uint(),
  reject: s.boolean(),
  hintIndex: s.uint(),
  hintTerm: s.uint(),
});
export const RaftHeartbeatDef = defineMessage('raft.heartbeat', { ...base, commit: s.uint() });
export const RaftHeartbeatResponseDef = defineMessage('raft.heartbeat-response', { ...base });
export const RaftSnapshotDef = defineMessage('raft.snapshot', {
  ...base,
  snapshot: s.object({
    meta: s.object({
      index: s.uint(),
      term: s.uint(),
      config: s.object({ voters: s.array(nodeId, { maxItems: MAX_WIRE_VOTERS }) }),
    }),
    data: s.bytes({ maxBytes: MAX_FRAME_BYTES }),
  }),
});
export const RaftTimeoutNowDef = defineMessage('raft.timeout-now', { ...base });

const DEFS: Record<MessageType, MessageDef> = {
  vote: RaftVoteDef,
  'pre-vote': RaftPreVoteDef,
  'vote-response': RaftVoteResponseDef,
  'pre-vote-response': RaftPreVoteResponseDef,
  append: RaftAppendDef,
  'append-response': RaftAppendResponseDef,
  heartbeat: RaftHeartbeatDef,
  'heartbeat-response': RaftHeartbeatResponseDef,
  snapshot: RaftSnapshotDef,
  'timeout-now': RaftTimeoutNowDef,
};

/** Every Raft message definition, for `registry.register(...RAFT_MESSAGES)`. */
export const RAFT_MESSAGES: readonly MessageDef[] = Object.values(DEFS);

const TYPE_BY_WIRE = new Map<string, MessageType>(
  Object.entries(DEFS).map(([type, def]) => [def.type, type as MessageType]),
);

/** A core message as a protocol message body (`t` = 'raft.<type>'). */
export function toWire(m: Message): { t: string } & Record<string, unknown> {
  const { type, ...fields } = m;
  return { t: DEFS[type].type, ...fields };
}

/**
 * A message the registry has already validated against its schema (for appends: contiguous
 * indices, terms that never decrease) → a core message, or null if it is not a Raft message.
 */
export function fromWire(w: AnyMessage): Message | null {
  const type = TYPE_BY_WIRE.get(w.t);
  if (type === undefined) return null;
  const { t: _t, id: _id, re: _re, ...fields } = w;
  return { type, ...fields } as unknown as Message;
}

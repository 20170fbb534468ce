// Owns the encoding of configuration entries (the full voter set after one add or remove) and
// the rule that a change touches exactly one server. Never decides when a change may be proposed.

import type { ClusterConfig, ConfigChange, NodeId } from './types.js';
import { RaftInvariantError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Longest node id accepted in a configuration, in characters. */
export const MAX_NODE_ID_CHARS = 256;
/** Most voters a configuration may hold. */
export const MAX_VOTERS = 64;

export interface ConfigEntryData {
  readonly change: ConfigChange;
  readonly voters: readonly NodeId[];
}

export function encodeConfigEntry(data: ConfigEntryData): Uint8Array {
  return encoder.encode(JSON.stringify(data));
}

/** Decodes a config entry written by encodeConfigEntry: null for a wrong shape; not JSON throws. */
export function decodeConfigEntry(bytes: Uint8Array): ConfigEntryData | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    // A config entry is written only by a leader of this code; garbage means corruption.
    throw new RaftInvariantError(`config entry is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const p = parsed as { change?: { kind?: unknown; node?: unknown }; voters?: unknown };
  const kind = p.change?.kind;
  const node = p.change?.node;
  if ((kind !== 'add-voter' && kind !== 'remove-voter') || typeof node !== 'string') return null;
  if (!Array.isArray(p.voters) || !p.voters.every((v) => typeof v === 'string')) return null;
  return { change: { kind, node }, voters: p.voters };
}

/** The configuration after applying one change, or why it is not a single-server change. */
export function applyConfigChange(
  config: ClusterConfig,
  change: ConfigChange,
): { ok: true; config: ClusterConfig } | { ok: false; reason: string } {
  if (change.node.length === 0 || change.node.length > MAX_NODE_ID_CHARS) {
    return { ok: false, reason: `node id must be 1..${MAX_NODE_ID_CHARS} characters` };
  }
  const has = config.voters.includes(change.node);
  if (change.kind === 'add-voter') {
    if (has) return { ok: false, reason: `${change.node} is already a voter` };
    if (config.voters.length >= MAX_VOTERS) {
      return { ok: false, reason: `at most ${MAX_VOTERS} voters` };
    }
    return { ok: true, config: { voters: [...config.voters, change.node].sort() } };
  }
  if (!has) return { ok: false, reason: `${change.node} is not a voter` };
  if (config.voters.length === 1) return { ok: false, reason: 'cannot remove the last voter' };
  return { ok: true, config: { voters: config.voters.filter((v) => v !== change.node) } };
}

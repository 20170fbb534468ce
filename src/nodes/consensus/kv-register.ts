// Owns a small replicated key-value register used by tests, the process entry point and the
// benchmark: put/append commands carrying a (client, sequence) id, applied exactly once per id
// through a bounded session table (Raft dissertation §6.3). Never does I/O; deterministic.

import type { AppliedEntry, StateMachine } from './state-machine.js';

/** Client sessions remembered for duplicate detection; the least recently used is evicted. */
export const MAX_KV_SESSIONS = 10_000;
/** Keys the register holds at most; puts of new keys beyond it are refused (a result, not a crash). */
export const MAX_KV_KEYS = 100_000;

export interface KvCommand {
  /** Client id and per-client increasing sequence number: the proposal's identity. */
  readonly client: string;
  readonly seq: number;
  readonly op: 'put' | 'append';
  readonly key: string;
  readonly value: string;
}

export type KvResult =
  | {
      readonly ok: true;
      readonly value: string;
      readonly duplicate: boolean;
      readonly index: number;
    }
  | { readonly ok: false; readonly error: 'full' | 'stale-seq' }
  /** `detail` says what was wrong with the command. */
  | { readonly ok: false; readonly error: 'bad-command'; readonly detail: string };

export type KvDecode =
  | { readonly ok: true; readonly command: KvCommand }
  | { readonly ok: false; readonly reason: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export function decodeKvCommand(data: Uint8Array): KvDecode {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const c = v as Partial<KvCommand>;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.client !== 'string' ||
    !Number.isSafeInteger(c.seq) ||
    (c.op !== 'put' && c.op !== 'append') ||
    typeof c.key !== 'string' ||
    typeof c.value !== 'string'
  ) {
    return { ok: false, reason: 'want {client, seq, op: put|append, key, value}' };
  }
  return { ok: true, command: c as KvCommand };
}

interface Session {
  lastSeq: number;
  lastResult: KvResult;
}

export class KvRegister implements StateMachine<KvResult> {
  private data = new Map<string, string>();
  private sessions = new Map<string, Session>();
  /** How many commands were applied (not counting duplicates), for tests. */
  appliedCommands = 0;
  /** Entries that were not a valid command (answered with 'bad-command'). */
  badCommands = 0;

  apply(entry: AppliedEntry): KvResult {
    const decoded = decodeKvCommand(entry.data);
    if (!decoded.ok) {
      this.badCommands++;
      return { ok: false, error: 'bad-command', detail: decoded.reason };
    }
    const c = decoded.command;
    const session = this.sessions.get(c.client);
    if (session !== undefined) {
      if (c.seq === session.lastSeq) {
        const r = session.lastResult;
        return r.ok ? { ...r, duplicate: true } : r;
      }
      if (c.seq < session.lastSeq) return { ok: false, error: 'stale-seq' };
    }
    let result: KvResult;
    const current = this.data.get(c.key);
    if (current === undefined && this.data.size >= MAX_KV_KEYS) {
      result = { ok: false, error: 'full' };
    } else {
      const value = c.op === 'put' ? c.value : (current ?? '') + c.value;
      this.data.set(c.key, value);
      this.appliedCommands++;
      result = { ok: true, value, duplicate: false, index: entry.index };
    }
    this.sessions.delete(c.client);
    this.sessions.set(c.client, { lastSeq: c.seq, lastResult: result });
    if (this.sessions.size > MAX_KV_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    return result;
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  get size(): number {
    return this.data.size;
  }

  entries(): [string, string][] {
    return [...this.data.entries()];
  }

  snapshot(): Uint8Array {
    return enc.encode(
      JSON.stringify({
        data: [...this.data.entries()],
        sessions: [...this.sessions.entries()],
        applied: this.appliedCommands,
      }),
    );
  }

  restore(bytes: Uint8Array): void {
    const v = JSON.parse(dec.decode(bytes)) as {
      data: [string, string][];
      sessions: [string, Session][];
      applied: number;
    };
    this.data = new Map(v.data);
    this.sessions = new Map(v.sessions);
    this.appliedCommands = v.applied;
  }
}

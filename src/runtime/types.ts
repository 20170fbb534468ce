// The Runtime: everything a node may do to the world — clocks, timers, seeded randomness,
// stream and datagram transports, durable storage, logging. Cores in src/cluster never touch
// these (they take `now` and return outputs); node shells in src/nodes use only this
// interface, so the same node code runs on runtime/real (sockets, files) and runtime/sim
// (one thread, virtual time, a seeded network and fault model).

import type { PeerIdentity } from '../protocol/identity.js';

/** A node's network identity: host and port (the sim uses synthetic hosts like "dc-a/gate-1"). */
export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

export function addressKey(a: NodeAddress): string {
  return `${a.host}:${a.port}`;
}

export interface Clock {
  /** Monotonic milliseconds (fractional allowed); never goes backwards. For timeouts and RTTs. */
  monotonicMs(): number;
  /** Wall-clock epoch milliseconds; may jump (NTP corrections, simulated skew). For display and records. */
  wallMs(): number;
}

export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Runs `fn` once after `delayMs` of monotonic time. Cancelling twice is harmless. */
  after(delayMs: number, fn: () => void): TimerHandle;
  /** Runs `fn` every `periodMs` until cancelled. */
  every(periodMs: number, fn: () => void): TimerHandle;
}

/** Seeded pseudo-randomness: the same seed gives the same sequence. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** An independent stream derived from this one and `label` (stable across runs). */
  fork(label: string): Rng;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** Why a frame could not be delivered as a message (the connection itself stays open). */
export interface FrameError {
  /** `over_budget`: the node's memory budget could not hold this frame's body (see budget.ts). */
  readonly kind: 'oversized' | 'checksum' | 'truncated' | 'over_budget';
  /** Declared body size, when known. */
  readonly sizeBytes?: number;
  readonly limitBytes?: number;
  readonly message: string;
}

/**
 * A reliable, ordered, message-oriented connection (TCP with length-prefixed, checksummed
 * frames on the real runtime; a modelled link in the sim). `send` queues one frame; the peer
 * receives it whole or the connection closes.
 */
export interface StreamConnection {
  readonly id: number;
  readonly local: NodeAddress;
  readonly remote: NodeAddress;
  /** Queues a frame; returns false if the connection is closed (the frame is dropped). */
  send(frame: Uint8Array): boolean;
  onFrame(handler: (frame: Uint8Array) => void): void;
  /** A frame arrived broken; the bytes were skipped and the connection keeps serving. */
  onFrameError(handler: (error: FrameError) => void): void;
  onClose(handler: (reason: Error | undefined) => void): void;
  close(): void;
  readonly closed: boolean;
  /** True when the link is mutually authenticated (TLS with a certificate the CA signed). */
  readonly secure?: boolean;
  /**
   * On a secure link, the identity the peer's certificate names, or null when the certificate
   * carries no Salvo identity (such a peer is refused at the hello). Absent on plain links.
   */
  readonly peerIdentity?: PeerIdentity | null;
}

export interface StreamListener {
  readonly address: NodeAddress;
  close(): Promise<void>;
}

export interface StreamTransport {
  /** Accepts connections on this node's stream address. */
  listen(onConnection: (connection: StreamConnection) => void): Promise<StreamListener>;
  /** Connects to `to`; rejects on refusal, unreachability or `timeoutMs`. */
  connect(to: NodeAddress, timeoutMs: number): Promise<StreamConnection>;
  /** True when every connection is mutually authenticated (peers must present certificates). */
  readonly secure?: boolean;
}

/** Unreliable, unordered datagrams (UDP on the real runtime) — SWIM's transport. */
export interface DatagramTransport {
  bind(onDatagram: (from: NodeAddress, data: Uint8Array) => void): Promise<NodeAddress>;
  /** Fire and forget; oversized datagrams are dropped and counted, never thrown. */
  send(to: NodeAddress, data: Uint8Array): void;
  close(): Promise<void>;
}

/**
 * An append-only file. Appends are buffered; `sync()` makes everything appended so far
 * durable (fsync). After a crash only the synced prefix is guaranteed to survive; a torn
 * (partially written) tail is possible and recovery must detect it.
 */
export interface AppendFile {
  readonly name: string;
  /** Current size including unsynced appends. */
  readonly sizeBytes: number;
  append(data: Uint8Array): void;
  sync(): Promise<void>;
  /** The whole file as it is now (synced and unsynced). */
  read(): Promise<Uint8Array>;
  /** Drops everything after `sizeBytes` (durable after the returned promise). */
  truncate(sizeBytes: number): Promise<void>;
  close(): Promise<void>;
}

export interface Storage {
  openAppend(name: string): Promise<AppendFile>;
  /** Replaces a whole small file atomically and durably (write temp, fsync, rename). */
  writeAtomic(name: string, data: Uint8Array): Promise<void>;
  /** The file's content, or null if it does not exist. */
  readFile(name: string): Promise<Uint8Array | null>;
  remove(name: string): Promise<void>;
  list(): Promise<string[]>;
}

/** Everything a node shell may use. One instance per node. */
export interface Runtime {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly rng: Rng;
  readonly stream: StreamTransport;
  readonly datagram: DatagramTransport;
  readonly storage: Storage;
  readonly log: Logger;
}

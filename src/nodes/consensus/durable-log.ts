// Owns a Raft node's durable state on the Runtime's Storage: the append-only log segment
// (checksummed records, synced before anything that depends on them is sent), the hard state
// and the snapshot (each replaced atomically), compaction into a fresh segment, and recovery
// that truncates a torn tail. Never decides what to persist (the Raft core says so).

import type { AppendFile, Logger, Storage } from '../../runtime/types.js';
import type { Entry, HardState, Snapshot } from '../../cluster/consensus/types.js';
import {
  decodeMeta,
  decodeRecords,
  decodeSnapshot,
  encodeMeta,
  encodeRecord,
  encodeSnapshot,
  replayRecords,
  type MetaState,
} from '../../cluster/consensus/wal-record.js';
import { SalvoError } from '../../errors.js';

export const META_FILE = 'raft.meta';
export const SNAPSHOT_FILE = 'raft.snap';
const SEGMENT_PREFIX = 'raft-log.';

/**
 * A commit-only change of the hard state is written at most this often (in entries): the commit
 * index may lag on disk (a restarted node relearns it from the leader), term and vote never do.
 */
export const COMMIT_PERSIST_EVERY_ENTRIES = 64;

export function segmentName(seq: number): string {
  return `${SEGMENT_PREFIX}${String(seq).padStart(8, '0')}`;
}

/** Durable state that cannot be read back (a checksummed side file is corrupt). */
export class RaftStorageCorruptError extends SalvoError {
  constructor(message: string) {
    super('E_INTERNAL', `raft storage corrupt: ${message}`);
  }
}

export interface RecoveredState {
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  /** Durable entries after the snapshot, contiguous. */
  readonly entries: Entry[];
  /** Bytes of a torn or corrupt tail that recovery truncated away (0 if none). */
  readonly truncatedBytes: number;
  readonly stopReason: string | null;
}

export class DurableRaftLog {
  private meta: MetaState;
  private persistedCommit: number;
  /** A commit-only hard state not yet written (see COMMIT_PERSIST_EVERY_ENTRIES). */
  private pendingHardState: HardState | null = null;
  /** Writes done, for tests and status lines. */
  readonly stats = { syncs: 0, metaWrites: 0, recordsAppended: 0, compactions: 0 };

  private constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
    private file: AppendFile,
    meta: MetaState,
  ) {
    this.meta = meta;
    this.persistedCommit = meta.hardState.commit;
  }

  /** Opens (or creates) the durable state and recovers it, truncating a torn tail. */
  static async open(
    storage: Storage,
    log: Logger,
  ): Promise<{ store: DurableRaftLog; recovered: RecoveredState }> {
    const metaBytes = await storage.readFile(META_FILE);
    let meta: MetaState = { hardState: { term: 0, vote: null, commit: 0 }, segment: 0 };
    let hardState: HardState | null = null;
    if (metaBytes !== null) {
      const decoded = decodeMeta(metaBytes);
      if (decoded === null) throw new RaftStorageCorruptError(`${META_FILE} fails its checksum`);
      meta = decoded;
      hardState = decoded.hardState;
    }
    const snapBytes = await storage.readFile(SNAPSHOT_FILE);
    let snapshot: Snapshot | null = null;
    if (snapBytes !== null) {
      snapshot = decodeSnapshot(snapBytes);
      if (snapshot === null)
        throw new RaftStorageCorruptError(`${SNAPSHOT_FILE} fails its checksum`);
    }
    const current = segmentName(meta.segment);
    // A crash during compaction can leave a half-written next segment: the meta file says
    // which one is live, every other segment is garbage.
    for (const name of await storage.list()) {
      if (name.startsWith(SEGMENT_PREFIX) && name !== current) await storage.remove(name);
    }
    const file = await storage.openAppend(current);
    const bytes = await file.read();
    const decoded = decodeRecords(bytes);
    if (decoded.invalidBytes > 0) {
      log.log('warn', 'raft log: truncating torn or corrupt tail', {
        segment: current,
        validBytes: decoded.validBytes,
        truncatedBytes: decoded.invalidBytes,
        reason: decoded.stopReason,
      });
      await file.truncate(decoded.validBytes);
    }
    const replayed = replayRecords(decoded.records);
    if (replayed.gapAt !== null) {
      log.log('warn', 'raft log: gap in records; keeping the contiguous prefix', {
        gapAt: replayed.gapAt,
      });
    }
    const after = snapshot?.meta.index ?? 0;
    let entries = replayed.entries.filter((e) => e.index > after);
    const first = entries[0];
    if (first !== undefined && first.index !== after + 1) {
      log.log('warn', 'raft log: entries do not continue the snapshot; dropping them', {
        snapshotIndex: after,
        firstIndex: first.index,
      });
      entries = [];
    }
    const store = new DurableRaftLog(storage, log, file, meta);
    return {
      store,
      recovered: {
        hardState,
        snapshot,
        entries,
        truncatedBytes: decoded.invalidBytes,
        stopReason: decoded.stopReason,
      },
    };
  }

  /** Installs a leader's snapshot: the snapshot file, then an empty fresh segment. */
  async installSnapshot(snapshot: Snapshot): Promise<void> {
    await this.storage.writeAtomic(SNAPSHOT_FILE, encodeSnapshot(snapshot));
    await this.rewriteSegment([], {
      ...this.meta.hardState,
      commit: Math.max(this.meta.hardState.commit, snapshot.meta.index),
    });
  }

  /** Appends entries (index i replaces any entry ≥ i on replay) and syncs. */
  async append(entries: readonly Entry[]): Promise<void> {
    if (entries.length === 0) return;
    for (const e of entries) this.file.append(encodeRecord(e));
    this.stats.recordsAppended += entries.length;
    await this.file.sync();
    this.stats.syncs++;
  }

  /**
   * Writes the hard state when term or vote changed (`mustSync`), or when the commit index
   * moved COMMIT_PERSIST_EVERY_ENTRIES past what is on disk.
   */
  async saveHardState(hs: HardState, mustSync: boolean): Promise<void> {
    if (!mustSync && hs.commit - this.persistedCommit < COMMIT_PERSIST_EVERY_ENTRIES) {
      this.pendingHardState = hs;
      return;
    }
    await this.writeMeta({ ...this.meta, hardState: hs });
  }

  /**
   * Saves a locally taken snapshot and rewrites the log as `retained` (the durable entries
   * after the snapshot) in a fresh segment, so the log on disk stays bounded.
   */
  async compact(snapshot: Snapshot, retained: readonly Entry[]): Promise<void> {
    await this.storage.writeAtomic(SNAPSHOT_FILE, encodeSnapshot(snapshot));
    await this.rewriteSegment(retained, this.pendingHardState ?? this.meta.hardState);
    this.stats.compactions++;
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  get sizeBytes(): number {
    return this.file.sizeBytes;
  }

  private async rewriteSegment(entries: readonly Entry[], hs: HardState): Promise<void> {
    const old = this.file;
    const oldName = segmentName(this.meta.segment);
    const seq = this.meta.segment + 1;
    const next = await this.storage.openAppend(segmentName(seq));
    // A leftover from an earlier crash cannot exist (recovery removed it), but be exact.
    if (next.sizeBytes > 0) await next.truncate(0);
    for (const e of entries) next.append(encodeRecord(e));
    await next.sync();
    this.stats.syncs++;
    await this.writeMeta({ hardState: hs, segment: seq });
    this.file = next;
    await old.close();
    await this.storage.remove(oldName);
    this.log.log('debug', 'raft log: new segment', { segment: seq, entries: entries.length });
  }

  private async writeMeta(meta: MetaState): Promise<void> {
    await this.storage.writeAtomic(META_FILE, encodeMeta(meta));
    this.meta = meta;
    this.persistedCommit = meta.hardState.commit;
    this.pendingHardState = null;
    this.stats.metaWrites++;
  }
}

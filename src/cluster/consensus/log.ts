// Owns the in-memory Raft log: entries after the compaction point, the commit and apply
// indices, and which suffix still has to be handed to the shell for persistence. Never
// persists anything itself and never decides what is committed (raft.ts does).

import { invariant } from './errors.js';
import type { Entry, Snapshot } from './types.js';

export class RaftLog {
  /** entries[k] has index offsetIndex + 1 + k. */
  private entries: Entry[] = [];
  /** Index and term of the last entry dropped by compaction (or covered by a snapshot); 0/0 initially. */
  private offsetIndex = 0;
  private offsetTerm = 0;
  /** Highest index known committed. */
  committed = 0;
  /** Highest index handed to the shell for applying (applied once advance() confirms). */
  applied = 0;
  /** First index not yet handed to the shell for persistence. */
  unstableFrom = 1;

  /** Starts from a snapshot point (or 0/0) and the durable entries after it. */
  static restore(
    offsetIndex: number,
    offsetTerm: number,
    entries: readonly Entry[],
    commit: number,
  ): RaftLog {
    const log = new RaftLog();
    log.offsetIndex = offsetIndex;
    log.offsetTerm = offsetTerm;
    let prevTerm = offsetTerm;
    for (const e of entries) {
      if (e.index <= offsetIndex) continue;
      invariant(
        e.index === log.lastIndex() + 1,
        () => `restored log not contiguous at ${e.index} (last ${log.lastIndex()})`,
      );
      invariant(e.term >= prevTerm, () => `restored log term decreases at ${e.index}`);
      prevTerm = e.term;
      log.entries.push(e);
    }
    log.committed = Math.min(Math.max(commit, offsetIndex), log.lastIndex());
    log.applied = offsetIndex;
    log.unstableFrom = log.lastIndex() + 1;
    return log;
  }

  firstIndex(): number {
    return this.offsetIndex + 1;
  }

  lastIndex(): number {
    return this.offsetIndex + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.offsetTerm : last.term;
  }

  /** The term of the entry at `index`, or undefined if compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.offsetIndex) return this.offsetTerm;
    if (index < this.offsetIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.offsetIndex - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.offsetIndex) return undefined;
    return this.entries[index - this.offsetIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hiExclusive), clipped to what the log holds. */
  slice(lo: number, hiExclusive: number): Entry[] {
    const from = Math.max(lo, this.firstIndex());
    const to = Math.min(hiExclusive, this.lastIndex() + 1);
    if (to <= from) return [];
    return this.entries.slice(from - this.offsetIndex - 1, to - this.offsetIndex - 1);
  }

  /** Leader append: entries must continue the log with the leader's term. */
  append(entry: Entry): void {
    invariant(entry.index === this.lastIndex() + 1, 'leader append must continue the log');
    invariant(entry.term >= this.lastTerm(), 'leader append must not lower the term');
    this.entries.push(entry);
  }

  /**
   * Follower append (§5.3). Returns the last index now known to match the leader, or null if
   * the log has no entry at prevIndex with prevTerm. Truncates a conflicting suffix (never
   * below the commit index) and reports the truncation point through `onTruncate` and each
   * entry actually appended through `onAppend`.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    entries: readonly Entry[],
    onTruncate: (fromIndex: number) => void,
    onAppend: (entry: Entry) => void,
  ): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    let k = 0;
    for (; k < entries.length; k++) {
      const e = entries[k];
      invariant(e !== undefined && e.index === prevIndex + 1 + k, 'append entries not contiguous');
      const mine = this.term(e.index);
      if (mine === undefined) break;
      if (mine !== e.term) {
        invariant(
          e.index > this.committed,
          () => `conflict at ${e.index} at or below commit ${this.committed}`,
        );
        this.truncateFrom(e.index);
        onTruncate(e.index);
        break;
      }
    }
    for (; k < entries.length; k++) {
      const e = entries[k];
      if (e === undefined) break;
      invariant(e.term >= this.lastTerm(), 'appended entry lowers the term');
      this.entries.push(e);
      onAppend(e);
    }
    return lastNew;
  }

  private truncateFrom(index: number): void {
    invariant(index > this.offsetIndex, 'truncating compacted entries');
    this.entries.length = index - this.offsetIndex - 1;
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  /**
   * etcd's findConflictByTerm: the largest index ≤ `index` whose term is ≤ `term`, with that
   * term (0 when unknown because compacted).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = Math.min(index, this.lastIndex()); i >= this.offsetIndex; i--) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
    }
    return [this.offsetIndex, 0];
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    invariant(
      index <= this.lastIndex(),
      () => `commit ${index} beyond last index ${this.lastIndex()}`,
    );
    this.committed = index;
    return true;
  }

  /** Replaces the whole log with a snapshot point (follower installing a leader's snapshot). */
  restoreSnapshot(snapshot: Snapshot): void {
    this.entries = [];
    this.offsetIndex = snapshot.meta.index;
    this.offsetTerm = snapshot.meta.term;
    this.committed = snapshot.meta.index;
    this.applied = snapshot.meta.index;
    this.unstableFrom = snapshot.meta.index + 1;
  }

  /** Drops entries ≤ `index` (which must be applied). */
  compactTo(index: number): void {
    if (index <= this.offsetIndex) return;
    invariant(index <= this.applied, () => `compacting ${index} beyond applied ${this.applied}`);
    const term = this.term(index);
    invariant(term !== undefined, 'compaction point must be in the log');
    this.entries = this.entries.slice(index - this.offsetIndex);
    this.offsetIndex = index;
    this.offsetTerm = term;
  }

  /** Entries not yet handed out for persistence; marks them handed out. */
  takeUnstable(): Entry[] {
    const out = this.slice(this.unstableFrom, this.lastIndex() + 1);
    this.unstableFrom = this.lastIndex() + 1;
    return out;
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }
}

// Owns which sequence numbers of one statistics source were merged: a contiguous prefix plus a
// bounded set above it; seqs given up on to keep the set bounded are counted, never forgotten.

/** Merged seqs above a source's high-water mark kept before a gap is declared lost. */
export const MAX_OUT_OF_ORDER_SEQS = 256;

/** Which seqs of one source were merged: all ≤ `highWater`, plus those in `above`. */
export class SeqTracker {
  highWater = 0;
  readonly above = new Set<number>();
  /** Seqs never received that were given up on to keep `above` bounded. */
  skipped = 0;

  has(seq: number): boolean {
    return seq <= this.highWater || this.above.has(seq);
  }

  add(seq: number): void {
    this.above.add(seq);
    this.advance();
    while (this.above.size > MAX_OUT_OF_ORDER_SEQS) {
      let lowest = Number.POSITIVE_INFINITY;
      for (const s of this.above) if (s < lowest) lowest = s;
      this.skipped += lowest - this.highWater - 1;
      this.highWater = lowest - 1;
      this.advance();
    }
  }

  private advance(): void {
    while (this.above.delete(this.highWater + 1)) this.highWater++;
  }
}

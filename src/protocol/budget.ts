// Owns the per-node memory budget: one byte count shared by every connection's write queue and
// partial incoming frame, so N peers cannot cost N × (per-connection limit). Pure accounting —
// never frees memory itself; the transport decides whom to disconnect when a reservation fails.

import { InternalError } from '../errors.js';

/** Default bytes one node may hold across all write queues and partial frames together. */
export const DEFAULT_NODE_MEMORY_BUDGET_BYTES = 64 * 1024 * 1024;

/** Something that can hold bytes against a shared budget. */
export interface ByteReserver {
  /** Takes `bytes` from the budget; false (nothing taken) when they do not fit. */
  tryReserve(bytes: number): boolean;
  /** Returns `bytes` taken earlier. */
  release(bytes: number): void;
}

export class ByteBudget implements ByteReserver {
  private usedBytes = 0;
  private peakBytes = 0;
  /** Reservations refused because the budget was full. */
  refusals = 0;

  constructor(readonly limitBytes: number = DEFAULT_NODE_MEMORY_BUDGET_BYTES) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0) {
      throw new InternalError(
        `memory budget must be a positive integer of bytes, got ${limitBytes}`,
      );
    }
  }

  get used(): number {
    return this.usedBytes;
  }
  get peak(): number {
    return this.peakBytes;
  }
  get free(): number {
    return this.limitBytes - this.usedBytes;
  }

  tryReserve(bytes: number): boolean {
    if (bytes < 0 || !Number.isSafeInteger(bytes))
      throw new InternalError(`bad reservation ${bytes}`);
    if (this.usedBytes + bytes > this.limitBytes) {
      this.refusals++;
      return false;
    }
    this.usedBytes += bytes;
    if (this.usedBytes > this.peakBytes) this.peakBytes = this.usedBytes;
    return true;
  }

  release(bytes: number): void {
    if (bytes < 0 || bytes > this.usedBytes) {
      throw new InternalError(`releasing ${bytes} bytes of a budget holding ${this.usedBytes}`);
    }
    this.usedBytes -= bytes;
  }
}

// Owns one suspicion of one member: when it was raised, who independently confirmed it and the
// deadline that shrinks from max to min as confirmations arrive (Lifeguard). Never arms a timer:
// the core reads `deadlineMs` and fires it.

/**
 * Suspicion timeout after `confirmations` of `wanted` independent confirmations:
 * max − (max − min) · log(C + 1) / log(K + 1), never below min; min when K < 1.
 */
export function suspicionTimeoutMs(
  confirmations: number,
  wanted: number,
  minMs: number,
  maxMs: number,
): number {
  if (wanted < 1) return minMs;
  const fraction = Math.log(confirmations + 1) / Math.log(wanted + 1);
  return Math.max(minMs, maxMs - (maxMs - minMs) * fraction);
}

export class Suspicion {
  /** Accusers seen so far (the first one included); at most wanted + 1 entries. */
  private readonly accusers = new Set<string>();
  private confirmationCount = 0;
  private deadline: number;

  constructor(
    readonly startMs: number,
    readonly firstAccuser: string,
    readonly wanted: number,
    readonly minMs: number,
    readonly maxMs: number,
  ) {
    this.accusers.add(firstAccuser);
    this.deadline = startMs + suspicionTimeoutMs(0, wanted, minMs, maxMs);
  }

  get confirmations(): number {
    return this.confirmationCount;
  }

  get deadlineMs(): number {
    return this.deadline;
  }

  /** Registers an independent confirmation; true if it was new and moved the deadline. */
  confirm(accuser: string): boolean {
    if (this.confirmationCount >= this.wanted) return false;
    if (this.accusers.has(accuser)) return false;
    this.accusers.add(accuser);
    this.confirmationCount++;
    this.deadline =
      this.startMs +
      suspicionTimeoutMs(this.confirmationCount, this.wanted, this.minMs, this.maxMs);
    return true;
  }
}

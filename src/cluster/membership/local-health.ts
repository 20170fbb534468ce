// Owns Lifeguard's local health multiplier (LHM): a saturating score that rises when this node
// looks like the slow one and stretches its own probe interval and timeouts. Never reads a clock.

import { InternalError } from '../../errors.js';

/** A score change with the reason, so tests and logs can tell why the node backed off. */
export type LocalHealthReason =
  'probe-succeeded' | 'probe-failed' | 'missed-nacks' | 'refuted-self';

export class LocalHealth {
  private score = 0;

  /** `maxMultiplier` bounds the stretch: the score lives in [0, maxMultiplier − 1]. */
  constructor(private readonly maxMultiplier: number) {
    if (!Number.isInteger(maxMultiplier) || maxMultiplier < 1)
      throw new InternalError('maxMultiplier must be an integer ≥ 1');
  }

  get value(): number {
    return this.score;
  }

  /** Factor applied to the probe interval and probe timeout: 1 + score. */
  get multiplier(): number {
    return this.score + 1;
  }

  apply(delta: number): void {
    this.score = Math.min(this.maxMultiplier - 1, Math.max(0, this.score + Math.trunc(delta)));
  }

  scale(durationMs: number): number {
    return durationMs * this.multiplier;
  }
}

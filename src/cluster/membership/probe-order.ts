// Owns the randomized round-robin order in which this node probes the others: shuffled once per
// cycle, new members inserted at a random not-yet-visited position, so every member present for
// a whole cycle is probed once in it. Never decides who is probe-able (the core's filter does).

import type { Rng } from '../../runtime/types.js';
import type { MemberId } from './types.js';

export class ProbeOrder {
  private order: MemberId[] = [];
  private readonly present = new Set<MemberId>();
  private index = 0;

  constructor(private readonly rng: Pick<Rng, 'int'>) {}

  get length(): number {
    return this.order.length;
  }

  has(id: MemberId): boolean {
    return this.present.has(id);
  }

  /** A new member: probed within the current cycle, at a random remaining position. */
  insert(id: MemberId): void {
    if (this.present.has(id)) return;
    this.present.add(id);
    const at = this.index + this.rng.int(this.order.length - this.index + 1);
    this.order.splice(at, 0, id);
  }

  /** A reaped member leaves the order entirely. */
  remove(id: MemberId): void {
    if (!this.present.delete(id)) return;
    const at = this.order.indexOf(id);
    if (at < 0) return;
    this.order.splice(at, 1);
    if (at < this.index) this.index--;
  }

  /**
   * Next member to probe for which `probeable` holds; when the cycle is exhausted the order is
   * rebuilt from `all()` and reshuffled. Null when nobody is probe-able.
   */
  next(probeable: (id: MemberId) => boolean, all: () => MemberId[]): MemberId | null {
    for (let pass = 0; pass < 2; pass++) {
      while (this.index < this.order.length) {
        const id = this.order[this.index++]!;
        if (probeable(id)) return id;
      }
      this.order = all();
      this.present.clear();
      for (const id of this.order) this.present.add(id);
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        const t = this.order[i]!;
        this.order[i] = this.order[j]!;
        this.order[j] = t;
      }
      this.index = 0;
    }
    return null;
  }
}

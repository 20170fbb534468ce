// Owns the generator's event-loop delay of one run by statistics source. Sources are numbered
// for the results document only at the end, from the set of sources in a fixed order (a
// thread keeps its own index), so the breakdown does not depend on the order windows came in.
import { Histogram } from '../stats/histogram.js';
import { LoopDelayAggregate } from '../stats/loop-delay.js';
import type { GeneratorResult, SparseHistogram } from '../stats/types.js';

/** Sources kept; samples of further ones are counted in `unrecorded`, not kept. */
export const MAX_LOOP_DELAY_SOURCES = 4096;

const natural = new Intl.Collator('en', { numeric: true });

export class LoopDelayBySource {
  private readonly bySource = new Map<string, Histogram>();
  /** Windows whose samples were not kept because too many sources reported. */
  unrecorded = 0;

  /** Adds a window's samples from `source`; the samples must be validated before. */
  add(source: string, samples: SparseHistogram): void {
    let h = this.bySource.get(source);
    if (!h) {
      if (this.bySource.size >= MAX_LOOP_DELAY_SOURCES) {
        this.unrecorded++;
        return;
      }
      h = new Histogram();
      this.bySource.set(source, h);
    }
    h.mergeSparse(samples);
  }

  /**
   * Each source's number: in natural order of the sources, the number a source ends with (a
   * thread's index, `w3` → 3) when no source before took it, else the lowest free number.
   */
  numbers(): Map<string, number> {
    const used = new Set<number>();
    const numbers = new Map<string, number>();
    for (const source of [...this.bySource.keys()].sort(natural.compare)) {
      const digits = /(\d{1,6})$/.exec(source)?.[1];
      let n = digits === undefined ? -1 : Number(digits);
      if (n < 0 || used.has(n)) {
        n = 0;
        while (used.has(n)) n++;
      }
      used.add(n);
      numbers.set(source, n);
    }
    return numbers;
  }

  toResult(): GeneratorResult {
    const aggregate = new LoopDelayAggregate();
    for (const [source, n] of this.numbers()) {
      const h = this.bySource.get(source);
      if (h) aggregate.add(n, h.toSparse());
    }
    return aggregate.toResult();
  }
}

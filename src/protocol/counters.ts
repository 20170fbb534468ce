// Owns the protocol's error and traffic counters: a bounded set of named integers that
// connections and servers bump and tests/metrics read. Never logs, never resets on its own.

/** Upper bound on distinct counter names (names are built from bounded code/kind sets). */
export const MAX_COUNTER_NAMES = 512;

export class ProtocolCounters {
  private readonly values = new Map<string, number>();

  inc(name: string, by = 1): void {
    const cur = this.values.get(name);
    if (cur === undefined && this.values.size >= MAX_COUNTER_NAMES) {
      this.values.set('counters_overflow', (this.values.get('counters_overflow') ?? 0) + by);
      return;
    }
    this.values.set(name, (cur ?? 0) + by);
  }

  /** Bumps `errors` (the total) and `name`. Every error a connection sees goes through here. */
  error(name: string): void {
    this.inc('errors');
    this.inc(name);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Sorted copy of every counter. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of [...this.values.keys()].sort()) out[key] = this.values.get(key)!;
    return out;
  }
}

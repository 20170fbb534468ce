// Test support for chaos simulations: picking from a seeded generator, restarting crashed nodes
// now and then, and ending the faults (links healed and made clean, every node back up).

import type { Simulation } from '../../src/runtime/sim/index.js';

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export const between = (r: () => number, lo: number, hi: number): number =>
  Math.round(lo + r() * (hi - lo));

/** Restarts each node of `down` with probability ½ (drawn in order), removing it from `down`. */
export function restartSome(sim: Simulation, r: () => number, down: Set<string>): void {
  for (const id of [...down]) {
    if (r() < 0.5) {
      sim.restart(id);
      down.delete(id);
    }
  }
}

/** Ends the faults: cuts healed, links fast and clean, every node of `down` restarted. */
export function endFaults(sim: Simulation, down: ReadonlySet<string>): void {
  sim.network.heal();
  sim.network.setDefaultLink({ latencyMs: { min: 1, max: 3 }, duplicate: 0, reorder: 0 });
  for (const id of down) sim.restart(id);
}

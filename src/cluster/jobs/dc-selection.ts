// Owns which datacenters a job runs in: the ones the client named (each must exist and have
// workers), or the best by capacity (most free cores; when none has any, most healthy workers),
// and how a job's load is weighted between them (by total cores). Pure: capacities in, a choice
// or a rejection out.

import { reject, type Rejection } from './errors.js';

/** What a DC's managers said about it (`dc.capacity-info`); absent: no manager answered. */
export interface DcCapacity {
  readonly workers: number;
  readonly healthyWorkers: number;
  readonly totalCores: number;
  readonly freeCores: number;
}

export interface DcRequest {
  /** Datacenters by name, in the client's order; null: pick by capacity. */
  readonly named: readonly string[] | null;
  /** How many to pick when none are named. */
  readonly count: number;
}

export type DcChoice =
  | { readonly ok: true; readonly dcs: readonly string[] }
  | Rejection<'E_UNKNOWN_DC' | 'E_NO_WORKERS'>;

/**
 * `known`: every DC the gates are configured with. `capacity`: what each answered (a DC missing
 * from it could not be asked). Named DCs keep the client's order; picked ones are best first.
 */
export function chooseDcs(
  request: DcRequest,
  known: readonly string[],
  capacity: ReadonlyMap<string, DcCapacity>,
): DcChoice {
  if (request.named !== null) {
    const seen = new Set<string>();
    for (const dc of request.named) {
      if (!known.includes(dc)) {
        return reject(
          'E_UNKNOWN_DC',
          `datacenter '${dc}' is not in this cluster (known: ${known.join(', ')})`,
        );
      }
      if (seen.has(dc)) return reject('E_UNKNOWN_DC', `datacenter '${dc}' is named twice`);
      seen.add(dc);
    }
    for (const dc of request.named) {
      const c = capacity.get(dc);
      if (c === undefined)
        return reject('E_NO_WORKERS', `no manager of datacenter '${dc}' answered`);
      if (c.workers === 0) return reject('E_NO_WORKERS', `datacenter '${dc}' has no workers`);
    }
    if (request.named.length === 0) return reject('E_UNKNOWN_DC', 'name at least one datacenter');
    return { ok: true, dcs: [...request.named] };
  }
  const eligible = known
    .map((dc) => ({ dc, c: capacity.get(dc) }))
    .filter((x): x is { dc: string; c: DcCapacity } => x.c !== undefined && x.c.workers > 0)
    .sort(
      (a, b) =>
        Number(b.c.freeCores > 0) - Number(a.c.freeCores > 0) ||
        b.c.freeCores - a.c.freeCores ||
        b.c.healthyWorkers - a.c.healthyWorkers ||
        (a.dc < b.dc ? -1 : a.dc > b.dc ? 1 : 0),
    );
  if (eligible.length === 0) {
    return reject('E_NO_WORKERS', `no datacenter has workers (asked: ${known.join(', ')})`);
  }
  return { ok: true, dcs: eligible.slice(0, Math.max(1, request.count)).map((x) => x.dc) };
}

/** Each DC's weight in the job's load: its total cores (at least 1, so every target gets work). */
export function dcWeights(
  dcs: readonly string[],
  capacity: ReadonlyMap<string, DcCapacity>,
): number[] {
  return dcs.map((dc) => Math.max(1, capacity.get(dc)?.totalCores ?? 1));
}

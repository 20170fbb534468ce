// Owns the gate ledger as a Raft state machine: decodes each committed entry, applies it to the
// JobLedger (which validates it), returns the ledger's answer to the proposer, and tells the
// gate's listeners what changed. Snapshots are the ledger's own. Deterministic; never does I/O.

import { JobLedger } from '../../cluster/jobs/ledger.js';
import { encodeLedgerSnapshot, parseLedgerBytes } from '../../cluster/jobs/ledger-codec.js';
import type { LedgerConfig, LedgerEvent, LedgerResult } from '../../cluster/jobs/ledger-types.js';
import { JobsInvariantError } from '../../cluster/jobs/errors.js';
import type { AppliedEntry, StateMachine } from '../consensus/state-machine.js';

export class LedgerMachine implements StateMachine<LedgerResult> {
  private ledgerValue: JobLedger;
  private readonly listeners: ((events: readonly LedgerEvent[]) => void)[] = [];
  private readonly restoreListeners: (() => void)[] = [];
  /** Entries that were not a valid command (answered, never applied). */
  badEntries = 0;

  constructor(private readonly config: Partial<LedgerConfig> = {}) {
    this.ledgerValue = new JobLedger(config);
  }

  get ledger(): JobLedger {
    return this.ledgerValue;
  }

  /** Called with the events of every applied command, in log order. */
  onEvents(listener: (events: readonly LedgerEvent[]) => void): void {
    this.listeners.push(listener);
  }

  /** Called after the state was replaced by a snapshot (events in between are not known). */
  onRestore(listener: () => void): void {
    this.restoreListeners.push(listener);
  }

  apply(entry: AppliedEntry): LedgerResult {
    const parsed = parseLedgerBytes(entry.data, 'E_INVALID_COMMAND');
    const result = this.ledgerValue.apply(parsed.ok ? parsed.value : null);
    if (!parsed.ok || (!result.ok && result.code === 'E_INVALID_COMMAND')) this.badEntries++;
    if (result.events.length > 0) for (const l of this.listeners) l(result.events);
    return result;
  }

  snapshot(): Uint8Array {
    return encodeLedgerSnapshot(this.ledgerValue.snapshot());
  }

  restore(data: Uint8Array): void {
    const parsed = parseLedgerBytes(data, 'E_INVALID_SNAPSHOT');
    if (!parsed.ok) throw new JobsInvariantError(parsed.message);
    const restored = JobLedger.restore(parsed.value, this.config);
    if (!(restored instanceof JobLedger)) throw new JobsInvariantError(restored.message);
    this.ledgerValue = restored;
    for (const l of this.restoreListeners) l();
  }
}

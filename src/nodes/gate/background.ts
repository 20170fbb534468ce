// Owns how a gate starts work it does not wait for (a ledger step, a dispatch, a cancel): the
// promise is watched, and a rejection, which the code above never expects, is logged with what
// the work was instead of becoming an unhandled rejection.

import type { Logger } from '../../runtime/types.js';

export function background(log: Logger, what: string, work: Promise<unknown>): void {
  work.then(undefined, (error: unknown) =>
    log.log('error', `gate background work failed: ${what}`, {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
  );
}

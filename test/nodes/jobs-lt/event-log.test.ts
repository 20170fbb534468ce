// Unit tests of WorkerEventLog: bounded ring (oldest dropped and counted), trace events kept but
// not forwarded, other levels forwarded with their fields, child fields, capacity checked.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger, LogLevel } from '../../../src/runtime/types.js';
import { WorkerEventLog } from '../../../src/nodes/worker/event-log.js';

function sink(): { logger: Logger; lines: [LogLevel, string, Record<string, unknown>][] } {
  const lines: [LogLevel, string, Record<string, unknown>][] = [];
  const logger: Logger = {
    log: (level, message, fields) => void lines.push([level, message, fields ?? {}]),
    child: () => logger,
  };
  return { logger, lines };
}

test('the ring keeps the newest events in order and counts what it dropped', () => {
  const s = sink();
  let now = 0;
  const log = new WorkerEventLog(s.logger, () => now++, 3, { worker: 'w1' });
  for (let i = 1; i <= 5; i++) log.trace('tick', { i });
  assert.equal(log.size, 3);
  assert.deepEqual(log.counters, { recorded: 5, dropped: 2 });
  assert.deepEqual(
    log.recent().map((e) => [e.seq, e.fields.i, e.fields.worker, e.atMs]),
    [
      [3, 3, 'w1', 2],
      [4, 4, 'w1', 3],
      [5, 5, 'w1', 4],
    ],
  );
  assert.deepEqual(
    log.recent(2).map((e) => e.seq),
    [4, 5],
  );
  assert.equal(s.lines.length, 0, 'trace events are not forwarded');
});

test('other levels are forwarded; a child adds its fields', () => {
  const s = sink();
  const log = new WorkerEventLog(s.logger, () => 0, 10);
  log.child({ part: 'p1' }).log('warn', 'part failed', { error: 'boom' });
  assert.deepEqual(s.lines, [['warn', 'part failed', { part: 'p1', error: 'boom' }]]);
  assert.deepEqual(log.recent()[0]!.fields, { part: 'p1', error: 'boom' });
  assert.equal(log.recent()[0]!.level, 'warn');
});

test('a capacity out of range is refused', () => {
  const s = sink();
  assert.throws(() => new WorkerEventLog(s.logger, () => 0, 0), /event log capacity must be/);
  assert.throws(() => new WorkerEventLog(s.logger, () => 0, 1.5), /event log capacity must be/);
});

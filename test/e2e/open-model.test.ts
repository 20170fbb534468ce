// Coordinated omission: in the open model a stalled server shows up in the percentiles,
// because iterations keep starting on schedule and latency counts from the scheduled start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readResults, runFixture } from '../support/cli.js';

const STALL_FROM_MS = 1000;
const STALL_UNTIL_MS = 2000;

/** Answers at once, except that every request arriving 1–2 s after the first waits until 2 s. */
function stallingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  let firstAt: number | undefined;
  const held: ServerResponse[] = [];
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    const now = performance.now();
    firstAt ??= now;
    const since = now - firstAt;
    if (since >= STALL_FROM_MS && since < STALL_UNTIL_MS) {
      if (held.length === 0) {
        setTimeout(() => {
          for (const r of held.splice(0)) r.end('late');
        }, STALL_UNTIL_MS - since);
      }
      held.push(res);
      return;
    }
    res.end('ok');
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

test('a /delay-style stall of the server shows in the open-model p99 (no coordinated omission)', async () => {
  const server = await stallingServer();
  try {
    const { cli: r, out } = await runFixture('stall.ts', { target: server.url, workers: 1 });
    assert.equal(r.code, 0, r.stderr);
    const w = readResults(out).workflows[0];
    const step = w?.steps[0];
    assert.ok(w && step);
    assert.ok(step.count >= 280, `count ${step.count}`);
    assert.equal(w.iterations.dropped, 0, 'the pool was big enough: nothing was dropped');
    // About a third of the arrivals fall into the 1 s stall and wait up to 1 s each.
    assert.ok(step.latencyMs.p99 >= 800, `p99 ${step.latencyMs.p99}ms should show the 1s stall`);
    assert.ok(step.latencyMs.p90 >= 300, `p90 ${step.latencyMs.p90}ms`);
    assert.ok(
      step.latencyMs.p50 < 300,
      `p50 ${step.latencyMs.p50}ms: most requests were not stalled`,
    );
  } finally {
    await server.close();
  }
});

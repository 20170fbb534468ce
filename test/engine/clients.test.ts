// The client registry as steps see it: `ctx.http2` is created lazily per VU, its responses are
// judged by expectStatus like HTTP/1.1's, its failures are counted by kind, and finalize closes
// every client a VU opened.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { sharedIterations } from '../../src/api/executors.js';
import { workflow, type AnyWorkflow } from '../../src/api/workflow.js';
import { WorkflowJob } from '../../src/engine/job.js';
import { buildStepGraph } from '../../src/engine/plan.js';
import {
  openClients,
  closeClients,
  openedClients,
  CLIENT_KINDS,
} from '../../src/clients/registry.js';
import type { StatsWindow } from '../../src/stats/types.js';

let server: http2.Http2Server;
let baseUrl = '';
let sessions = 0;
let openSessions = 0;
let serverStreamErrors = 0;

before(async () => {
  server = http2.createServer();
  server.on('session', (s) => {
    sessions++;
    openSessions++;
    s.on('close', () => openSessions--);
  });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    // Closing a server stream with an error code emits that error on it: counted, not thrown.
    stream.on('error', () => serverStreamErrors++);
    if (path === '/reset') return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    stream.respond({ ':status': path === '/missing' ? 404 : 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

function run(w: AnyWorkflow): Promise<StatsWindow[]> {
  const windows: StatsWindow[] = [];
  const def = w.definition;
  const job = new WorkflowJob(
    def,
    buildStepGraph(def),
    {
      share: { config: def.executor, phase: 0 },
      thread: 0,
      threads: 1,
      data: undefined,
      context: {},
      baseUrl,
      windowMs: 50,
    },
    (window) => windows.push(window),
  );
  return job.run().then(() => {
    job.finalize();
    return windows;
  });
}

function total(
  windows: StatsWindow[],
  step: string,
): { ok: number; failed: number; errors: Record<string, number> } {
  const out = { ok: 0, failed: 0, errors: {} as Record<string, number> };
  for (const w of windows) {
    const s = w.steps[step];
    if (!s) continue;
    out.ok += s.ok;
    out.failed += s.failed;
    for (const [k, n] of Object.entries(s.errors)) out.errors[k] = (out.errors[k] ?? 0) + n;
  }
  return out;
}

describe('protocol clients in steps', () => {
  test('ctx.http2 statuses go through expectStatus, failures count by kind, finalize closes sessions', async () => {
    const before = sessions;
    const w = workflow('h2', { executor: sharedIterations({ iterations: 6, vus: 2 }) })
      .step('ok', ({ http2 }) => http2.get('/'))
      .step('missing', ({ http2 }) => http2.get('/missing'))
      .step('reset', ({ http2 }) => http2.get('/reset'));
    const windows = await run(w);
    assert.deepEqual(total(windows, 'ok'), { ok: 6, failed: 0, errors: {} });
    assert.deepEqual(total(windows, 'missing'), { ok: 0, failed: 6, errors: { status_404: 6 } });
    assert.deepEqual(total(windows, 'reset'), {
      ok: 0,
      failed: 6,
      errors: { rst_refused_stream: 6 },
    });
    assert.equal(serverStreamErrors, 18, 'each reset request was sent 3 times (2 retries)');
    assert.equal(sessions - before, 2, 'one session per VU, shared by its steps');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(openSessions, 0, 'finalize closed every session');
  });

  test('the http2 option: the VUs of a thread share its connections; finalize closes them', async () => {
    const before = sessions;
    const w = workflow('h2-shared', {
      executor: sharedIterations({ iterations: 40, vus: 8 }),
      http2: { connections: 2, maxStreams: 4 },
    }).step('ok', ({ http2 }) => http2.get('/'));
    const windows = await run(w);
    assert.deepEqual(total(windows, 'ok'), { ok: 40, failed: 0, errors: {} });
    assert.equal(sessions - before, 2, 'two sessions for eight VUs');
    for (let i = 0; i < 100 && openSessions > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(openSessions, 0, 'finalize closed the shared sessions');
    assert.throws(
      () => workflow('bad', { http2: { connections: 0 } }),
      /http2\.connections must be an integer ≥ 1/,
    );
    assert.throws(
      () => workflow('bad', { http2: { connections: 1, streams: 2 } as never }),
      /unknown http2 option 'streams' \(allowed: connections, maxStreams\)/,
    );
  });

  test('named and tagged requests of ctx.http and ctx.http2 are recorded as their own groups', async () => {
    const w = workflow('named', { executor: sharedIterations({ iterations: 4, vus: 2 }) }).step(
      'both',
      async ({ http2 }) => {
        await http2.get('/', { name: 'GET /' });
        return http2.get('/missing', { name: 'GET /:page', tags: { kind: 'missing' } });
      },
    );
    const windows = await run(w);
    assert.deepEqual(total(windows, 'http{name:GET /}'), { ok: 4, failed: 0, errors: {} });
    assert.deepEqual(total(windows, 'http{name:GET /:page,kind:missing}'), {
      ok: 0,
      failed: 4,
      errors: { status_404: 4 },
    });
    assert.deepEqual(total(windows, 'both'), { ok: 0, failed: 4, errors: { status_404: 4 } });
  });

  test('a workflow that never reads a client creates none', () => {
    const set = openClients({ baseUrl, headers: {}, timeoutMs: 1000, vuId: 1 });
    closeClients(set);
    assert.ok(CLIENT_KINDS.some((k) => k.name === 'http2'));
    assert.deepEqual(openedClients(set), []);
    const client = set.http2;
    assert.equal(set.http2, client, 'the same client on every read');
    assert.deepEqual(openedClients(set), ['http2']);
    closeClients(set);
  });
});

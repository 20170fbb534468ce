// `salvo submit --timeout` as a user types it (the real CLI process): a bad value is refused
// before anything is sent, naming the option and the accepted forms; a good one, and the
// default from the plan when it is absent, reach a gate (on a real loopback socket) as
// `timeoutMs` in `job.submit`; `--dashboard` without `--watch` is refused the same way.

import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, test } from 'node:test';
import { CLIENT_MESSAGES } from '../../src/nodes/jobs/client-wire.js';
import {
  MessageRegistry,
  ProtocolServer,
  type AnyMessage,
  type LocalIdentity,
} from '../../src/protocol/index.js';
import { createRealRuntime, type RealRuntime } from '../../src/runtime/real/index.js';
import { EXIT } from '../../src/errors.js';
import { fixture, runCli, tempDir } from '../support/cli.js';

let runtime: RealRuntime;
let server: ProtocolServer;
let address = '';
const submits: AnyMessage[] = [];
const cwd = tempDir('salvo-submit-timeout-');

before(async () => {
  runtime = createRealRuntime({
    nodeId: 'gate-t',
    streamAddress: { host: '127.0.0.1', port: 0 },
    dataDir: tmpdir(),
    logLevel: 'error',
  });
  const identity: LocalIdentity = {
    nodeId: 'gate-t',
    role: 'gate',
    clusterId: 'salvo',
    datacenter: 'dc1',
    environment: 'default',
    capabilities: ['jobs'],
  };
  server = new ProtocolServer({
    stream: runtime.stream,
    timers: runtime.timers,
    registry: new MessageRegistry().register(...CLIENT_MESSAGES),
    identity,
  });
  server.handle('job.submit', (m) => {
    submits.push(m);
    return {
      t: 'job.accepted',
      job: `job-${submits.length}`,
      ownerGate: 'gate-t',
      ownerAddress: { host: '127.0.0.1', port: 1 },
      fence: 1,
      submittedAtMs: 0,
      targetDcs: ['dc1'],
      duplicate: false,
    };
  });
  const listener = await server.start();
  address = `${listener.address.host}:${listener.address.port}`;
});

after(async () => {
  await server.close();
  await runtime.close();
});

const submitArgs = (...more: string[]): string[] => [
  'submit',
  fixture('constant.ts'),
  '--gate',
  address,
  '--insecure',
  '--no-check',
  ...more,
];

test('--timeout with a bad value is refused naming the option and the forms; nothing is sent', async () => {
  for (const [value, why] of [
    ['soon', /'soon' is not understood/],
    ['90', /'90' has no unit/],
    ['25h', /'25h' is out of range/],
    ['500ms', /'500ms' is out of range/],
  ] as const) {
    const r = await runCli(submitArgs('--timeout', value), { cwd });
    assert.equal(r.code, EXIT.badInput, `${value}: ${r.stderr}`);
    assert.match(r.stderr, /--timeout <duration>/, value);
    assert.match(r.stderr, why, value);
    assert.match(r.stderr, /e\.g\. 500ms, 30s, 1m30s, 2h/, value);
    assert.match(r.stderr, /from 1s to 24h/, value);
  }
  assert.equal(submits.length, 0);
});

test('--timeout 90s reaches the gate as timeoutMs 90000; without it the plan gives the default', async () => {
  const given = await runCli(submitArgs('--timeout', '90s'), { cwd });
  assert.equal(given.code, 0, given.stderr);
  assert.equal(submits.at(-1)?.timeoutMs, 90_000);
  assert.match(given.stdout, /^job job-\d+ accepted by gate-t for dc1; times out after 1m30s$/m);
  // constant.ts: 30 s of load + the default 30 s graceful stop = 60 s planned; + 60 s slack.
  const absent = await runCli(submitArgs(), { cwd });
  assert.equal(absent.code, 0, absent.stderr);
  assert.equal(submits.at(-1)?.timeoutMs, 120_000);
  assert.match(absent.stdout, /times out after 2m$/m);
});

test('--dashboard without --watch is refused naming both; nothing is sent', async () => {
  const before = submits.length;
  const r = await runCli(submitArgs('--dashboard'), { cwd });
  assert.equal(r.code, EXIT.badInput, r.stderr);
  assert.match(r.stderr, /--dashboard needs --watch/);
  assert.equal(submits.length, before);
});

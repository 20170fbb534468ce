// The client side of the cluster commands against gates on real loopback sockets (insecure):
// settings from flags and SALVO_* variables, refusals turned into exit codes, rate limits obeyed
// with the gate's retry-after, a request for a job another gate owns followed to that owner.

import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, test } from 'node:test';
import { ClusterRequestError, EXIT, OptionError, exitCodeFor } from '../../src/errors.js';
import { clientError, CLIENT_MESSAGES } from '../../src/nodes/jobs/client-wire.js';
import { MessageRegistry, ProtocolServer, type LocalIdentity } from '../../src/protocol/index.js';
import { createRealRuntime, type RealRuntime } from '../../src/runtime/real/index.js';
import { connectionOptions, JobClient } from '../../src/cli/job-client.js';
import { describeJob, parseDcs } from '../../src/cli/job-commands.js';

const view = (job: string, status = 'running'): Record<string, unknown> => ({
  job,
  client: 'cli',
  status,
  ownerGate: 'gate-1',
  fence: 1,
  submittedAtMs: 0,
  endedAtMs: null,
  cancelReason: null,
  targetDcs: ['dc1'],
  dcs: { dc1: 'accepted' },
});

interface FakeGate {
  readonly address: string;
  readonly server: ProtocolServer;
  readonly runtime: RealRuntime;
  calls: number;
}

const gates: FakeGate[] = [];
after(async () => {
  for (const g of gates) {
    await g.server.close();
    await g.runtime.close();
  }
});

async function fakeGate(id: string): Promise<FakeGate> {
  const runtime = createRealRuntime({
    nodeId: id,
    streamAddress: { host: '127.0.0.1', port: 0 },
    dataDir: tmpdir(),
    logLevel: 'error',
  });
  const identity: LocalIdentity = {
    nodeId: id,
    role: 'gate',
    clusterId: 'salvo',
    datacenter: 'dc1',
    environment: 'default',
    capabilities: ['jobs'],
  };
  const server = new ProtocolServer({
    stream: runtime.stream,
    timers: runtime.timers,
    registry: new MessageRegistry().register(...CLIENT_MESSAGES),
    identity,
  });
  const listener = await server.start();
  const gate: FakeGate = {
    address: `${listener.address.host}:${listener.address.port}`,
    server,
    runtime,
    calls: 0,
  };
  gates.push(gate);
  return gate;
}

const noSleep = (): Promise<void> => Promise.resolve();

test('connection settings: a flag wins over its SALVO_ variable; no gate is a clear option error', () => {
  const env = { SALVO_GATE: 'g:1', SALVO_INSECURE: '1', SALVO_TOKEN: 't' };
  assert.deepEqual(connectionOptions({}, env), { gate: 'g:1', insecure: true, token: 't' });
  assert.equal(connectionOptions({ gate: 'h:2' }, env).gate, 'h:2');
  assert.throws(
    () => connectionOptions({}, {}),
    (e: unknown) => {
      assert.ok(e instanceof OptionError);
      assert.match(e.message, /--gate HOST:PORT/);
      return true;
    },
  );
});

test('--dcs is checked: names are deduplicated, an empty list or a bad name is refused', () => {
  assert.deepEqual(parseDcs('dc1, dc2,dc1'), ['dc1', 'dc2']);
  assert.equal(parseDcs(undefined), undefined);
  assert.throws(() => parseDcs(' , '), /at least one datacenter/);
  assert.throws(() => parseDcs('dc1,dc 2'), /"dc 2" is not a datacenter name/);
});

test('a job line names its status, owner and each datacenter', () => {
  const line = describeJob(view('job-7') as never);
  assert.match(line, /^job-7 {2}running {2}owner gate-1 /);
  assert.match(line, /dc1:accepted$/);
});

test('a rate-limited request is retried after the retry-after the gate names, then answered', async () => {
  const gate = await fakeGate('gate-rl');
  const waits: number[] = [];
  gate.server.handle('job.status', (m) => {
    gate.calls++;
    if (gate.calls <= 2) return clientError('E_RATE_LIMITED', 'slow down', { retryAfterMs: 250 });
    return { t: 'job.view', view: view((m as unknown as { job: string }).job) };
  });
  const client = await JobClient.open({ gate: gate.address, insecure: true }, (ms) => {
    waits.push(ms);
    return Promise.resolve();
  });
  try {
    const reply = await client.request({ t: 'job.status', job: 'job-1' }, 'job.view');
    assert.equal((reply as unknown as { view: { job: string } }).view.job, 'job-1');
    assert.deepEqual(waits, [250, 250]);
    assert.equal(gate.calls, 3);
  } finally {
    await client.close();
  }
});

test('a refusal becomes its exit code: unknown job 11, rate limit past the retries 12', async () => {
  const gate = await fakeGate('gate-err');
  gate.server.handle('job.status', () => clientError('E_JOB_UNKNOWN', 'no job job-9'));
  gate.server.handle('job.cancel', () => clientError('E_RATE_LIMITED', 'no', { retryAfterMs: 1 }));
  const client = await JobClient.open({ gate: gate.address, insecure: true }, noSleep);
  try {
    await assert.rejects(client.request({ t: 'job.status', job: 'job-9' }, 'job.view'), (e) => {
      assert.ok(e instanceof ClusterRequestError);
      assert.equal(exitCodeFor(e), EXIT.unknownJob);
      assert.match(e.message, /no job job-9/);
      return true;
    });
    await assert.rejects(
      client.request({ t: 'job.cancel', job: 'job-9' }, 'job.cancel-ack'),
      (e) => {
        assert.equal(exitCodeFor(e), EXIT.rateLimited);
        return true;
      },
    );
  } finally {
    await client.close();
  }
});

test('a gate that does not own the job names its owner; the client asks the owner', async () => {
  const owner = await fakeGate('gate-owner');
  const other = await fakeGate('gate-other');
  const [host, port] = owner.address.split(':');
  other.server.handle('job.status', () =>
    clientError('E_NOT_OWNER', 'job-3 is owned by gate-owner', {
      owner: { nodeId: 'gate-owner', address: { host, port: Number(port) } },
    }),
  );
  owner.server.handle('job.status', () => ({ t: 'job.view', view: view('job-3', 'completed') }));
  const client = await JobClient.open({ gate: other.address, insecure: true }, noSleep);
  try {
    const reply = await client.request({ t: 'job.status', job: 'job-3' }, 'job.view');
    assert.equal((reply as unknown as { view: { status: string } }).view.status, 'completed');
    assert.equal(client.gateAddress, owner.address);
  } finally {
    await client.close();
  }
});

test('no gate answering is exit 5, naming each address tried', async () => {
  await assert.rejects(JobClient.open({ gate: '127.0.0.1:1,127.0.0.1:2', insecure: true }), (e) => {
    assert.equal(exitCodeFor(e), EXIT.clusterUnreachable);
    assert.match((e as Error).message, /127\.0\.0\.1:1: .*127\.0\.0\.1:2: /);
    return true;
  });
});

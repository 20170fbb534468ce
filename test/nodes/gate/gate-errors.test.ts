// Sim tests of the gate's refusals: each bad request gets its own structured error (with the
// retry-after or the owner's address where the contract says so), and the gate keeps serving.

import assert from 'node:assert/strict';
import { simTest } from '../../support/sim.js';
import type { RpcReply } from '../../../src/protocol/index.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

function code(r: RpcReply): string {
  return r.ok ? `ok:${r.message.t}` : r.error.code;
}

simTest(
  'LT-32.2.3 gate refusals: bundle, DC, workers, key conflict (same key, another payload), unknown job, version, not owner — then still serving',
  { seeds: [1, 2] },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'no-workers' },
      ],
      gate: { maxBundleBytes: 200 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    assert.equal(
      code(await client.ask('g1', submission({ source: 'x'.repeat(201) }))),
      'E_BUNDLE_TOO_LARGE',
    );
    assert.equal(code(await client.ask('g1', submission({ dcs: ['z'] }))), 'E_UNKNOWN_DC');
    assert.equal(code(await client.ask('g2', submission({ dcs: ['b'] }))), 'E_NO_WORKERS');
    const bad = submission();
    assert.equal(
      code(await client.ask('g1', { ...bad, plan: { ...(bad.plan as object), version: 2 } })),
      'E_VERSION',
    );
    assert.equal(
      code(await client.ask('g1', { ...bad, plan: { version: 1, workflows: 'no' } })),
      'E_INVALID_SUBMISSION',
    );
    const first = await client.ask('g1', submission({ key: 'k1', dcs: ['a'] }));
    assert.equal(code(first), 'ok:job.accepted');
    const job = first.ok ? (first.message.job as string) : '';
    const conflict = await client.ask('g3', submission({ key: 'k1', dcs: ['a'], workflows: 2 }));
    assert.equal(code(conflict), 'E_IDEMPOTENCY_CONFLICT');
    assert.equal(
      code(await client.ask('g2', { t: 'job.status', job: 'job-0000000000000000' })),
      'E_JOB_UNKNOWN',
    );
    assert.equal(
      code(await client.ask('g2', { t: 'job.cancel', job: 'job-0000000000000000' })),
      'E_JOB_UNKNOWN',
    );
    // The live stream is the owner's: another gate names it.
    const elsewhere = await client.ask('g2', { t: 'job.watch', job });
    assert.equal(code(elsewhere), 'E_NOT_OWNER');
    assert.ok(!elsewhere.ok);
    assert.deepEqual(elsewhere.error.details?.owner, {
      nodeId: 'g1',
      address: cluster.gateAddresses.get('g1'),
    });
    // Still serving: status from any gate, a new job accepted.
    const status = await client.ask('g3', { t: 'job.status', job });
    assert.equal(code(status), 'ok:job.view');
    assert.equal(
      code(await client.ask('g2', submission({ dcs: ['a'], key: 'k2' }))),
      'ok:job.accepted',
    );
    const list = await client.ask('g2', { t: 'job.list' });
    assert.ok(list.ok);
    assert.equal((list.message.jobs as unknown[]).length, 2);
  },
);

simTest(
  'gate authentication and rate limit: no identity is refused, a configured token is accepted, a burst is limited with retryAfterMs',
  { seeds: [1] },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      gate: {
        allowUnauthenticated: false,
        tokens: new Map([['t0ken-for-ci', 'ci']]),
        rateLimit: { burst: 3, perSecond: 1 },
      },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const anonymous = await client.ask('g1', { t: 'job.list' });
    assert.equal(code(anonymous), 'E_UNAUTHENTICATED');
    assert.equal(
      code(await client.ask('g1', { t: 'job.list', token: 'guess' })),
      'E_UNAUTHENTICATED',
    );
    const codes: string[] = [];
    for (let i = 0; i < 4; i++)
      codes.push(code(await client.ask('g1', { t: 'job.list', token: 't0ken-for-ci' })));
    assert.deepEqual(codes, ['ok:job.views', 'ok:job.views', 'ok:job.views', 'E_RATE_LIMITED']);
    const limited = await client.ask('g1', { t: 'job.list', token: 't0ken-for-ci' });
    assert.ok(!limited.ok);
    const retryAfterMs = limited.error.details?.retryAfterMs as number;
    assert.ok(retryAfterMs > 0 && retryAfterMs <= 1000, `retryAfterMs ${retryAfterMs}`);
    // The limit is per gate and per client: after the hint, the client is served again.
    await sim.run(retryAfterMs);
    assert.equal(
      code(await client.ask('g1', { t: 'job.list', token: 't0ken-for-ci' })),
      'ok:job.views',
    );
  },
);

// LT-42.4: a submission storm through three gates. 10,000 submissions, of which 1,000 reuse an
// earlier key, go to random gates, some twice at once and some retried at another gate after
// their answer: exactly 9,000 jobs exist, no job id twice, and every submission of a key is
// answered with the job of that key's first commit.

import assert from 'node:assert/strict';
import { simTest } from '../../support/sim.js';
import type { RpcReply } from '../../../src/protocol/index.js';
import { GATE_IDS, GateCluster, SimClient, submission } from './support/gate-cluster.js';

const TOTAL = 10_000;
const UNIQUE = 9_000;
const BATCH = 250;

simTest(
  'LT-42.4.1 LT-42.4.2: 3 gates, 10,000 submits with 1,000 reused keys, duplicates and retries ⇒ exactly 9,000 jobs',
  { seeds: [1], timeoutMs: 600_000 },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
      gate: {
        rateLimit: { burst: 100_000, perSecond: 100_000 },
        snapshotEveryEntries: 2_000,
      },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const rng = { s: 12345 };
    const rand = (n: number): number => {
      rng.s = (Math.imul(rng.s, 1103515245) + 12345) >>> 0;
      return rng.s % n;
    };
    const gate = (): string => GATE_IDS[rand(GATE_IDS.length)] ?? 'g1';
    // Keys 0..8999 once each; 1,000 more submissions reuse a random earlier key.
    const keys: string[] = [];
    for (let i = 0; i < UNIQUE; i++) keys.push(`key-${i}`);
    for (let i = 0; i < TOTAL - UNIQUE; i++)
      keys.splice(UNIQUE / 2 + rand(UNIQUE / 2) + i, 0, `key-${rand(UNIQUE / 2)}`);
    assert.equal(keys.length, TOTAL);
    const answers = new Map<string, { job: string; duplicate: boolean }[]>();
    let failures = 0;
    const record = (key: string, r: RpcReply): boolean => {
      if (!r.ok || r.message.t !== 'job.accepted') return false;
      const list = answers.get(key) ?? [];
      list.push({ job: r.message.job as string, duplicate: r.message.duplicate as boolean });
      answers.set(key, list);
      return true;
    };
    const send = async (key: string): Promise<void> => {
      const body = submission({
        key,
        dcs: ['a', 'b'],
        source: `export const k = '${key}';`,
        durationMs: 3_600_000,
      });
      // Until answered (an unavailable ledger during an election is retried, like a client would).
      for (let attempt = 0; attempt < 10; attempt++) {
        const copies = rand(10) === 0 ? [gate(), gate()] : [gate()];
        const replies = await Promise.all(copies.map((g) => client.start(g, body)));
        let answered = false;
        for (const r of replies) answered = record(key, r) || answered;
        if (answered) {
          // Some clients retry anyway (a lost answer), at another gate.
          if (rand(20) === 0) record(key, await client.start(gate(), body));
          return;
        }
      }
      failures++;
    };
    for (let i = 0; i < TOTAL; i += BATCH) {
      let done = 0;
      const batch = keys.slice(i, i + BATCH);
      for (const key of batch) void send(key).then(() => done++);
      const ok = await sim.runUntil(() => done === batch.length, { maxMs: 120_000 });
      assert.ok(ok, `batch at ${i} did not finish`);
    }
    assert.equal(failures, 0, 'every submission was answered');
    // Exactly 9,000 jobs, every key one job, every answer of a key that job.
    const jobs = new Set<string>();
    for (const [key, list] of answers) {
      const first = list[0]!.job;
      for (const a of list) assert.equal(a.job, first, `key ${key} was answered with two jobs`);
      assert.ok(!jobs.has(first), `job ${first} answers two keys`);
      jobs.add(first);
    }
    assert.equal(answers.size, UNIQUE);
    assert.equal(jobs.size, UNIQUE);
    const answered = [...answers.values()].reduce((n, l) => n + l.length, 0);
    const duplicates = [...answers.values()].reduce(
      (n, l) => n + l.filter((a) => a.duplicate).length,
      0,
    );
    assert.ok(answered >= TOTAL, `${answered} answers for ${TOTAL} submissions`);
    // Every answer but each key's first repeats an earlier commit, and says so.
    assert.equal(duplicates, answered - UNIQUE);
    await sim.runUntil(() => [...cluster.gates.values()].every((g) => g.ledger.size === UNIQUE), {
      maxMs: 10_000,
    });
    for (const g of cluster.gates.values()) {
      assert.equal(g.ledger.size, UNIQUE, `gate ${g.id} holds ${g.ledger.size} jobs`);
      for (const v of g.ledger.views())
        assert.ok(jobs.has(v.jobId), `ledger job ${v.jobId} answered no key`);
    }
    // Each job was dispatched once per DC: no job ran twice.
    const dispatched = new Map<string, number>();
    await sim.runUntil(() => cluster.allDispatches().length === 2 * UNIQUE, { maxMs: 30_000 });
    for (const d of cluster.allDispatches())
      dispatched.set(d.job, (dispatched.get(d.job) ?? 0) + 1);
    assert.equal(dispatched.size, UNIQUE);
    for (const [job, n] of dispatched) assert.equal(n, 2, `job ${job} dispatched ${n} times`);
  },
);

// Attack scenarios against real Raft node processes (dist/src/nodes/consensus/main.js, mutual
// TLS, loopback): a node will not start without certificates unless --insecure; a client cannot
// impersonate member n2 (its hello is refused, forged Raft messages move no term); one source
// holding many connections cannot lock a member out; hostile frames cost a bounded event-loop
// stall; a slowloris and peers that never read cost bounded memory. Bounds are named
// constants below; they are generous so the test is not timing-flaky on a loaded machine.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  encodeFrame,
  encodeFrameHeader,
  encodeValue,
  PROTOCOL_VERSION,
} from '../../src/protocol/index.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import {
  RAFT_MAIN,
  RaftProcess,
  agreedLeader,
  dump,
  freePort,
  metrics,
  poll,
  put,
  type Json,
} from '../support/raft-process.js';
import { RawClient, waitFor } from '../runtime/real/support.js';

const IDS = ['n1', 'n2', 'n3'];
/** Limits the nodes run with (small, so the attacks are cheap to mount). */
const MAX_CONNECTIONS = 64;
const MAX_CONNECTIONS_PER_SOURCE = 16;
const MEMORY_BUDGET_BYTES = 8 * 1024 * 1024;
const MAX_WRITE_QUEUE_BYTES = 1024 * 1024;
/**
 * Worst event-loop stall one hostile frame may cause: decoding is bounded by the decode limits
 * to a few milliseconds (measured ≤ 5 ms idle); the assertion allows for a loaded machine.
 */
const MAX_HOSTILE_FRAME_STALL_MS = 250;
/**
 * RSS growth allowed during the memory attacks. Buffers are held to the 8 MiB budget (asserted
 * exactly); RSS also holds garbage awaiting collection after ~100,000 messages, so its bound is
 * generous — still far below what the attacks cost unbounded (1.1–1.9 GiB).
 */
const MAX_ATTACK_RSS_GROWTH_BYTES = 256 * 1024 * 1024;
const TEST_TIMEOUT_MS = 120_000;

let certs: TestCerts;
let dataRoot = '';
const ports = new Map<string, number>();
const procs = new Map<string, RaftProcess>();
const attackers: RawClient[] = [];

function nodeArgs(id: string): string[] {
  return [
    '--id',
    id,
    '--listen',
    `127.0.0.1:${ports.get(id)}`,
    '--peers',
    IDS.filter((o) => o !== id)
      .map((o) => `${o}=127.0.0.1:${ports.get(o)}`)
      .join(','),
    '--data-dir',
    join(dataRoot, id),
    '--certs-dir',
    certs.dir,
    '--max-connections',
    String(MAX_CONNECTIONS),
    '--max-connections-per-source',
    String(MAX_CONNECTIONS_PER_SOURCE),
    '--memory-budget-bytes',
    String(MEMORY_BUDGET_BYTES),
    '--max-write-queue-bytes',
    String(MAX_WRITE_QUEUE_BYTES),
  ];
}

const address = (id: string) => ({ host: '127.0.0.1', port: ports.get(id)! });
const live = () => [...procs.values()].filter((p) => p.alive);

async function leaderAndFollowers(): Promise<{ leader: RaftProcess; followers: RaftProcess[] }> {
  const l = await poll('an agreed leader', () => agreedLeader(live()));
  const leader = procs.get(l.id)!;
  return { leader, followers: live().filter((p) => p !== leader) };
}

/** Writes key=v through whichever node leads now (leadership may move under attack). */
async function putViaLeader(key: string, seq: number): Promise<void> {
  await poll(`${key} to commit`, async () => {
    const { leader } = await leaderAndFollowers();
    const r = await put(leader, 'c', seq, key, 'v');
    return r.ok === true ? r : null;
  });
}

function hello(nodeId: string, role: string): Json {
  return {
    t: 'hello',
    protocol: { ...PROTOCOL_VERSION },
    capabilities: [],
    clusterId: 'salvo',
    environment: 'default',
    role,
    nodeId,
  };
}

/** A TLS connection with mallory's client certificate, hello sent as `nodeId`/`role`. */
async function mallory(
  to: string,
  opts: { nodeId?: string; role?: string; localAddress?: string } = {},
): Promise<RawClient> {
  const c = await RawClient.connect(address(to), {
    tls: certs.client('mallory'),
    ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
  });
  attackers.push(c);
  c.sendValue(hello(opts.nodeId ?? 'mallory', opts.role ?? 'client'));
  return c;
}

before(async () => {
  certs = makeCerts(IDS, ['mallory']);
  dataRoot = mkdtempSync(join(tmpdir(), 'salvo-attack-'));
  for (const id of IDS) ports.set(id, await freePort());
  for (const id of IDS) {
    const p = new RaftProcess(id, nodeArgs(id));
    procs.set(id, p);
    p.start();
  }
  await Promise.all([...procs.values()].map((p) => p.next((j) => j.event === 'ready')));
});

after(() => {
  for (const c of attackers) c.close();
  for (const p of procs.values()) {
    p.child?.kill('SIGCONT');
    p.kill9();
  }
  if (dataRoot !== '') rmSync(dataRoot, { recursive: true, force: true });
  certs.cleanup();
});

void describe(
  'attacks on a three-node Raft cluster over mutual TLS',
  { timeout: TEST_TIMEOUT_MS },
  () => {
    void it('a node refuses to start without certificates unless --insecure, which it logs loudly', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'salvo-nocert-'));
      const port = await freePort();
      const run = (extra: string[]) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(process.execPath, [
            RAFT_MAIN,
            '--id',
            'x1',
            '--listen',
            `127.0.0.1:${port}`,
            '--data-dir',
            dir,
            ...extra,
          ]);
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('"event":"ready"')) child.stdin.end(); // stop once it is up
          });
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('exit', (code) => resolve({ code, out, err }));
        });
      try {
        const refused = await run([]);
        assert.equal(refused.code, 1);
        assert.match(refused.out, /--certs-dir/);
        assert.match(refused.out, /--insecure/);
        const insecure = await run(['--insecure']);
        assert.match(insecure.out, /"event":"ready"/);
        assert.match(insecure.err, /\*\*\* INSECURE: --insecure given/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    void it('impersonation refused: a client claiming to be n2 is refused and forged Raft messages move no term', async () => {
      const { leader, followers } = await leaderAndFollowers();
      const victim = followers[0]!;
      const before = await victim.status();
      // Another member's id (n2 unless the victim is n2).
      const claimed = IDS.find((id) => id !== victim.id && id === 'n2') ?? leader.id;
      // 1. The hello claims member n2 with mallory's certificate.
      const forged = await mallory(victim.id, { nodeId: claimed, role: 'manager' });
      const refusal = await forged.waitMessage((m) => m.t === 'error');
      assert.equal(refusal.code, 'identity_mismatch');
      await waitFor(() => forged.closed, 5000, 'the forged hello to be closed');
      // 2. An honest client hello, then forged heartbeats and an append "from" a member.
      const c = await mallory(victim.id);
      await c.waitMessage((m) => m.t === 'hello');
      const term = Number(before.term) + 50;
      c.sendValue({ t: 'raft.heartbeat', from: claimed, to: victim.id, term, commit: 0 });
      c.sendValue({
        t: 'raft.append',
        from: claimed,
        to: victim.id,
        term,
        prevIndex: 0,
        prevTerm: 0,
        entries: [{ index: 1, term, kind: 'normal', data: new Uint8Array([1, 2, 3]) }],
        commit: 1,
      });
      await waitFor(() => c.closed, 5000, 'the non-member to be disconnected');
      await new Promise((r) => setTimeout(r, 500));
      const afterStatus = await victim.status();
      assert.equal(afterStatus.term, before.term, 'the term did not move');
      const m = await metrics(victim);
      assert.ok(Number((m.transport as Json).rejectedSender) >= 1);
      assert.equal(
        Number((m.protocol as Json)['handshake_rejected.identity_mismatch']),
        1,
        JSON.stringify(m.protocol),
      );
      // The cluster is undisturbed: it still commits, and the victim holds no forged entry.
      const r = await put(leader, 'c', 1, 'after-impersonation', 'v');
      assert.equal(r.ok, true, JSON.stringify(r));
      const d = await poll('the victim to apply the write', async () => {
        const j = await dump(victim);
        return (j.data as Json)['after-impersonation'] === 'v' ? j : null;
      });
      assert.equal(d.term, before.term);
    });

    void it('worst event-loop stall per hostile frame (deep nesting, huge and many-key maps) stays under the bound', async () => {
      const { followers } = await leaderAndFollowers();
      const target = followers[0]!;
      const c = await mallory(target.id);
      await c.waitMessage((m) => m.t === 'hello');
      const nested = new Uint8Array(1024 * 1024 - 64).fill(0x91);
      nested[nested.length - 1] = 0xc0;
      // map16 of 65,535 distinct keys: fixstr(5) "kXXXX" (4 hex digits) → fixint 1.
      const bigMap = Buffer.alloc(3 + 65_535 * 7);
      bigMap.set([0xde, 0xff, 0xff]);
      for (let k = 0; k < 65_535; k++) {
        const at = 3 + k * 7;
        bigMap.set([0xa5, 0x6b], at);
        bigMap.write(k.toString(16).padStart(4, '0'), at + 2, 'latin1');
        bigMap[at + 6] = 1;
      }
      const manyMaps = Array.from({ length: 200 }, (_, j) =>
        Object.fromEntries(Array.from({ length: 200 }, (_, k) => [`f${j}_${k}`, k])),
      );
      const frames: [string, Uint8Array][] = [
        ['1 MiB of nested arrays', nested],
        ['a map of 65,535 keys', bigMap],
      ];
      await metrics(target, true);
      const worst: Record<string, number> = {};
      for (const [label, body] of frames) {
        const before = c.messages.length;
        c.writeRaw(Buffer.concat([encodeFrameHeader(body), body]));
        await waitFor(() => c.messages.length > before, 10_000, `a reply to ${label}`);
        assert.equal(c.messages[before]?.t, 'error');
        const m = await metrics(target, true);
        worst[label] = Number(m.eventLoopMaxMs);
      }
      const before = c.messages.length;
      c.sendValue({ t: 'ping', id: 1, x: manyMaps });
      await waitFor(() => c.messages.length > before, 10_000, 'a reply to 40,000 distinct keys');
      assert.equal(c.messages[before]?.t, 'error');
      worst['40,000 distinct keys'] = Number((await metrics(target, true)).eventLoopMaxMs);
      for (const [label, ms] of Object.entries(worst)) {
        assert.ok(ms < MAX_HOSTILE_FRAME_STALL_MS, `${label}: ${ms} ms stall`);
      }
      assert.ok(
        !c.closed,
        'bad messages are answered; the connection serves on (under maxPeerErrors)',
      );
    });

    void it('connection-cap lockout impossible: one source holding many connections cannot keep a member out', async () => {
      const { followers } = await leaderAndFollowers();
      // The attacker (its own source address) opens more than its share on every node and keeps
      // the accepted ones busy (so no idle timeout frees them).
      const perNode = MAX_CONNECTIONS_PER_SOURCE + 8;
      const targets = live();
      const held = await Promise.all(
        targets.flatMap((p) =>
          Array.from({ length: perNode }, () => mallory(p.id, { localAddress: '127.0.0.2' })),
        ),
      );
      const g = followers[0]!;
      const heldOnG = new Set(
        held.slice(targets.indexOf(g) * perNode, (targets.indexOf(g) + 1) * perNode),
      );
      await waitFor(
        () => held.every((c) => c.closed || c.messages.length > 0),
        20_000,
        'every attacker connection to be answered',
      );
      const accepted = held.filter((c) => c.messages.some((m) => m.t === 'hello'));
      const refused = held.filter((c) =>
        c.messages.some((m) => m.t === 'error' && m.code === 'over_capacity'),
      );
      assert.equal(accepted.length, 3 * MAX_CONNECTIONS_PER_SOURCE);
      assert.equal(refused.length, held.length - accepted.length);
      let id = 1;
      const keepAlive = setInterval(() => {
        for (const c of accepted) c.sendValue({ t: 'ping', id: id++ });
      }, 200);
      try {
        // A member restarts and must reconnect to the (attacked) leader to catch up.
        g.kill9();
        await putViaLeader('during-lockout', 2);
        g.start();
        await g.next((j) => j.event === 'ready');
        await poll('the restarted member to catch up through attacked nodes', async () => {
          const j = await dump(g);
          return (j.data as Json)['during-lockout'] === 'v' ? j : null;
        });
        assert.ok(
          accepted.every((c) => heldOnG.has(c) || !c.closed),
          'the attacker kept its share on the nodes that stayed up',
        );
      } finally {
        clearInterval(keepAlive);
        for (const c of held) c.close();
      }
    });

    void it('a slowloris (partial frames on many connections) costs bounded memory', async () => {
      const { followers } = await leaderAndFollowers();
      const target = followers[0]!;
      const rssBefore = Number((await metrics(target)).rssBytes);
      const sources = ['127.0.0.3', '127.0.0.4', '127.0.0.5'];
      const conns = await Promise.all(
        sources.flatMap((src) =>
          Array.from({ length: MAX_CONNECTIONS_PER_SOURCE }, () =>
            mallory(target.id, { localAddress: src }),
          ),
        ),
      );
      await waitFor(() => conns.every((c) => c.messages.length > 0 || c.closed), 10_000);
      // Each declares a 1 MiB frame and sends all of it but the last bytes.
      const body = new Uint8Array(1024 * 1024).fill(0x61);
      for (const c of conns) {
        if (c.closed) continue;
        c.writeRaw(encodeFrameHeader(body));
        c.writeRaw(body.subarray(0, body.length - 16));
      }
      const m = await poll('the node to have read the partial frames', async () => {
        const j = await metrics(target);
        const stream = j.stream as Json;
        return Number(stream.budgetEvictions) > 0 ? j : null;
      });
      assert.ok(Number(m.budgetPeakBytes) <= MEMORY_BUDGET_BYTES, JSON.stringify(m));
      const growth = Number(m.rssBytes) - rssBefore;
      assert.ok(growth < MAX_ATTACK_RSS_GROWTH_BYTES, `RSS grew by ${growth} bytes`);
      await putViaLeader('after-slowloris', 3);
      for (const c of conns) c.close();
    });

    void it('peers that never read cost bounded memory: the node stays under its budget and serves on', async () => {
      const { followers } = await leaderAndFollowers();
      const target = followers[0]!;
      const before = await metrics(target);
      const readers = await Promise.all(
        Array.from({ length: 4 }, () => mallory(target.id, { localAddress: '127.0.0.6' })),
      );
      for (const c of readers) await c.waitMessage((m) => m.t === 'hello');
      // 10,000 pings in one buffer (~250 KB); each connection sends 3 of them and reads nothing.
      const batch = Buffer.concat(
        Array.from({ length: 10_000 }, (_, i) =>
          encodeFrame(encodeValue({ t: 'ping', id: i + 1 })),
        ),
      );
      for (const c of readers) {
        c.socket.pause();
        for (let b = 0; b < 3; b++) c.writeRaw(batch);
      }
      const framesBefore = Number((before.protocol as Json).frames_in);
      const m = await poll(
        'the node to read every ping',
        async () => {
          const j = await metrics(target);
          const read = Number((j.protocol as Json).frames_in) - framesBefore;
          return read >= readers.length * 30_000 || readers.every((c) => c.closed) ? j : null;
        },
        60_000,
      );
      assert.ok(Number(m.budgetPeakBytes) <= MEMORY_BUDGET_BYTES, JSON.stringify(m));
      const growth = Number(m.rssBytes) - Number(before.rssBytes);
      assert.ok(growth < MAX_ATTACK_RSS_GROWTH_BYTES, `RSS grew by ${growth} bytes`);
      for (const c of readers) c.close();
      await putViaLeader('after-non-readers', 4);
    });
  },
);

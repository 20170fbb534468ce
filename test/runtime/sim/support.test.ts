// The simTest helper: one test per seed, SALVO_SIM_SEED replay, and a failure message that
// carries the seed and the exact replay command (checked through the failure path directly).
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import {
  callerFile,
  replayCommand,
  runSimCase,
  seedsFrom,
  shellDoubleQuote,
  simTest,
  SimTestFailure,
} from '../../support/sim.js';

const THIS_FILE = 'dist/test/runtime/sim/support.test.js';

test('a failing sim body is rethrown with the seed and the replay command', async () => {
  await assert.rejects(
    runSimCase('GP-0.0 demo (fails)', 1234, THIS_FILE, async (sim) => {
      sim.addNode({ id: 'n' }, (rt) => {
        rt.log.log('warn', 'about to fail', { why: 'test' });
      });
      await sim.run(10);
      throw new Error('leader count 2 in term 7');
    }),
    (error: unknown) => {
      assert.ok(error instanceof SimTestFailure);
      assert.equal(error.seed, 1234);
      assert.equal(
        error.replay,
        `SALVO_SIM_SEED=1234 node --test --test-name-pattern="GP-0\\.0 demo \\(fails\\)" ${THIS_FILE}`,
      );
      assert.match(error.message, /failed with seed=1234 at t=10\.000ms/);
      assert.ok(error.message.includes(`replay: ${error.replay}`));
      assert.match(error.message, /leader count 2 in term 7/);
      assert.match(error.message, /0\.000 n warn about to fail \{"why":"test"\}/);
      assert.ok(error.cause instanceof Error);
      return true;
    },
  );
});

test('a simulation failure inside the body also names the seed', async () => {
  await assert.rejects(
    runSimCase('invariant', 77, THIS_FILE, async (sim) => {
      sim.addNode({ id: 'n' }, (rt) => {
        rt.timers.after(5, () => undefined);
      });
      sim.afterEvent(() => {
        throw new Error('two leaders');
      });
      await sim.run(10);
    }),
    /seed=77[\s\S]*SALVO_SIM_SEED=77 [\s\S]*seed=77 t=5\.000ms[\s\S]*two leaders/,
  );
});

test('replay commands quote what the shell or the pattern would misread', () => {
  assert.equal(
    replayCommand('raft (3 nodes)', 3, 'dist/test/x.test.js'),
    'SALVO_SIM_SEED=3 node --test --test-name-pattern="raft \\(3 nodes\\)" dist/test/x.test.js',
  );
  for (const name of ['a "b" $c [d]', 'back\\slash `tick` $$', 'GP-1.2 x*y+z?', "it's"]) {
    const quoted = shellDoubleQuote(name);
    const echoed = execFileSync('sh', ['-c', `printf '%s' ${quoted}`], { encoding: 'utf8' });
    assert.equal(echoed, name, `shell round trip of ${quoted}`);
    const pattern = replayCommand(name, 1, 'f.js').match(/--test-name-pattern=(".*") f\.js$/)?.[1];
    const unquoted = execFileSync('sh', ['-c', `printf '%s' ${pattern ?? ''}`], {
      encoding: 'utf8',
    });
    assert.ok(new RegExp(`^${unquoted}$`).test(name), `pattern ${unquoted} matches ${name}`);
  }
});

test('the test file is derived from the caller', () => {
  assert.equal(callerFile(), THIS_FILE);
});

test('seedsFrom counts up from the base', () => {
  if (process.env['SALVO_SIM_SEEDS'] === undefined) {
    assert.deepEqual(seedsFrom(3), [1, 2, 3]);
    assert.deepEqual(seedsFrom(2, 100), [100, 101]);
  }
});

const ran: number[] = [];
simTest('simTest registers one test per seed', { seeds: [5, 6] }, async (sim, seed) => {
  assert.equal(sim.seed, seed);
  ran.push(seed);
  await sim.run(1);
});

test('every listed seed ran (or only SALVO_SIM_SEED)', () => {
  const chosen = process.env['SALVO_SIM_SEED'];
  assert.deepEqual(ran, chosen === undefined ? [5, 6] : [Number(chosen)]);
});

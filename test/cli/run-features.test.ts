// salvo run's feature options as functions: dotenv parsing, config files (JSON and TS) and
// their errors, -e parsing, --iterations, and the workflow-side `env` and `dataset`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import {
  applyIterations,
  envOption,
  parseEnvFile,
  prepareRunOptions,
} from '../../src/cli/run-features.js';
import { env } from '../../src/api/env.js';
import { dataset } from '../../src/api/dataset.js';
import { workflow } from '../../src/api/workflow.js';
import { constantVus } from '../../src/api/executors.js';
import { OptionError, WorkflowConfigError } from '../../src/errors.js';
import { tempDir } from '../support/cli.js';

describe('run feature options', () => {
  test('dotenv: comments, export, quotes, inline comments; a bad line names file and line', () => {
    const text = '# c\nexport A=1\nB="two words"\nC=\'x # y\'\nD=plain # note\n\nE=\n';
    assert.deepEqual(parseEnvFile(text, '.env'), {
      A: '1',
      B: 'two words',
      C: 'x # y',
      D: 'plain',
      E: '',
    });
    assert.throws(
      () => parseEnvFile('A=1\nnot a line\n', 'f.env'),
      (e: unknown) => {
        assert.ok(e instanceof OptionError);
        assert.match(e.message, /f\.env:2: expected KEY=VALUE/);
        return true;
      },
    );
  });

  test('-e takes KEY=VALUE (value may hold =) and rejects bad keys', () => {
    assert.deepEqual(envOption('A=b=c', { X: '1' }), { X: '1', A: 'b=c' });
    assert.throws(() => envOption('1A=x'), InvalidArgumentError);
    assert.throws(() => envOption('novalue'), InvalidArgumentError);
  });

  test('config files: JSON and TS found beside the workflow; flags win; env is exported; bad keys named', async () => {
    const dir = tempDir();
    const wf = join(dir, 'load.ts');
    writeFileSync(wf, '');
    writeFileSync(
      join(dir, 'salvo.config.json'),
      JSON.stringify({ vus: 5, duration: '2s', env: { CFG_A: 'from-config' } }),
    );
    const opts = await prepareRunOptions(wf, { vus: 7, env: { CFG_B: 'from-flag' } });
    assert.equal(opts['vus'], 7, 'the flag wins');
    assert.equal(opts['duration'], 2000);
    assert.equal(process.env['CFG_A'], 'from-config');
    assert.equal(process.env['CFG_B'], 'from-flag');

    const tsDir = tempDir();
    writeFileSync(
      join(tsDir, 'salvo.config.ts'),
      'const n: number = 3;\nexport default { iterations: n };\n',
    );
    const fromTs = await prepareRunOptions(join(tsDir, 'x.ts'), {});
    assert.equal(fromTs['iterations'], 3);

    const bad = tempDir();
    writeFileSync(join(bad, 'salvo.config.json'), JSON.stringify({ vuz: 1 }));
    await assert.rejects(
      prepareRunOptions(join(bad, 'x.ts'), {}),
      /unknown option 'vuz'; allowed: vus, duration/,
    );
    writeFileSync(join(bad, 'salvo.config.json'), JSON.stringify({ vus: -1 }));
    await assert.rejects(
      prepareRunOptions(join(bad, 'x.ts'), {}),
      /vus must be a number greater than zero/,
    );
    await assert.rejects(
      prepareRunOptions(join(bad, 'x.ts'), { config: '/nope.json' }),
      /--config \/nope\.json: no such file/,
    );
  });

  test('--iterations turns every workflow into shared iterations with at most N VUs', () => {
    const w = workflow('w', { executor: constantVus({ vus: 10, duration: '1m' }) });
    applyIterations([w], { iterations: 4 });
    assert.equal(w.definition.executor.type, 'shared-iterations');
    assert.deepEqual(
      {
        vus: (w.definition.executor as { vus: number }).vus,
        iterations: (w.definition.executor as { iterations: number }).iterations,
      },
      { vus: 4, iterations: 4 },
    );
  });
});

describe('env and dataset in workflows', () => {
  test('env reads typed values and names what is missing or malformed', () => {
    process.env['SALVO_T_NUM'] = '12.5';
    process.env['SALVO_T_BOOL'] = 'Yes';
    process.env['SALVO_T_BAD'] = 'twelve';
    assert.equal(env.number('SALVO_T_NUM'), 12.5);
    assert.equal(env.bool('SALVO_T_BOOL'), true);
    assert.equal(env.string('SALVO_T_MISSING', 'd'), 'd');
    assert.throws(
      () => env.string('SALVO_T_MISSING'),
      /SALVO_T_MISSING \(a string\) is not set; pass it with: salvo run -e SALVO_T_MISSING=/,
    );
    assert.throws(() => env.number('SALVO_T_BAD'), WorkflowConfigError);
    assert.throws(() => env.bool('SALVO_T_BAD'), /must be true\/false/);
  });

  test('dataset: CSV with quotes, JSON, frozen rows, sequential/unique picks, clear errors', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'u.csv'), 'user,note\nann,"a, quoted ""note"""\nben,plain\n');
    writeFileSync(join(dir, 'i.json'), '[{"id":1},{"id":2},{"id":3}]');
    writeFileSync(join(dir, 'empty.json'), '[]');
    const users = dataset(join(dir, 'u.csv'));
    assert.deepEqual(users.rows, [
      { user: 'ann', note: 'a, quoted "note"' },
      { user: 'ben', note: 'plain' },
    ]);
    assert.ok(Object.isFrozen(users.rows) && Object.isFrozen(users.rows[0]));
    const items = dataset<{ id: number }>(join(dir, 'i.json'));
    assert.deepEqual(
      [0, 1, 2, 3].map((iteration) => items.sequential({ id: 1, iteration }).id),
      [1, 2, 3, 1],
    );
    assert.equal(users.unique({ id: 2, iteration: 0 }).user, 'ben');
    assert.throws(
      () => users.unique({ id: 3, iteration: 0 }),
      /has 2 rows; VU 3 has no unique row/,
    );
    assert.throws(() => dataset(join(dir, 'empty.json')), /expected a non-empty JSON array/);
    assert.throws(() => dataset(join(dir, 'missing.csv')), WorkflowConfigError);
  });
});

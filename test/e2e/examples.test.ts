// Every workflow in examples/ runs end to end through `salvo run` against the embedded target
// and its protocol peers (started here, with Debian's SMTP and FTP servers for smtp.ts and
// ftp.ts, and Chromium for browser.ts), the peers' addresses passed as -e variables: the
// examples are type-checked together, then run in three CLI runs (all self-contained ones from
// one file that re-exports them, environment.ts with --env-file and --http-debug, and
// configured/ with its salvo.config.json); each must exit 0 with every step run and none failed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetServer } from '../../src/target/server.js';
import type { ProtocolPeers } from '../../src/target/peers.js';
import { peerEnv } from '../../src/cli/serve-peers.js';
import { bundleWorkflow, typecheckWorkflow } from '../../src/engine/loader.js';
import type { RunResults } from '../../src/stats/types.js';
import {
  ROOT,
  readResults,
  runCli,
  schemaErrors,
  tempDir,
  type CliResult,
} from '../support/cli.js';
import { startTargetWithPeers } from '../support/peers.js';
import {
  startFtpServer,
  startSmtpSink,
  type FtpServer,
  type SmtpSink,
} from '../support/mail-peers.js';

const EXAMPLES = join(ROOT, 'examples');
/** Examples that need their own run (options that would apply to every workflow of a run). */
const ENVIRONMENT = 'environment.ts';
const CONFIGURED = join('configured', 'workflow.ts');

let target: TargetServer;
let peers: ProtocolPeers;
const dir = tempDir('salvo-examples-');

let stop: () => Promise<void>;
let smtp: SmtpSink;
let ftp: FtpServer;

before(async () => {
  ({ target, peers, close: stop } = await startTargetWithPeers());
  [smtp, ftp] = await Promise.all([startSmtpSink({ tls: false }), startFtpServer()]);
});
after(() => Promise.all([stop(), smtp.stop(), ftp.stop()]));

function exampleFiles(): string[] {
  const top = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  return [...top, CONFIGURED];
}

/** A file re-exporting the given examples' workflows under distinct names. */
function aggregate(name: string, files: string[]): string {
  const path = join(dir, name);
  const lines = files.map(
    (f, i) => `export { default as example${i} } from '${join(EXAMPLES, f)}';`,
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function run(
  file: string,
  extra: string[],
): Promise<{ cli: CliResult; results: RunResults }> {
  const out = join(dir, `${file.replace(/[^a-z0-9]/gi, '_')}.json`);
  const args = [
    'run',
    file,
    '--no-check',
    '--target',
    target.url,
    '--workers',
    '1',
    '-q',
    '--out',
    out,
  ];
  for (const [k, v] of Object.entries(peerEnv(peers))) args.push('-e', `${k}=${v}`);
  args.push('-e', `SMTP_URL=${smtp.url}`, '-e', `FTP_URL=${ftp.url}`);
  const cli = await runCli([...args, ...extra], { timeoutMs: 90_000 });
  // Exit 3 (a threshold failed) is accepted only for latency thresholds: the examples' latency
  // goals are for a quiet machine, and this suite asserts nothing about timing.
  assert.ok(cli.code === 0 || cli.code === 3, `${file}: exit ${cli.code}\n${cli.stderr}`);
  const results = readResults(out);
  assert.deepEqual(schemaErrors(results), [], file);
  const failed = results.workflows.flatMap((w) => w.thresholds.filter((t) => !t.passed));
  assert.deepEqual(
    failed.filter((t) => t.unit !== 'ms'),
    [],
    `${file}: only latency thresholds may fail`,
  );
  assert.equal(cli.code === 3, failed.length > 0, `${file}: exit code matches the thresholds`);
  for (const w of results.workflows) {
    assert.equal(w.status, 'completed', `workflow ${w.name}`);
    assert.ok(w.steps.length > 0, `${w.name} has steps`);
    for (const s of w.steps) {
      assert.ok(s.count > 0, `${w.name}/${s.name} ran`);
      assert.equal(s.failed, 0, `${w.name}/${s.name} failed: ${JSON.stringify(s.errors)}`);
    }
  }
  return { cli, results };
}

describe('examples/', () => {
  test('every example type-checks against the salvo API (one program for all)', async () => {
    const files = exampleFiles();
    assert.ok(files.length >= 15, `found ${files.length} examples`);
    const bundle = await bundleWorkflow(aggregate('typecheck.ts', files));
    await typecheckWorkflow(bundle);
  });

  test('every example runs cleanly against the embedded target and its peers', async () => {
    const alone = exampleFiles().filter((f) => f !== ENVIRONMENT && f !== CONFIGURED);
    const [all, environment, configured] = await Promise.all([
      run(aggregate('all.ts', alone), ['--iterations', '3', '--vus', '1']),
      run(join(EXAMPLES, ENVIRONMENT), [
        '--env-file',
        join(EXAMPLES, 'data', 'example.env'),
        '-e',
        'PAGE_SIZE=5',
        '--http-debug',
      ]),
      run(join(EXAMPLES, CONFIGURED), []),
    ]);
    // Every example's workflows ran (quickstart adds its login workflow), 3 iterations each.
    assert.ok(
      all.results.workflows.length >= alone.length + 1,
      'one workflow per example at least',
    );
    for (const w of all.results.workflows) {
      const first = w.steps.find((s) => !s.name.startsWith('http{'));
      assert.equal(first?.count, 3, `${w.name}: --iterations 3`);
    }
    // -e and --env-file reached the workflow; --http-debug printed the exchange.
    assert.match(
      environment.cli.stderr,
      /> GET http:\/\/127\.0\.0\.1:\d+\/bytes\/5 \(HTTP\/1\.1\)/,
    );
    assert.match(environment.cli.stderr, /> x-verbose: 1/, 'VERBOSE=true came from the env file');
    assert.match(environment.cli.stderr, /< 200/);
    // salvo.config.json beside the workflow: 4 iterations and env GREETING.
    assert.equal(configured.results.workflows[0]?.steps[0]?.count, 4);
  });
});

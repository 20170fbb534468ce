// SMTP and FTP steps under `salvo run` against Debian's aiosmtpd and pyftpdlib: they record the
// same statistics as HTTP steps, server refusals counted by named kind (smtp_550, ftp_550).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readResults, runFixture, schemaErrors } from '../support/cli.js';
import {
  startFtpServer,
  startSmtpSink,
  type FtpServer,
  type SmtpSink,
} from '../support/mail-peers.js';

let sink: SmtpSink;
let ftp: FtpServer;
before(async () => {
  [sink, ftp] = await Promise.all([startSmtpSink(), startFtpServer()]);
});
after(async () => {
  await Promise.all([sink.stop(), ftp.stop()]);
});

void test('SMTP and FTP steps: counts, latency and failures by named kind in the results', async () => {
  const { cli, out } = await runFixture('mail-ftp.ts', {
    workers: 2,
    extra: ['-e', `SMTP_URL=${sink.url}`, '-e', `FTP_URL=${ftp.url}`],
  });
  // Two steps fail in every execution: the run is failed (exit 4), as it would be for HTTP.
  assert.equal(cli.code, 4, cli.stderr);
  const results = readResults(out);
  assert.deepEqual(schemaErrors(results), []);
  const w = results.workflows[0];
  assert.ok(w);
  const step = (name: string) => {
    const s = w.steps.find((x) => x.name === name);
    assert.ok(s, name);
    return s;
  };
  assert.equal(step('mail').ok, 6);
  assert.ok(step('mail').latencyMs.max > 0);
  assert.deepEqual(step('refused').errors, { smtp_550: 6 });
  assert.match(step('refused').errorSamples['smtp_550'] ?? '', /reject@example\.com|550/);
  assert.equal(step('files').ok, 6);
  assert.equal(w.checks.find((c) => c.name === 'round trip')?.passes, 6);
  assert.deepEqual(step('missing').errors, { ftp_550: 6 });
  // What the servers received: 6 messages, 6 uploaded files.
  assert.equal(sink.messages().filter((m) => /Subject: vu \d+ iteration/.test(m)).length, 6);
  assert.equal(readdirSync(ftp.root).filter((f) => /^vu\d+-\d+\.txt$/.test(f)).length, 6);
});

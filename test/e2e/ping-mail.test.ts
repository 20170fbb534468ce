// `salvo ping smtp://…` and `ftp://…` as a user types it, against Debian's aiosmtpd and
// pyftpdlib started here; a refused port names the kind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/peers.js';
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

describe('salvo ping smtp:// and ftp://', () => {
  test('an SMTP session with AUTH, and -d sends a message the server stores', async () => {
    const url = sink.url.replace('smtp://', 'smtp://salvo:secret@');
    const before = sink.messages().length;
    const r = await runCli(['ping', url, '-d', 'hello from ping', '--insecure']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /SMTP session with 127\.0\.0\.1:\d+ in [\d.]+ms, AUTH accepted in/);
    assert.match(r.stdout, /accepted for postmaster@127\.0\.0\.1 .*: 250 OK stored as \d+/);
    const stored = sink.messages().slice(before);
    assert.equal(stored.length, 1);
    assert.match(stored[0] ?? '', /hello from ping/);
  });

  test('an FTP login lists the directory; refusals and a closed port exit 4 naming the kind', async () => {
    writeFileSync(join(ftp.root, 'listed.txt'), 'abc');
    const ok = await runCli(['ping', `${ftp.url}/`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /logged in to 127\.0\.0\.1:\d+ in [\d.]+ms/);
    assert.match(ok.stdout, /file listed\.txt \(3 bytes\)/);
    const wrong = await runCli(['ping', ftp.url.replace(':secret@', ':nope@')]);
    assert.equal(wrong.code, 4);
    assert.match(wrong.stderr, /failed \(ftp_530\)/);
    const refused = await runCli(['ping', `smtp://127.0.0.1:${await freePort()}`]);
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /failed \(connect_refused\)/);
  });
});

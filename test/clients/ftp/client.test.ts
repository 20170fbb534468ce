// FTP client against a real FTP server (Debian's pyftpdlib, started here): upload, download,
// list, size and remove on its directory; refusals and transport failures as named kinds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError } from '../../../src/clients/client.js';
import { FtpClient, parseFtpUrl } from '../../../src/clients/ftp/index.js';
import { freePort } from '../../support/peers.js';
import { startFtpServer, type FtpServer } from '../../support/mail-peers.js';

let server: FtpServer;
before(async () => {
  server = await startFtpServer();
});
after(() => server.stop());

const env = { timeoutMs: 5000 };

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, String(error));
    assert.equal(error.protocol, 'ftp');
    return error.kind;
  }
  assert.fail('expected a ClientError');
}

describe('FtpClient', () => {
  test('uploads a file the server stores, downloads what the server has, lists, sizes, removes', async () => {
    const client = new FtpClient(env);
    try {
      const session = await client.connect(server.url);
      assert.ok(session.connectMs > 0);
      const body = Buffer.alloc(200_000, 'salvo ');
      const up = await session.upload('upload.bin', body);
      assert.equal(up.bytes, body.length);
      assert.match(up.response, /^226/);
      assert.deepEqual(readFileSync(join(server.root, 'upload.bin')), body);
      writeFileSync(join(server.root, 'served.txt'), 'from the server\n');
      const down = await session.download('served.txt');
      assert.equal(down.text(), 'from the server\n');
      assert.equal(down.bytes, 16);
      const names = (await session.list()).map((e) => e.name).sort();
      assert.deepEqual(names, ['served.txt', 'upload.bin']);
      assert.equal(await session.size('upload.bin'), body.length);
      await session.remove('upload.bin');
      assert.equal(existsSync(join(server.root, 'upload.bin')), false);
      await session.close();
      assert.equal(await kindOf(session.download('served.txt')), 'closed');
    } finally {
      client.close();
    }
  });

  test('server refusals are ftp_<code>: a missing file 550, a wrong password 530', async () => {
    const client = new FtpClient(env);
    try {
      const session = await client.connect(server.url);
      assert.equal(await kindOf(session.download('missing.txt')), 'ftp_550');
      // The session stays usable after a refused command.
      await session.upload('after.txt', 'still here');
      assert.equal((await session.download('after.txt')).text(), 'still here');
      await session.close();
      const wrong = new URL(server.url);
      wrong.password = 'nope';
      assert.equal(await kindOf(client.connect(wrong.href)), 'ftp_530');
    } finally {
      client.close();
    }
  });

  test('transport failures are named: connect_refused, a silent server is connect_timeout; bad addresses', async () => {
    const client = new FtpClient({ timeoutMs: 500 });
    try {
      assert.equal(
        await kindOf(client.connect(`ftp://127.0.0.1:${await freePort()}`)),
        'connect_refused',
      );
      const net = await import('node:net');
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as import('node:net').AddressInfo).port;
      try {
        assert.equal(await kindOf(client.connect(`ftp://127.0.0.1:${port}`)), 'connect_timeout');
      } finally {
        silent.close();
      }
      assert.equal(await kindOf(client.connect('sftp://127.0.0.1:22')), 'bad_request');
    } finally {
      client.close();
    }
  });

  test('ftp:// and ftps:// addresses: ports, implicit TLS, credentials and path', () => {
    assert.deepEqual(parseFtpUrl('ftp://files.example.com/pub/a.txt'), {
      host: 'files.example.com',
      port: 21,
      implicitTls: false,
      user: undefined,
      password: undefined,
      path: '/pub/a.txt',
    });
    const s = parseFtpUrl('ftps://me:p%40ss@127.0.0.1:2990');
    assert.equal(s.port, 2990);
    assert.equal(s.implicitTls, true);
    assert.equal(s.password, 'p@ss');
  });
});

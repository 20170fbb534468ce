// SMTP client against a real SMTP server (Debian's aiosmtpd, started here): messages arrive as
// sent (MIME, attachments), STARTTLS and AUTH, refusals and transport failures as named kinds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError } from '../../../src/clients/client.js';
import { SmtpClient, parseSmtpUrl } from '../../../src/clients/smtp/index.js';
import { TLS_CERT, freePort } from '../../support/peers.js';
import { startSmtpSink, type SmtpSink } from '../../support/mail-peers.js';

let sink: SmtpSink;
before(async () => {
  sink = await startSmtpSink();
});
after(() => sink.stop());

const env = { timeoutMs: 5000 };

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, String(error));
    assert.equal(error.protocol, 'smtp');
    return error.kind;
  }
  assert.fail('expected a ClientError');
}

describe('SmtpClient', () => {
  test('sends messages over one session; the server stores them as composed', async () => {
    const client = new SmtpClient(env);
    try {
      const before = sink.messages().length;
      const session = await client.connect(sink.url, { startTls: 'never' });
      assert.ok(session.timings.connectMs > 0);
      assert.equal(session.timings.authMs, 0);
      const first = await session.send({
        from: 'load@example.com',
        to: ['ops@example.com', 'dev@example.com'],
        subject: 'salvo run 1',
        text: 'first body',
        headers: { 'X-Salvo-Vu': '7' },
        attachments: [{ filename: 'data.csv', content: 'a,b\n1,2\n', contentType: 'text/csv' }],
      });
      assert.deepEqual([...first.accepted].sort(), ['dev@example.com', 'ops@example.com']);
      assert.deepEqual(first.rejected, []);
      assert.match(first.response, /^250 OK stored as \d+/);
      assert.ok(first.bytes > 0 && first.messageId.includes('@'));
      await session.send({
        from: 'load@example.com',
        to: 'ops@example.com',
        subject: 'salvo run 2',
        text: 'second',
      });
      await session.close();
      const stored = sink.messages().slice(before);
      assert.equal(stored.length, 2);
      assert.match(stored[0] ?? '', /Subject: salvo run 1/);
      assert.match(stored[0] ?? '', /X-Salvo-Vu: 7/);
      assert.match(stored[0] ?? '', /filename=data\.csv/);
      assert.match(stored[0] ?? '', /first body/);
      assert.match(stored[1] ?? '', /Subject: salvo run 2/);
    } finally {
      client.close();
    }
  });

  test('STARTTLS (required, the test CA trusted) and AUTH; a wrong password is smtp_535', async () => {
    const client = new SmtpClient(env);
    try {
      const session = await client.connect(sink.url, {
        startTls: 'require',
        tls: { ca: TLS_CERT, servername: 'localhost' },
        auth: { user: 'salvo', pass: 'secret' },
      });
      assert.ok(session.timings.authMs > 0);
      const sent = await session.send({
        from: 'a@example.com',
        to: 'b@example.com',
        text: 'over tls',
      });
      assert.deepEqual(sent.accepted, ['b@example.com']);
      await session.close();
      const viaUrl = new URL(sink.url);
      viaUrl.username = 'salvo';
      viaUrl.password = 'wrong';
      assert.equal(await kindOf(client.connect(viaUrl.href, { startTls: 'never' })), 'smtp_535');
      // An untrusted certificate fails the upgrade as tls.
      assert.equal(await kindOf(client.connect(sink.url, { startTls: 'require' })), 'tls');
    } finally {
      client.close();
    }
  });

  test('refused recipients: some are listed, all is smtp_550; bad input is bad_request', async () => {
    const client = new SmtpClient(env);
    try {
      const session = await client.connect(sink.url, { startTls: 'never' });
      const partly = await session.send({
        from: 'a@example.com',
        to: ['ok@example.com', 'reject-me@example.com'],
        text: 'x',
      });
      assert.deepEqual(partly.accepted, ['ok@example.com']);
      assert.deepEqual(partly.rejected, ['reject-me@example.com']);
      assert.equal(
        await kindOf(session.send({ from: 'a@example.com', to: 'reject@example.com', text: 'x' })),
        'smtp_550',
      );
      assert.equal(
        await kindOf(session.send({ from: 'a@example.com', to: [], text: 'x' })),
        'bad_request',
      );
      await session.close();
      assert.equal(
        await kindOf(session.send({ from: 'a@example.com', to: 'b@example.com', text: 'x' })),
        'closed',
      );
    } finally {
      client.close();
    }
  });

  test('transport failures are named: connect_refused; a silent server is connect_timeout', async () => {
    const client = new SmtpClient({ timeoutMs: 500 });
    try {
      const port = await freePort();
      assert.equal(await kindOf(client.connect(`smtp://127.0.0.1:${port}`)), 'connect_refused');
      const net = await import('node:net');
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const silentPort = (silent.address() as import('node:net').AddressInfo).port;
      try {
        assert.equal(
          await kindOf(client.connect(`smtp://127.0.0.1:${silentPort}`)),
          'connect_timeout',
        );
      } finally {
        silent.close();
      }
      assert.equal(await kindOf(client.connect('http://127.0.0.1:25')), 'bad_request');
      client.close();
      assert.equal(await kindOf(client.connect(sink.url)), 'closed');
    } finally {
      client.close();
    }
  });

  test('smtp:// and smtps:// addresses: ports, TLS and credentials', () => {
    assert.deepEqual(parseSmtpUrl('smtp://mail.example.com'), {
      host: 'mail.example.com',
      port: 25,
      secure: false,
      auth: undefined,
    });
    assert.deepEqual(parseSmtpUrl('smtps://u%40x:p%3Aw@[::1]:2465'), {
      host: '::1',
      port: 2465,
      secure: true,
      auth: { user: 'u@x', pass: 'p:w' },
    });
  });
});

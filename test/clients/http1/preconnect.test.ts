// HttpClient.preconnect: opens one idle keep-alive connection that the next request reuses;
// a failure comes back to the callback with its kind and is never thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, HttpError } from '../../../src/clients/http1/index.js';

function preconnect(client: HttpClient, url: string): Promise<HttpError | null> {
  return new Promise((resolve) => client.preconnect(url, resolve));
}

test('preconnect opens a connection the next request reuses, and does not open a second', async () => {
  let connections = 0;
  const server = createServer((_req, res) => res.end('ok'));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const client = new HttpClient();
  try {
    assert.equal(await preconnect(client, url), null);
    assert.equal(await preconnect(client, url), null, 'an idle connection already exists');
    const res = await client.get(url);
    assert.equal(res.status, 200);
    assert.equal(res.timings.reused, true);
    assert.equal(client.stats.connectionsOpened, 1);
    assert.equal(connections, 1);
  } finally {
    client.close();
    server.closeAllConnections();
    server.close();
  }
});

test('a failed preconnect reports its kind to the callback', async () => {
  const client = new HttpClient();
  const error = await preconnect(client, 'http://127.0.0.1:9/');
  assert.ok(error instanceof HttpError);
  assert.equal(error.kind, 'connect_refused');
  const bad = await preconnect(client, 'not a url');
  assert.ok(bad instanceof HttpError);
  client.close();
});

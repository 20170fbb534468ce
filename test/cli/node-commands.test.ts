// The settings only the gate takes: each datacenter's managers and the access tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDcManagers, parseTokens } from '../../src/cli/node-commands.js';
import { OptionError } from '../../src/errors.js';

test('--dc-managers names each datacenter and its managers; a bad entry names the flag', () => {
  assert.deepEqual(parseDcManagers('dc1=10.0.0.1:7100,10.0.0.2:7100; dc2=h:1'), {
    dc1: [
      { host: '10.0.0.1', port: 7100 },
      { host: '10.0.0.2', port: 7100 },
    ],
    dc2: [{ host: 'h', port: 1 }],
  });
  for (const bad of ['', 'dc1', 'dc1=', 'dc1=h:1;dc1=h:2', 'dc1=h:99999']) {
    assert.throws(
      () => parseDcManagers(bad),
      (e: unknown) => {
        assert.ok(e instanceof OptionError, String(e));
        assert.match(e.message, /--dc-managers/);
        return true;
      },
    );
  }
});

test('--tokens maps each token to its client; a short token is refused', () => {
  const tokens = parseTokens('ci=0123456789abcdef0123,laptop=fedcba9876543210');
  assert.equal(tokens.get('0123456789abcdef0123'), 'ci');
  assert.equal(tokens.get('fedcba9876543210'), 'laptop');
  assert.equal(parseTokens(undefined).size, 0);
  assert.throws(() => parseTokens('ci=short'), /at least 16 characters/);
  assert.throws(() => parseTokens('=0123456789abcdef'), /--tokens/);
});

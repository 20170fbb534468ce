// The KV register answers an entry that is not a valid command with 'bad-command' and says
// what was wrong (the parse error is carried, not swallowed), counting it; valid commands apply.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvRegister, encodeKvCommand } from '../../src/nodes/consensus/kv-register.js';

const entry = (index: number, data: Uint8Array) =>
  ({ index, term: 1, kind: 'normal', data }) as const;

test('a command that is not JSON, or not a command, is answered with what was wrong', () => {
  const kv = new KvRegister();
  const garbage = kv.apply(entry(1, new TextEncoder().encode('{not json')));
  assert.equal(garbage.ok, false);
  assert.ok(!garbage.ok && garbage.error === 'bad-command');
  assert.match(!garbage.ok && 'detail' in garbage ? garbage.detail : '', /^not JSON: /);
  const shape = kv.apply(entry(2, new TextEncoder().encode('{"client":"c"}')));
  assert.ok(!shape.ok && 'detail' in shape && /want \{client, seq/.test(shape.detail));
  assert.equal(kv.badCommands, 2);
  const ok = kv.apply(
    entry(3, encodeKvCommand({ client: 'c', seq: 1, op: 'put', key: 'k', value: 'v' })),
  );
  assert.deepEqual(ok, { ok: true, value: 'v', duplicate: false, index: 3 });
});

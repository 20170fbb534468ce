// The authoring API is typed end to end without casts: step results flow to dependents,
// setup data and published context are typed, and misuse is a compile error. The type checks
// run when tsc builds this file (a regression fails the build); the runtime part checks that
// the definitions recorded what the types promise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workflow, constantVus, type HttpResponse } from '../../src/api/index.js';

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T): void {}
function assertType<A, B>(_proof: Equals<A, B>): void {}

const auth = workflow('auth')
  .step('login', ({ http }) => http.post('/login', { json: { user: 'u' } }))
  .publish('token', (results) => {
    assertType<typeof results.login, HttpResponse>(true);
    return results.login.json<{ token: string }>().token;
  })
  .publish('expires', () => 3600);

const shop = workflow('shop', { executor: constantVus({ vus: 1, duration: '1s' }) })
  .after(auth)
  .setup(async () => ({ sku: 'abc', price: 12.5 }))
  .step('count', () => 42)
  .step('page', async ({ http, data, context }) => {
    assertType<typeof data, { sku: string; price: number }>(true);
    assertType<typeof context.auth.token, string>(true);
    assertType<typeof context.auth.expires, number>(true);
    // @ts-expect-error — 'shop' does not run after a workflow named 'billing'
    void context.billing;
    return http.get(`/items/${data.sku}`);
  })
  .step('summary', { after: ['count', 'page'] }, ({ results }) => {
    assertType<typeof results.count, number>(true);
    assertType<typeof results.page, HttpResponse>(true);
    // @ts-expect-error — 'summary' did not declare 'nope' in `after`
    void results.nope;
    return { total: results.count + results.page.status, label: 'ok' as const };
  })
  .check('summary', 'label is ok', (r) => {
    assertType<typeof r, { total: number; label: 'ok' }>(true);
    return r.label === 'ok';
  })
  .check('page', 'status 200', (res) => res.status === 200);

const single = workflow('w').step('a', () => 1);
// @ts-expect-error — `after` may only name steps defined before
single.step('b', { after: ['zzz'] }, () => 2);
// @ts-expect-error — a check on an unknown step
single.check('b', 'x', () => true);
// @ts-expect-error — a check receives the step's result type (number has no length)
single.check('a', 'x', (n) => n.length > 0);

expectType<string>(shop.name);

test('definitions record steps, dependencies, checks and publishes as typed', () => {
  const def = shop.definition;
  assert.deepEqual(
    def.steps.map((s) => [s.name, s.after]),
    [
      ['count', []],
      ['page', []],
      ['summary', ['count', 'page']],
    ],
  );
  assert.deepEqual(
    def.checks.map((c) => `${c.step}:${c.name}`),
    ['summary:label is ok', 'page:status 200'],
  );
  assert.deepEqual(
    def.dependsOn.map((w) => w.name),
    ['auth'],
  );
  assert.deepEqual(
    auth.definition.publishes.map((p) => p.key),
    ['token', 'expires'],
  );
  assert.equal(typeof def.setup?.run, 'function');
});

// The quickstart workflow that `npm run demo` runs against the embedded target server.
// A setup workflow logs in once and publishes a token; the main workflow runs after it,
// with steps that run concurrently (home, catalog) and one that needs both (order).
import { workflow, constantVus, sharedIterations } from 'salvo';

// `salvo serve` listens here by default; `salvo run --target URL` overrides it for every workflow.
const baseUrl = 'http://127.0.0.1:8080';

const login = workflow('login', { baseUrl, executor: sharedIterations({ vus: 1, iterations: 1 }) })
  .step('sign-in', ({ http }) =>
    http.post('/echo', { json: { user: 'demo', token: 'demo-token-42' } }),
  )
  .check('sign-in', 'status is 200', (res) => res.status === 200)
  // Published values reach every workflow that runs `.after(login)`, typed.
  .publish(
    'token',
    (results) => JSON.parse(results['sign-in'].json<{ body: string }>().body).token as string,
  );

export default workflow('quickstart', {
  baseUrl,
  executor: constantVus({ vus: 20, duration: '10s' }),
  thresholds: {
    home: ['p99 < 250ms'],
    order: ['p95 < 500ms'],
    errors: ['rate < 1%'],
  },
})
  .after(login)
  .step('home', ({ http }) => http.get('/'))
  .check('home', 'status is 200', (res) => res.status === 200)
  .step('catalog', ({ http }) => http.get('/json'))
  .check('catalog', 'is JSON', (res) =>
    (res.headers['content-type'] ?? '').includes('application/json'),
  )
  .step('order', { after: ['home', 'catalog'] }, async ({ http, context, results, metrics }) => {
    metrics.counter('orders').add(1);
    metrics.trend('catalog_bytes').add(results.catalog.body.byteLength);
    return http.post('/echo', {
      headers: { authorization: `Bearer ${context.login.token}` },
      json: { item: 1, seenHome: results.home.status },
    });
  })
  .check(
    'order',
    'token was sent',
    (res) =>
      res.json<{ headers: Record<string, string> }>().headers['authorization'] ===
      'Bearer demo-token-42',
  );

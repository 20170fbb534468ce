// HTTP/2: streams multiplexed over sessions (h2c here; https:// URLs negotiate h2 by ALPN). With
// `http2: { connections: 1 }` the VUs of a worker thread share one session (like h2load's -c/-m);
// without it each VU opens its own. Run: salvo serve --peers, then salvo run examples/http2.ts
import { workflow, constantVus, env } from 'salvo';

const h2c = env.string('H2C_URL', 'http://127.0.0.1:8081');

export default workflow('http2', {
  executor: constantVus({ vus: 2, duration: '5s' }),
  http2: { connections: 1, maxStreams: 50 },
  thresholds: { burst: ['p95 < 5s'] },
})
  // Ten concurrent requests of each VU, one stream each, all on the thread's one session.
  .step('burst', async ({ http2 }) => {
    const all = await Promise.all(Array.from({ length: 10 }, () => http2.get(`${h2c}/json`)));
    return all[all.length - 1];
  })
  .check('burst', 'is h2c', (res) => res?.protocol === 'h2c');

// HTTP/2: streams multiplexed over one session per VU (h2c here; https:// URLs negotiate h2 by
// ALPN). Run: salvo serve --peers, then salvo run examples/http2.ts
import { workflow, constantVus, env } from 'salvo';

const h2c = env.string('H2C_URL', 'http://127.0.0.1:8081');

export default workflow('http2', {
  executor: constantVus({ vus: 2, duration: '5s' }),
  thresholds: { burst: ['p95 < 5s'] },
})
  // Ten concurrent requests share one connection: one stream each.
  .step('burst', async ({ http2 }) => {
    const all = await Promise.all(Array.from({ length: 10 }, () => http2.get(`${h2c}/json`)));
    return all[all.length - 1];
  })
  .check('burst', 'is h2c', (res) => res?.protocol === 'h2c');

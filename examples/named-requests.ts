// Request names and tags group statistics across URLs, and thresholds can name the group.
// Run against `salvo serve`.
import { workflow, constantVus } from 'salvo';

export default workflow('named-requests', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 2, duration: '5s' }),
  thresholds: {
    'http{name:GET /bytes/:n}': ['p99 < 5s', 'count > 0'],
    'http{name:GET /delay/:ms,tier:slow}': ['p95 < 5s'],
  },
}).step('items', async ({ http, vu }) => {
  // Three URLs, one statistics group.
  for (const n of [vu.id, vu.id + 10, vu.id + 20]) {
    await http.get(`/bytes/${n}`, { name: 'GET /bytes/:n' });
  }
  return http.get(`/delay/${vu.id}`, { name: 'GET /delay/:ms', tags: { tier: 'slow' } });
});

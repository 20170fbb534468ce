// A data set loaded once per thread and shared read-only: each VU gets its own user
// (unique), walks the items in order (sequential) and searches for a random user.
// Run from the repository root against `salvo serve`.
import { workflow, constantVus, dataset } from 'salvo';

const users = dataset<{ user: string; password: string }>('examples/data/users.csv');
const items = dataset<{ id: number; name: string }>('examples/data/items.json');

export default workflow('dataset', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 3, duration: '5s' }),
})
  .step('login', ({ http, vu }) => http.post('/upload', { form: users.unique(vu) }))
  .check(
    'login',
    'own user',
    (res) => res.json<{ fields: { user: string[] } }>().fields.user.length === 1,
  )
  .step('item', ({ http, vu }) => http.get(`/bytes/${items.sequential(vu).id}`))
  .step('search', ({ http }) => http.get(`/echo?q=${users.random().user}`));

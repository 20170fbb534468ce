// Cookie jar: each VU keeps the cookies its responses set (RFC 6265 scope) and sends them
// back; nothing to configure. Run against `salvo serve`.
import { workflow, constantVus } from 'salvo';

export default workflow('cookies', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 2, duration: '5s' }),
})
  .step('sign-in', ({ http, vu }) => http.get(`/cookies/set?session=vu-${vu.id}`))
  .step('profile', { after: ['sign-in'] }, ({ http }) => http.get('/cookies'))
  .check('profile', 'session cookie sent back', (res) =>
    String(res.json<{ session?: string }>().session).startsWith('vu-'),
  );

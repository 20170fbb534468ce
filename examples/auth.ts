// Basic and digest authentication (digest answers the server's 401 challenge).
// Run against `salvo serve` (user salvo, password secret).
import { workflow, constantVus, env } from 'salvo';

const auth = { username: 'salvo', password: env.string('PASSWORD', 'secret') };

export default workflow('auth', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 2, duration: '5s' }),
})
  .step('basic', ({ http }) => http.get('/auth/basic', { auth }))
  .step('digest', ({ http }) => http.get('/auth/digest', { auth: { ...auth, type: 'digest' } }));

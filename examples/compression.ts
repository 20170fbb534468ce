// gzip, deflate and brotli responses: text()/json() decode them; `body` keeps the wire bytes.
// Run against `salvo serve`.
import { workflow, constantVus } from 'salvo';

export default workflow('compression', {
  baseUrl: 'http://127.0.0.1:8080',
  headers: { 'accept-encoding': 'gzip, deflate, br' },
  executor: constantVus({ vus: 2, duration: '5s' }),
})
  .step('gzip', ({ http }) => http.get('/compressed/gzip'))
  .check('gzip', 'decoded', (res) => res.json<{ compressed: boolean }>().compressed)
  .step('brotli', ({ http }) => http.get('/compressed/br'))
  .check('brotli', 'decoded', (res) => res.json<{ compressed: boolean }>().compressed);

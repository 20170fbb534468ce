// HTTP/2 load for `npm run bench`: N virtual users, each with its own h2c session (prior
// knowledge), loop over one GET of the target's small file. The bench sets --vus, --duration
// and --target (an nghttpd serving /index.html).
import { workflow, constantVus } from 'salvo';

export default workflow('h2', {
  executor: constantVus({ vus: 100, duration: '10s', gracefulStop: '5s' }),
}).step('get', ({ http2 }) => http2.get('/index.html', { discardBody: true }));

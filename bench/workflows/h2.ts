// HTTP/2 load for `npm run bench`: N virtual users loop over one GET of the target's small
// file. With `-e H2_CONNECTIONS=C` the VUs share C h2c sessions (streams spread over them, as
// h2load's -c C -m N/C); without it each VU opens its own session (h2load's -c N -m 1). The
// bench sets --vus, --duration and --target (an nghttpd serving /index.html).
import { workflow, constantVus, env } from 'salvo';

const connections = env.number('H2_CONNECTIONS', 0);

export default workflow('h2', {
  executor: constantVus({ vus: 100, duration: '10s', gracefulStop: '5s' }),
  ...(connections > 0 ? { http2: { connections } } : {}),
}).step('get', ({ http2 }) => http2.get('/index.html', { discardBody: true }));

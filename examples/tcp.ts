// TCP: send bytes, read until a delimiter, then an exact length. `tls://host:port` speaks TLS.
// Run: salvo serve --peers, then salvo run examples/tcp.ts
import { workflow, constantVus, env } from 'salvo';

const tcpUrl = env.string('TCP_URL', 'tcp://127.0.0.1:8084');

export default workflow('tcp', { executor: constantVus({ vus: 2, duration: '5s' }) })
  .step('echo', async ({ tcp }) => {
    const conn = await tcp.connect(tcpUrl);
    const line = await conn.request('PING salvo\n', { until: '\n', timeoutMs: 5000 });
    await conn.send('0123456789');
    const fixed = await conn.read({ length: 10, timeoutMs: 5000 });
    await conn.close();
    return line.text() + ' ' + fixed.text();
  })
  .check('echo', 'line and length', (s) => s === 'PING salvo 0123456789');

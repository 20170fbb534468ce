// UDP: send a datagram, receive the echo with a timeout (kind timeout when it is lost).
// Run: salvo serve --peers, then salvo run examples/udp.ts
import { workflow, constantVus, env } from 'salvo';

const udpUrl = env.string('UDP_URL', 'udp://127.0.0.1:8085');

export default workflow('udp', { executor: constantVus({ vus: 2, duration: '5s' }) })
  .step('echo', async ({ udp, vu }) => {
    const sock = await udp.socket(udpUrl);
    const reply = await sock.request(`hello from ${vu.id}`, { timeoutMs: 5000 });
    sock.close();
    return reply.text();
  })
  .check('echo', 'echoed', (text) => text.startsWith('hello from'));

// WebSocket: connect, send, receive the echo with a timeout, close with a code.
// Run: salvo serve --peers, then salvo run examples/websocket.ts
import { workflow, constantVus, env } from 'salvo';

const wsUrl = env.string('WS_URL', 'ws://127.0.0.1:8082/');

export default workflow('websocket', { executor: constantVus({ vus: 2, duration: '5s' }) })
  .step('echo', async ({ ws, metrics }) => {
    const conn = await ws.connect(wsUrl);
    const reply = await conn.request(JSON.stringify({ hello: 'salvo' }), { timeoutMs: 5000 });
    metrics.trend('ws_round_trip_ms').add(reply.roundTripMs);
    const closed = await conn.close(1000, 'done');
    return { echoed: reply.json<{ hello: string }>().hello, code: closed.code };
  })
  .check('echo', 'echoed and closed cleanly', (r) => r.echoed === 'salvo' && r.code === 1000);

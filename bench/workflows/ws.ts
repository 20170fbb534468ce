// WebSocket load for `npm run bench`: N virtual users; each iteration connects, sends a message
// and awaits its echo MESSAGES times, then closes (the plain `ws` loop does the same). The
// bench sets --vus, --duration, and WS_URL with -e.
import { workflow, constantVus, env } from 'salvo';

const MESSAGES = 100;
const url = env.string('WS_URL');
const PAYLOAD = JSON.stringify({ hello: 'salvo' });

export default workflow('ws', {
  executor: constantVus({ vus: 100, duration: '10s', gracefulStop: '5s' }),
}).step('echo', async ({ ws }) => {
  const conn = await ws.connect(url);
  for (let i = 0; i < MESSAGES; i++) await conn.request(PAYLOAD, { timeoutMs: 10_000 });
  await conn.close(1000);
  return MESSAGES;
});

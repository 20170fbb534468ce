// Options from salvo.config.json beside this file (iterations, vus, env); flags still win.
// Run: salvo run examples/configured/workflow.ts
import { workflow, constantVus, env } from 'salvo';

const greeting = env.string('GREETING');

export default workflow('configured', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 1, duration: '30s' }),
}).step('greet', ({ http }) => http.post('/echo', { body: greeting }));

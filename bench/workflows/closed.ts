// Closed-model load for `npm run bench`: N virtual users, each with one keep-alive connection,
// loop over one GET /. The bench sets --vus, --duration and --target on the command line.
import { workflow, constantVus } from 'salvo';

export default workflow('closed', {
  executor: constantVus({ vus: 100, duration: '10s', gracefulStop: '5s' }),
}).step('home', ({ http }) => http.get('/'));

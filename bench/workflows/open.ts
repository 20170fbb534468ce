// Open-model load for `npm run bench`: a fixed arrival rate of GET / on a pool of VUs (one
// keep-alive connection each). The bench sets --rate, --vus, --duration and --target.
import { workflow, constantArrivalRate } from 'salvo';

export default workflow('open', {
  executor: constantArrivalRate({
    rate: 10000,
    duration: '10s',
    preAllocatedVus: 100,
    maxVus: 1000,
    gracefulStop: '5s',
  }),
}).step('home', ({ http }) => http.get('/'));

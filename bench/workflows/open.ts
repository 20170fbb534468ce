// Open-model load for `npm run bench`: a fixed arrival rate of GET / on a FIXED pool of VUs (one
// keep-alive connection each; the pool never grows, so every generator pause that leaves no VU
// free shows as dropped iterations). The bench sets --rate, --vus (= the pool), --duration and
// --target.
import { workflow, constantArrivalRate } from 'salvo';

export default workflow('open', {
  executor: constantArrivalRate({
    rate: 10000,
    duration: '10s',
    preAllocatedVus: 100,
    maxVus: 100,
    gracefulStop: '5s',
  }),
}).step('home', ({ http }) => http.get('/'));

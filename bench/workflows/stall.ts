// Coordinated-omission check for `npm run bench`: both open-model executors run at once against
// the stalling target (all responses held 1 s every 5 s). Latency counts from the scheduled
// start, so the held requests must show in p99. Enough VUs that a 1 s stall drops nothing.
import { workflow, constantArrivalRate, rampingArrivalRate } from 'salvo';

export const constant = workflow('constant-arrival', {
  executor: constantArrivalRate({
    rate: 500,
    duration: '12s',
    preAllocatedVus: 200,
    maxVus: 1500,
    gracefulStop: '5s',
  }),
}).step('home', ({ http }) => http.get('/'));

export const ramping = workflow('ramping-arrival', {
  executor: rampingArrivalRate({
    startRate: 100,
    stages: [
      { duration: '3s', target: 500 },
      { duration: '9s', target: 500 },
    ],
    preAllocatedVus: 200,
    maxVus: 1500,
    gracefulStop: '5s',
  }),
}).step('home', ({ http }) => http.get('/'));

// A steady open-model load for memory measurements: rate and duration come from the CLI.
import { workflow, constantArrivalRate } from 'salvo';

export default workflow('steady', {
  executor: constantArrivalRate({ rate: 2000, duration: '10s', preAllocatedVus: 50, maxVus: 200 }),
})
  .step('home', ({ http }) => http.get('/'))
  .step('json', { after: ['home'] }, ({ http }) => http.get('/json'))
  .check('json', 'status is 200', (res) => res.status === 200);

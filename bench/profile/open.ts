// Open-model profile load: one GET per iteration at a fixed rate (--rate overrides it).
import { workflow, constantArrivalRate } from 'salvo';

export default workflow('open', {
  executor: constantArrivalRate({
    rate: 10_000,
    duration: '10s',
    preAllocatedVus: 200,
    maxVus: 1000,
  }),
}).step('get', ({ http }) => http.get('/'));

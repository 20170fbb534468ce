// Closed-model profile load: one GET per iteration; --vus and --duration set the size.
import { workflow, constantVus } from 'salvo';

export default workflow('closed', { executor: constantVus({ vus: 100, duration: '8s' }) }).step(
  'get',
  ({ http }) => http.get('/'),
);

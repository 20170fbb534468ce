// Stop a run early when a threshold marked abortOnFail fails: here the error rate, checked on
// every statistics window once 2 s have passed. The results name the threshold (run.abortedBy)
// and the exit code is 3, as for any failed threshold. Run against `salvo serve`.
import { workflow, constantVus } from 'salvo';

export default workflow('abort-on-fail', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 2, duration: '30s' }),
  thresholds: {
    errors: [{ threshold: 'rate < 5%', abortOnFail: true, delayAbortEval: '2s' }],
    home: ['p99 < 1s'],
  },
}).step('home', ({ http }) => http.get('/'));

// The commented starter workflow written by `salvo new FILE`.

export function starterWorkflow(name: string): string {
  return `// A Salvo workflow. Run it with:  salvo run ${name}.ts
// Try it against the built-in target first:  salvo serve   (in another terminal)
import { workflow, constantVus } from 'salvo';

export default workflow('${name}', {
  // Relative URLs below resolve against this; \`salvo run --target URL\` overrides it.
  baseUrl: 'http://127.0.0.1:8080',
  // Closed model: 10 virtual users loop over the steps for 30 seconds.
  // Other executors: rampingVus, constantArrivalRate, rampingArrivalRate, sharedIterations.
  executor: constantVus({ vus: 10, duration: '30s' }),
  // Pass/fail criteria; a failed threshold makes \`salvo run\` exit with code 3.
  thresholds: {
    home: ['p99 < 250ms'],
    errors: ['rate < 1%'],
  },
})
  // A step is one measured action. Its result is typed and passed to steps that run after it.
  .step('home', ({ http }) => http.get('/'))
  // A check is a named assertion on a step's result; a failed check fails the step.
  .check('home', 'status is 200', (res) => res.status === 200)
  .step('echo', { after: ['home'] }, ({ http, results }) =>
    http.post('/echo', { json: { previousStatus: results.home.status } }),
  )
  .check('echo', 'echoed our body', (res) => res.json<{ body: string }>().body.includes('previousStatus'));
`;
}

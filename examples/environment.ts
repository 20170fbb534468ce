// Variables from `salvo run -e KEY=VALUE` or `--env-file .env`, read typed with `env`.
// Run: salvo run examples/environment.ts -e PAGE_SIZE=2 --env-file examples/data/example.env
import { workflow, sharedIterations, env } from 'salvo';

const baseUrl = env.string('BASE_URL', 'http://127.0.0.1:8080');
const pageSize = env.number('PAGE_SIZE', 3);
const verbose = env.bool('VERBOSE', false);

export default workflow('environment', {
  baseUrl,
  executor: sharedIterations({ vus: 1, iterations: 3 }),
}).step('page', ({ http }) =>
  http.get(`/bytes/${pageSize}`, verbose ? { headers: { 'x-verbose': '1' } } : undefined),
);

// GraphQL over HTTP/1.1 and HTTP/2: a query with variables and a mutation; GraphQL `errors`
// fail the step (kind graphql). Run: salvo serve --peers, then salvo run examples/graphql.ts
import { workflow, constantVus, env } from 'salvo';

const h2c = env.string('H2C_URL', 'http://127.0.0.1:8081');

export default workflow('graphql', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 2, duration: '5s' }),
})
  .step('query', ({ graphql }) =>
    graphql.query<{ item: { name: string } }>(
      'query Item($id: Int!) { item(id: $id) { id name price } }',
      { variables: { id: 1 } },
    ),
  )
  .check('query', 'alpha', (res) => res.data.item.name === 'alpha')
  .step('mutate-over-h2', ({ graphql, vu }) =>
    graphql.mutate<{ addItem: { id: number } }>(
      'mutation Add($name: String!, $price: Float!) { addItem(name: $name, price: $price) { id } }',
      { variables: { name: `vu-${vu.id}`, price: 1.5 }, url: `${h2c}/graphql`, http2: true },
    ),
  );

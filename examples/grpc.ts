// gRPC: a unary call and a server-streaming call described by examples/protos/shop.proto;
// a status other than OK fails the step with kind grpc_<status>.
// Run: salvo serve --peers, then salvo run examples/grpc.ts (from the repository root)
import { workflow, constantVus, env } from 'salvo';

const address = env.string('GRPC_ADDRESS', '127.0.0.1:8083');
const proto = 'examples/protos/shop.proto';

export default workflow('grpc', { executor: constantVus({ vus: 2, duration: '5s' }) })
  .step('get-item', async ({ grpc, vu }) => {
    const catalog = await grpc.connect({ proto, service: 'shop.Catalog', address });
    const res = await catalog.unary<{ id: number; name: string }>(
      'GetItem',
      { id: vu.id },
      { metadata: { 'x-request-id': `vu-${vu.id}` } },
    );
    return res.message;
  })
  .check('get-item', 'has a name', (item) => item.name.startsWith('item-'))
  .step('list-items', async ({ grpc }) => {
    const catalog = await grpc.connect({ proto, service: 'shop.Catalog', address });
    return (await catalog.serverStream('ListItems', { count: 20 })).messages.length;
  })
  .check('list-items', 'streamed 20', (n) => n === 20);

// Public surface of the gRPC client (@grpc/grpc-js + @grpc/proto-loader, loaded on first use).
export {
  GrpcClient,
  GrpcService,
  grpcKind,
  kindForGrpcStatus,
  MAX_CACHED_PROTOS,
  MAX_STREAM_MESSAGES,
  type GrpcConnectOptions,
  type GrpcCallOptions,
  type GrpcResult,
  type GrpcStreamResult,
} from './client.js';

// The `salvo` package entry: everything a workflow file imports. Small and typed end to end;
// internal modules are not exported from here.
export { workflow, isWorkflow, Workflow } from './workflow.js';
export type {
  Metrics,
  VuInfo,
  StepContext,
  SetupContext,
  TeardownContext,
  StepOptions,
  HookOptions,
  WorkflowOptions,
  ResultOf,
  ThresholdSpec,
  ThresholdOptions,
} from './workflow.js';
export {
  constantVus,
  rampingVus,
  sharedIterations,
  constantArrivalRate,
  rampingArrivalRate,
} from './executors.js';
export type { ExecutorConfig, StageInput } from './executors.js';
export type { Duration } from './duration.js';
export { HttpClient, HttpResponse, HttpError } from '../clients/http1/index.js';
export type {
  HttpErrorKind,
  HttpTimings,
  RequestOptions,
  HttpClientOptions,
} from '../clients/http1/index.js';
export type { ReporterConfig, ReporterKind, ReporterSpec } from '../reporters/config.js';
export type {
  Reporter,
  ReportStart,
  ReportWindow,
  WindowWorkflow,
  WindowStep,
  FinalReport,
  BreakdownGroup,
  Labels,
} from '../reporters/types.js';
export { ClientError } from '../clients/client.js';
export type { StepClients } from '../clients/registry.js';
export { Http2Client, Http2Response } from '../clients/http2/index.js';
export type { Http2ClientOptions, Http2RequestOptions } from '../clients/http2/index.js';
export { env } from './env.js';
export { dataset, Dataset } from './dataset.js';
export type { DatasetOptions } from './dataset.js';
export { WsClient, WsConnection, WsMessage } from '../clients/websocket/index.js';
export { GrpcClient, GrpcService } from '../clients/grpc/index.js';
export type { GrpcResult, GrpcStreamResult } from '../clients/grpc/index.js';
export { GraphqlClient, GraphqlResponse } from '../clients/graphql/index.js';
export {
  TcpClient,
  TcpConnection,
  UdpClient,
  UdpSocket,
  SocketReply,
} from '../clients/socket/index.js';
export { SmtpClient, SmtpSession, SmtpSent } from '../clients/smtp/index.js';
export type { SmtpMessage, SmtpAttachment, SmtpConnectOptions } from '../clients/smtp/index.js';
export { FtpClient, FtpSession, FtpTransfer, FtpDownload } from '../clients/ftp/index.js';
export type { FtpConnectOptions } from '../clients/ftp/index.js';
export { BrowserClient, BrowserPage, PageVisit } from '../clients/browser/index.js';
export type { WebVitals, GotoOptions, NewPageOptions } from '../clients/browser/index.js';
export type {
  FormFields,
  MultipartFields,
  FilePart,
  AuthOptions,
} from '../clients/request/bodies.js';
